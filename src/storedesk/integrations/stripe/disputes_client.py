"""Responding to Stripe disputes through the official `stripe` SDK: evidence files uploaded
with purpose `dispute_evidence`, evidence submitted with `disputes.update(submit=True)`, a
loss accepted with `disputes.close`. STRIPE_API_BASE / STRIPE_FILES_API_BASE point the SDK at
another server (tests run a local one shaped like Stripe's)."""

import io

import stripe
from django.conf import settings

from storedesk.disputes.errors import GatewayRefused, GatewayUnavailable


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise GatewayUnavailable(
            "Stripe is not configured (STRIPE_SECRET_KEY is empty)", "not_configured"
        )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE, "files": settings.STRIPE_FILES_API_BASE},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.GATEWAY_TIMEOUT_SECONDS),
    )


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except stripe.InvalidRequestError as error:
        raise GatewayRefused(
            _message(error), getattr(error, "code", None) or "invalid_request"
        ) from error
    except stripe.StripeError as error:
        if isinstance(error, stripe.APIConnectionError) or (error.http_status or 500) >= 500:
            raise GatewayUnavailable(_message(error), "unavailable") from error
        raise GatewayRefused(_message(error), getattr(error, "code", None) or "refused") from error


def _message(error: stripe.StripeError) -> str:
    return str(getattr(error, "user_message", None) or error._message or error)


def upload_evidence_file(content: bytes, filename: str, *, idempotency_key: str) -> str:
    """Upload one file for dispute evidence; returns its `file_…` id."""
    handle = io.BytesIO(content)
    handle.name = filename
    file = _call(
        _client().v1.files.create,
        params={"purpose": "dispute_evidence", "file": handle},
        options={"idempotency_key": idempotency_key},
    )
    return file["id"]


def submit_evidence(dispute_id: str, evidence: dict, *, idempotency_key: str) -> dict:
    """Send the evidence and submit it (Stripe accepts one submission)."""
    dispute = _call(
        _client().v1.disputes.update,
        dispute_id,
        params={"evidence": evidence, "submit": True},
        options={"idempotency_key": idempotency_key},
    )
    return dispute.to_dict() if hasattr(dispute, "to_dict") else dict(dispute)


def close_dispute(dispute_id: str, *, idempotency_key: str) -> dict:
    """Accept the dispute as lost."""
    dispute = _call(
        _client().v1.disputes.close, dispute_id, options={"idempotency_key": idempotency_key}
    )
    return dispute.to_dict() if hasattr(dispute, "to_dict") else dict(dispute)
