"""Delivery tracking webhooks of email providers, through django-anymail: a campaign message's
delivered, bounced, complained or unsubscribed event reaches its recipient row.

Anymail checks the provider's proof (basic auth with ANYMAIL["WEBHOOK_SECRET"], plus Mailgun's
HMAC signature) and normalises the event; a provider is closed (404) until its secrets are set.
An event for a message that is not a campaign's is acknowledged and ignored.
"""

from __future__ import annotations

import logging

from anymail.signals import tracking
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.urls import path

from storedesk.experience.services import do_record_delivery
from storedesk.integrations.mail.inbound import _secured

logger = logging.getLogger(__name__)

PROVIDERS = {
    "mailgun": (MailgunTrackingWebhookView, ("WEBHOOK_SECRET", "MAILGUN_WEBHOOK_SIGNING_KEY")),
    "postmark": (PostmarkTrackingWebhookView, ("WEBHOOK_SECRET",)),
    "sendgrid": (SendGridTrackingWebhookView, ("WEBHOOK_SECRET",)),
}


def receive_tracking(sender, event, esp_name, **kwargs) -> None:
    """anymail's tracking signal → the campaign recipient's delivery (by its message id)."""
    message_id = (event.message_id or "").strip()
    if not message_id:
        return
    candidates = [message_id] if message_id.startswith("<") else [f"<{message_id}>", message_id]
    for candidate in candidates:
        if do_record_delivery(candidate, event.event_type, at=event.timestamp):
            return
    logger.debug("Tracking event %s from %s names no campaign message", event.event_id, esp_name)


tracking.connect(receive_tracking, dispatch_uid="storedesk-mail-tracking", weak=False)

app_name = "mail_tracking"
urlpatterns = [
    path(
        f"{provider}/tracking/",
        _secured(provider, view.as_view(), required),
        name=provider,
    )
    for provider, (view, required) in PROVIDERS.items()
]
