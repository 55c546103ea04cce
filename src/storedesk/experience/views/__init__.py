"""Thin views of the experience app, one module per feature."""
