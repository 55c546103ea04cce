"""Every write of the experience app, one module per feature, re-exported here."""
