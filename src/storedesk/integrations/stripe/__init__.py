"""Stripe: charges, disputes and (later) the webhook receiver and client."""
