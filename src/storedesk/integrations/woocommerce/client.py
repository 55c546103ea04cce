"""WooCommerce REST API v3 over HTTP (consumer key and secret as HTTP basic auth over HTTPS).

Errors as WooCommerce answers them (`{"code": "woocommerce_rest_…", "message": …,
"data": {"status": …}}`): 401/403 break the connection, 404/400 are refused with WooCommerce's
words, 429 waits for `Retry-After`, 5xx is retried with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import requests

TIMEOUT_SECONDS = 30
ATTEMPTS = 5
LONGEST_WAIT_SECONDS = 60
PAGE_SIZE = 100  # WooCommerce's maximum per_page


class WooCommerceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class WooCommerceAuthError(WooCommerceError):
    pass


class WooCommerceUnavailable(WooCommerceError):
    pass


@dataclass
class WooCommerceClient:
    site_url: str
    consumer_key: str
    consumer_secret: str
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self):
        self.base = self.site_url.rstrip("/") + "/wp-json/wc/v3"
        self.session = requests.Session()
        self.session.auth = (self.consumer_key, self.consumer_secret)

    def _get(self, path: str, params: dict) -> requests.Response:
        return self._request("GET", path, params=params)

    def _request(
        self, method: str, path: str, *, params=None, json=None, retry_server_errors=True
    ) -> requests.Response:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.session.request(
                    method, self.base + path, params=params, json=json, timeout=TIMEOUT_SECONDS
                )
            except requests.RequestException as error:
                if attempt == ATTEMPTS:
                    raise WooCommerceUnavailable(0, "network_error", str(error)) from None
                self.sleep(min(2**attempt, LONGEST_WAIT_SECONDS))
                continue
            if response.status_code < 300:  # noqa: PLR2004
                return response
            if response.status_code == 429 or response.status_code >= 500:  # noqa: PLR2004
                if attempt < ATTEMPTS and (retry_server_errors or response.status_code == 429):
                    self.sleep(_wait(response, attempt))
                    continue
                raise _error(response, WooCommerceUnavailable)
            raise _error(response)
        raise WooCommerceUnavailable(0, "retries_exhausted", path)

    def orders_modified_after(self, since: datetime | None) -> Iterator[dict]:
        """Every order modified after `since`, oldest change first, page by page."""
        page = 1
        while True:
            params = {"per_page": PAGE_SIZE, "page": page, "orderby": "modified", "order": "asc"}
            if since is not None:
                params["modified_after"] = since.strftime("%Y-%m-%dT%H:%M:%S")
                params["dates_are_gmt"] = "true"
            response = self._get("/orders", params)
            yield from response.json()
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page >= total_pages:
                return
            page += 1

    def coupon_by_code(self, code: str) -> dict | None:
        """GET /coupons?code=: the coupon with this code, if the store has it."""
        found = self._get("/coupons", {"code": code}).json()
        return found[0] if isinstance(found, list) and found else None

    def create_coupon(self, coupon: dict) -> dict:
        """POST /coupons (a 5xx is not retried blindly: the caller looks the code up first)."""
        return self._request("POST", "/coupons", json=coupon, retry_server_errors=False).json()

    def update_order(self, order_id: str, changes: dict) -> dict:
        """PUT /orders/{id} (setting a status again is harmless, so it is retried)."""
        return self._request("PUT", f"/orders/{order_id}", json=changes).json()


def _wait(response, attempt: int) -> float:
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        wait = float(2**attempt)
    return min(max(wait, 0.0), LONGEST_WAIT_SECONDS)


def _error(response, kind=None) -> WooCommerceError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    kind = kind or (WooCommerceAuthError if status in (401, 403) else WooCommerceError)
    return kind(status, str(body.get("code") or "http_error"), str(body.get("message") or ""))
