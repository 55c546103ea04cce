# The Stripe webhook tests' signed delivery, reused for the account events.
from tests.integrations.test_stripe_webhooks import deliver, webhook_secret  # noqa: F401
