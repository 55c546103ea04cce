"""Responding to PayPal disputes through the Customer Disputes API v1 (customer_disputes_v1):
provide-evidence (multipart: the `input` JSON and the pack PDF as `evidence-file`),
accept-claim, make-offer and escalate, each with a bearer token from /v1/oauth2/token.

The PayPal server SDK has no disputes controller, so this is plain HTTPS with the standard
library; PAYPAL_API_BASE_URL points it at the sandbox, live, or a local server in tests.
"""

import base64
import json
import urllib.error
import urllib.request
import uuid

from django.conf import settings

from storedesk.disputes.errors import GatewayRefused, GatewayUnavailable

_opener = urllib.request.build_opener()


def _base() -> str:
    """PAYPAL_API_BASE_URL when set (a local server in tests), else PAYPAL_ENVIRONMENT's URL."""
    configured = settings.PAYPAL_API_BASE_URL or (
        settings.PAYPAL_LIVE_URL
        if settings.PAYPAL_ENVIRONMENT == "production"
        else settings.PAYPAL_SANDBOX_URL
    )
    return configured.rstrip("/")


def _request(method: str, path: str, *, body: bytes, headers: dict) -> dict:
    url = _base() + path
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - base from settings
    try:
        with _opener.open(request, timeout=settings.GATEWAY_TIMEOUT_SECONDS) as response:
            text = response.read().decode("utf-8") or "{}"
            return json.loads(text)
    except urllib.error.HTTPError as error:
        raise _error_of(error) from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise GatewayUnavailable(f"PayPal could not be reached: {error}", "unavailable") from error
    except ValueError as error:
        raise GatewayUnavailable(
            "PayPal answered with something that is not JSON", "bad_answer"
        ) from error


def _error_of(error: urllib.error.HTTPError) -> Exception:
    """PayPal's error body: {name, message, debug_id, details: [{issue, description}]}."""
    try:
        payload = json.loads(error.read().decode("utf-8") or "{}")
    except ValueError:
        payload = {}
    details = payload.get("details") or [{}]
    issue = details[0].get("issue") or payload.get("name") or f"HTTP_{error.code}"
    message = details[0].get("description") or payload.get("message") or error.reason
    if error.code >= 500:
        return GatewayUnavailable(f"PayPal failed: {message}", "unavailable")
    return GatewayRefused(f"PayPal refused: {message} ({issue})", str(issue))


def access_token() -> str:
    if not settings.PAYPAL_CLIENT_ID or not settings.PAYPAL_CLIENT_SECRET:
        raise GatewayUnavailable(
            "PayPal is not configured (PAYPAL_CLIENT_ID/SECRET)", "not_configured"
        )
    basic = base64.b64encode(
        f"{settings.PAYPAL_CLIENT_ID}:{settings.PAYPAL_CLIENT_SECRET}".encode()
    ).decode()
    answer = _request(
        "POST",
        "/v1/oauth2/token",
        body=b"grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    token = answer.get("access_token")
    if not token:
        raise GatewayUnavailable("PayPal gave no access token", "no_token")
    return token


def _json_call(path: str, payload: dict, idempotency_key: str) -> dict:
    return _request(
        "POST",
        path,
        body=json.dumps(payload).encode(),
        headers={
            "Authorization": f"Bearer {access_token()}",
            "Content-Type": "application/json",
            "PayPal-Request-Id": idempotency_key,
        },
    )


def provide_evidence(
    dispute_id: str, evidence: dict, pdf: bytes, filename: str, *, idempotency_key: str
) -> dict:
    boundary = uuid.uuid4().hex
    parts = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="input"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + json.dumps(evidence).encode()
        + b"\r\n",
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="evidence-file"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + pdf
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return _request(
        "POST",
        f"/v1/customer/disputes/{dispute_id}/provide-evidence",
        body=b"".join(parts),
        headers={
            "Authorization": f"Bearer {access_token()}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "PayPal-Request-Id": idempotency_key,
        },
    )


def accept_claim(dispute_id: str, note: str, *, idempotency_key: str) -> dict:
    return _json_call(
        f"/v1/customer/disputes/{dispute_id}/accept-claim",
        {"note": note, "accept_claim_type": "REFUND"},
        idempotency_key,
    )


def make_offer(
    dispute_id: str, note: str, amount: dict, offer_type: str, *, idempotency_key: str
) -> dict:
    return _json_call(
        f"/v1/customer/disputes/{dispute_id}/make-offer",
        {"note": note, "offer_amount": amount, "offer_type": offer_type},
        idempotency_key,
    )


def escalate(dispute_id: str, note: str, *, idempotency_key: str) -> dict:
    return _json_call(
        f"/v1/customer/disputes/{dispute_id}/escalate", {"note": note}, idempotency_key
    )
