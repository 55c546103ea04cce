"""Shopify's tasks."""
