"""PayPal's REST API over plain HTTP, per PayPal's published OpenAPI specifications.

The official `paypal-server-sdk` covers Orders, Payments, Vault and Transaction Search, not the
Disputes (customer_disputes_v1) nor the webhook-verification (notifications_webhooks_v1)
endpoints this desk needs, so those are called here with `requests`. Errors follow PayPal's
`error` object (`name`, `message`, `debug_id`, `details[]`): 401 breaks the connection, 404 and
422 are refused with PayPal's words, 429 waits for `Retry-After`, 5xx is retried with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import requests

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20
ATTEMPTS = 5
LONGEST_WAIT_SECONDS = 60
DISPUTES_PAGE_SIZE = 50  # PayPal's maximum


class PayPalError(Exception):
    """PayPal refused the request; `status`, `name` and `details` are PayPal's own."""

    def __init__(self, status: int, name: str, message: str, details=None, debug_id: str = ""):
        super().__init__(f"{status} {name}: {message}")
        self.status, self.name, self.details, self.debug_id = status, name, details or [], debug_id


class PayPalAuthError(PayPalError):
    """401: the client id/secret (or the token) is not valid any more."""


class PayPalNotFound(PayPalError):
    pass


class PayPalUnavailable(PayPalError):
    """429/5xx that did not clear after every retry."""


@dataclass
class PayPalClient:
    base_url: str
    client_id: str
    client_secret: str
    sleep: Callable[[float], None] = time.sleep
    _token: str = ""
    _token_expires: float = 0.0

    def __post_init__(self):
        self.base_url = self.base_url.rstrip("/")
        self.session = requests.Session()

    # --- plumbing ---------------------------------------------------------------------------

    def _access_token(self) -> str:
        if self._token and self._token_expires > time.monotonic():
            return self._token
        answer = self._send(
            "POST",
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
            authorised=False,
        )
        self._token = answer["access_token"]
        self._token_expires = time.monotonic() + max(int(answer.get("expires_in", 0)) - 60, 0)
        return self._token

    def request(self, method: str, path: str, **kwargs) -> dict:
        return self._send(method, path, **kwargs)

    def _send(self, method: str, path: str, *, authorised: bool = True, **kwargs) -> dict:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        for attempt in range(1, ATTEMPTS + 1):
            headers = {"Accept": "application/json"}
            if authorised:
                headers["Authorization"] = f"Bearer {self._access_token()}"
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=TIMEOUT_SECONDS, **kwargs
                )
            except requests.RequestException as error:
                if attempt == ATTEMPTS:
                    raise PayPalUnavailable(0, "NETWORK_ERROR", str(error)) from None
                self.sleep(min(2**attempt, LONGEST_WAIT_SECONDS))
                continue
            if response.status_code < 300:  # noqa: PLR2004
                return response.json() if response.content else {}
            if response.status_code == 401 and authorised and self._token:  # noqa: PLR2004
                self._token = ""  # an expired token: fetch a new one once
                if attempt < ATTEMPTS:
                    continue
            if response.status_code == 429 or response.status_code >= 500:  # noqa: PLR2004
                if attempt < ATTEMPTS:
                    self.sleep(self._wait(response, attempt))
                    continue
                raise self._error(response, PayPalUnavailable)
            raise self._error(response)
        raise PayPalUnavailable(0, "RETRIES_EXHAUSTED", url)

    @staticmethod
    def _wait(response, attempt: int) -> float:
        try:
            wait = float(response.headers.get("Retry-After", ""))
        except ValueError:
            wait = float(2**attempt)
        return min(max(wait, 0.0), LONGEST_WAIT_SECONDS)

    @staticmethod
    def _error(response, kind=None) -> PayPalError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        status = response.status_code
        kind = kind or {401: PayPalAuthError, 403: PayPalAuthError, 404: PayPalNotFound}.get(
            status, PayPalError
        )
        return kind(
            status,
            str(body.get("name") or body.get("error") or "HTTP_ERROR"),
            str(body.get("message") or body.get("error_description") or response.reason),
            body.get("details"),
            str(body.get("debug_id") or ""),
        )

    # --- endpoints --------------------------------------------------------------------------

    def verify_webhook_signature(self, *, transmission, webhook_id: str, event: dict) -> bool:
        """POST /v1/notifications/verify-webhook-signature: PayPal's own verdict."""
        answer = self._send(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            json={
                "auth_algo": transmission.auth_algo,
                "cert_url": transmission.cert_url,
                "transmission_id": transmission.transmission_id,
                "transmission_sig": transmission.signature,
                "transmission_time": transmission.transmission_time,
                "webhook_id": webhook_id,
                "webhook_event": event,
            },
        )
        return answer.get("verification_status") == "SUCCESS"

    def list_disputes(self, *, updated_after: datetime | None = None) -> Iterator[dict]:
        """GET /v1/customer/disputes, every page (the `next` HATEOAS link's token)."""
        params: dict[str, str | int] = {"page_size": DISPUTES_PAGE_SIZE}
        if updated_after is not None:
            params["update_time_after"] = updated_after.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        while True:
            page = self._send("GET", "/v1/customer/disputes", params=params)
            yield from page.get("items") or []
            following = next(
                (link for link in page.get("links") or [] if link.get("rel") == "next"), None
            )
            if following is None:
                return
            query = parse_qs(urlsplit(following["href"]).query)
            token = (query.get("next_page_token") or [""])[0]
            if not token or token == params.get("next_page_token"):
                return
            params = {**params, "next_page_token": token}

    def get_dispute(self, dispute_id: str) -> dict:
        return self._send("GET", f"/v1/customer/disputes/{dispute_id}")
