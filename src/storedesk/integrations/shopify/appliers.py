"""How Shopify's webhook deliveries are applied (filled in by the webhook topics)."""
