"""The Shopify Admin GraphQL API through the official `ShopifyAPI` package.

`shopify.Session` gives the versioned Admin API path and `shopify.GraphQL` the endpoint and the
access-token header of the session activated on this thread; `AdminClient.execute` posts the
query through them and deals with what Shopify answers:

- HTTP 429: wait `Retry-After` seconds (or a backoff), then ask again;
- GraphQL `THROTTLED` (the cost bucket is empty): wait until it refills enough for the query
  (`(requestedQueryCost - currentlyAvailable) / restoreRate` seconds), then ask again; after a
  success whose bucket is nearly empty, pause before the next call instead of being throttled;
- HTTP 5xx and network errors: backoff and ask again, `max_attempts` times in all;
- HTTP 401/403: `ShopifyAuthError` — the token was revoked or lacks a scope; the caller marks the
  connection broken, nothing is retried;
- other GraphQL `errors`: `ShopifyError` with Shopify's messages.

A call that gives up raises, so a caller paging through results keeps its cursor where it was:
a page is never skipped. The API's base URL can be set (`SHOPIFY_API_BASE_URL` or the
connection's `api_base_url`) so tests talk to a local server answering like Shopify.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import shopify
from django.conf import settings

from storedesk.integrations.connections.credentials import Credentials

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 60.0
LOW_BUDGET = 100  # points left in the bucket below which we pause before the next call


class ShopifyError(Exception):
    """Shopify refused or failed the request; `retryable` when asking later may succeed."""

    retryable = False


class ShopifyAuthError(ShopifyError):
    """401/403: the access token is revoked or lacks a scope."""


class ShopifyUnavailable(ShopifyError):
    """5xx, throttling or the network, still after every attempt."""

    retryable = True


class _GraphQL(shopify.GraphQL):
    """`shopify.GraphQL`'s endpoint and headers, with a timeout and the HTTP status and
    headers kept (the package's own `execute` prints error bodies and drops both)."""

    def post(self, query: str, variables: dict | None) -> tuple[int, dict[str, str], bytes]:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
        )
        data = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.endpoint, data, headers, method="POST")  # noqa: S310 - the shop's https API or a configured base URL
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers or {}), error.read()


def _backoff(attempt: int) -> float:
    return min(FIRST_BACKOFF * 2 ** (attempt - 1), LONGEST_BACKOFF)


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value not in (None, "") else None
    except ValueError:
        return None


class AdminClient:
    """One shop's Admin GraphQL API, as the stored connection's credentials allow."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.credentials = credentials
        self.version = credentials.config.get("api_version") or settings.SHOPIFY_API_VERSION
        self.base_url = (
            credentials.config.get("api_base_url") or settings.SHOPIFY_API_BASE_URL or ""
        ).rstrip("/")
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.waited = 0.0  # seconds spent waiting on Shopify's limits (for the figures)

    def _graphql(self) -> _GraphQL:
        session = shopify.Session(
            self.credentials.config["shop_domain"],
            self.version,
            self.credentials.secrets["access_token"],
        )
        shopify.ShopifyResource.activate_session(session)
        if self.base_url:  # a local server for tests: the same versioned path, another host
            shopify.ShopifyResource.site = session.version.api_path(self.base_url)
        try:
            graphql = _GraphQL()
            # The package hands out the thread's own header dict, which clear_session empties.
            graphql.headers = dict(graphql.headers)
            return graphql
        finally:
            shopify.ShopifyResource.clear_session()

    def _wait(self, seconds: float, why: str) -> None:
        logger.info("Shopify %s: waiting %.1f s", why, seconds)
        self.waited += seconds
        self.sleep(seconds)

    def execute(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        """The `data` of the answer; raises ShopifyError (see the module) otherwise."""
        graphql = self._graphql()
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                status, headers, body = graphql.post(query, variables)
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                last_problem = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
                self._wait(_backoff(attempt), "unreachable")
                continue
            if status in (401, 403):
                raise ShopifyAuthError(f"Shopify refused the access token (HTTP {status})")
            if status == 429:  # noqa: PLR2004
                last_problem = "HTTP 429"
                self._wait(_seconds(headers.get("Retry-After")) or _backoff(attempt), "429")
                continue
            if status >= 500:  # noqa: PLR2004
                last_problem = f"HTTP {status}"
                self._wait(_backoff(attempt), f"HTTP {status}")
                continue
            try:
                document = json.loads(body)
            except ValueError:
                raise ShopifyError(f"HTTP {status}: the answer is not JSON") from None
            if status != 200:  # noqa: PLR2004
                raise ShopifyError(f"HTTP {status}: {document.get('errors', '')}"[:500])
            throttle = ((document.get("extensions") or {}).get("cost") or {}).get(
                "throttleStatus"
            ) or {}
            errors = document.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                last_problem = "THROTTLED"
                self._wait(self._refill_time(document, throttle, attempt), "THROTTLED")
                continue
            if errors:
                raise ShopifyError("; ".join(str(e.get("message", e)) for e in errors)[:1000])
            self._pace(throttle)
            return document.get("data") or {}
        raise ShopifyUnavailable(
            f"Shopify still unavailable after {self.max_attempts} tries: {last_problem}"
        )

    def _refill_time(self, document: dict, throttle: dict, attempt: int) -> float:
        cost = ((document.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
        available = throttle.get("currentlyAvailable")
        rate = throttle.get("restoreRate")
        if cost is None or available is None or not rate:
            return _backoff(attempt)
        return max((float(cost) - float(available)) / float(rate), 0.5)

    def _pace(self, throttle: dict) -> None:
        """Pause before the next call when the bucket is nearly empty (cheaper than THROTTLED)."""
        available, rate = throttle.get("currentlyAvailable"), throttle.get("restoreRate")
        if available is not None and rate and float(available) < LOW_BUDGET:
            self._wait((LOW_BUDGET - float(available)) / float(rate), "cost budget")


def user_errors(payload: dict | None) -> str:
    """Shopify's `userErrors` of a mutation, as one message ('' when none)."""
    problems = (payload or {}).get("userErrors") or []
    return "; ".join(
        f"{'.'.join(problem.get('field') or []) or 'request'}: {problem.get('message')}"
        for problem in problems
    )
