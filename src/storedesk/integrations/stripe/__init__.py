"""Stripe: the signed webhook receiver, its stored events, and the mappers to our services."""
