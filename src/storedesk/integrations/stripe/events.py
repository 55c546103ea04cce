"""Stripe events (`event` objects, as webhooks and GET /v1/events deliver them) routed to our
services. The webhook receiver (signature check, raw event stored once per `evt_…`) hands
each stored event here, in a task; an event type not listed is acknowledged and left alone."""

from collections.abc import Callable, Mapping
from typing import Any

from storedesk.disputes.services import do_record_early_fraud_warning
from storedesk.integrations.stripe.mappers import early_fraud_warning_to_input


def _early_fraud_warning(stripe_object: Mapping[str, Any]) -> str:
    recorded = do_record_early_fraud_warning(early_fraud_warning_to_input(stripe_object))
    if recorded.created:
        return "recorded"
    return "updated" if recorded.changes else "unchanged"


ROUTES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "radar.early_fraud_warning.created": _early_fraud_warning,
    "radar.early_fraud_warning.updated": _early_fraud_warning,
}


def process_event(event: Mapping[str, Any]) -> str:
    """Apply one Stripe event; returns what happened ("ignored" for types we do not follow).
    Harmless to repeat: every route is idempotent on the object's id."""
    route = ROUTES.get(str(event.get("type") or ""))
    if route is None:
        return "ignored"
    return route((event.get("data") or {}).get("object") or {})
