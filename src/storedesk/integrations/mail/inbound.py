"""Inbound mail webhooks of email providers, through django-anymail.

Anymail checks each provider's own proof (HTTP basic auth with ANYMAIL["WEBHOOK_SECRET"] for
all of them, plus Mailgun's HMAC signature with MAILGUN_WEBHOOK_SIGNING_KEY) and turns the
post into a normalised message; a forged post is refused with 400 before any of our code
runs. A provider is only reachable once its secrets are set (404 before that), since anymail
would otherwise accept unsigned posts with a warning.

Postmark's JSON is read by our own view first (see `postmark`): anymail's raised a 500 on a
malformed body. The receiver hands the message's MIME to `do_ingest_email`, which stores it
or quarantines it and never raises, so the provider gets its 200 only when the mail is safely
ours, and a retry of the same post is a duplicate stored once.
"""

from __future__ import annotations

import logging
from functools import wraps

from anymail.signals import inbound
from anymail.webhooks.brevo import BrevoInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.mailjet import MailjetInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from anymail.webhooks.sparkpost import SparkPostInboundWebhookView
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _

from storedesk.desk.mail_in import do_ingest_email
from storedesk.integrations.mail.anymail_messages import mailbox_for, raw_bytes
from storedesk.integrations.mail.postmark import PostmarkInboundView

logger = logging.getLogger(__name__)

# provider → (its anymail view, the settings it cannot run without)
PROVIDERS = {
    "mailgun": (MailgunInboundWebhookView, ("WEBHOOK_SECRET", "MAILGUN_WEBHOOK_SIGNING_KEY")),
    "postmark": (PostmarkInboundView, ("WEBHOOK_SECRET",)),
    "sendgrid": (SendGridInboundWebhookView, ("WEBHOOK_SECRET",)),
    "mailjet": (MailjetInboundWebhookView, ("WEBHOOK_SECRET",)),
    "brevo": (BrevoInboundWebhookView, ("WEBHOOK_SECRET",)),
    "sparkpost": (SparkPostInboundWebhookView, ("WEBHOOK_SECRET",)),
}


def _not_configured(provider: str) -> JsonResponse:
    return JsonResponse(
        {
            "code": "not_configured",
            "message": _("Inbound mail from %(provider)s is not set up.") % {"provider": provider},
        },
        status=404,
    )


def _secured(provider: str, view, required: tuple[str, ...]):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        configured = settings.ANYMAIL
        if not all(configured.get(name) for name in required):
            return _not_configured(provider)
        try:
            return view(request, *args, **kwargs)
        except ImproperlyConfigured:
            logger.exception("Inbound webhook for %s is misconfigured", provider)
            return _not_configured(provider)

    return guarded


def receive_inbound(sender, event, esp_name, **kwargs) -> None:
    """anymail's inbound signal → one ingested mail."""
    message = event.message
    source = f"webhook:{esp_name}:{event.event_id or ''}"
    result = do_ingest_email(raw_bytes(message), mailbox=mailbox_for(message), source=source)
    logger.info("Inbound mail from %s: %s", esp_name, result.outcome)


inbound.connect(receive_inbound, dispatch_uid="storedesk-inbound-mail", weak=False)

app_name = "inbound_mail"
urlpatterns = [
    re_path(
        r"^mailgun/inbound(_mime)?/$",
        _secured("mailgun", MailgunInboundWebhookView.as_view(), PROVIDERS["mailgun"][1]),
        name="mailgun",
    ),
    *(
        path(
            f"{provider}/inbound/",
            _secured(provider, view.as_view(), required),
            name=provider,
        )
        for provider, (view, required) in PROVIDERS.items()
        if provider != "mailgun"
    ),
]
