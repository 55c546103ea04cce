"""PayPal backfill: the disputes PayPal holds for the account, paged, into the disputes app;
and the payments received, from PayPal's transaction search, as the orders' payments."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from paypalserversdk.exceptions.api_exception import ApiException

from storedesk.disputes.services import do_ingest_disputes
from storedesk.integrations.connections.credentials import credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import (
    DeliveryFailed,
    DeliveryParked,
    do_mark_broken,
    do_mark_synced,
    do_save_sync_state,
)
from storedesk.integrations.paypal import mappers
from storedesk.integrations.paypal.client import PayPalAuthError, PayPalClient, PayPalError
from storedesk.integrations.paypal.refunds import sdk_client

ACTOR = "paypal-backfill"


def base_url_for(config) -> str:
    """The connection's own API base URL, else PAYPAL_API_BASE_URL, else its environment's
    (live unless the connection says sandbox)."""
    return (
        config.get("api_base_url")
        or settings.PAYPAL_API_BASE_URL
        or (
            settings.PAYPAL_SANDBOX_URL
            if config.get("environment") == "sandbox"
            else settings.PAYPAL_LIVE_URL
        )
    )


def client_for(connection: Connection, **kwargs) -> PayPalClient:
    credentials = credentials_of(connection)
    base = base_url_for(credentials.config)
    return PayPalClient(
        base,
        credentials.config["client_id"],
        credentials.secrets["client_secret"],
        **kwargs,
    )


@dataclass
class DisputeBackfill:
    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def do_backfill_disputes(
    connection: Connection,
    *,
    updated_after: datetime | None = None,
    client: PayPalClient | None = None,
) -> DisputeBackfill:
    """List every dispute (PayPal keeps 180 days), fetch each one's details (the list is a
    summary without the disputed transaction) and ingest them; known ones are updated.

    A revoked client secret (401) marks the connection broken: the team is told and nothing is
    retried until it is connected again."""
    client = client or client_for(connection)
    result = DisputeBackfill()
    batch = []
    try:
        for summary in client.list_disputes(updated_after=updated_after):
            result.listed += 1
            detail = client.get_dispute(summary["dispute_id"])
            try:
                batch.append(mappers.dispute_in(detail))
            except mappers.MappingError as error:
                result.refused.append(f"{summary.get('dispute_id')}: {error}")
    except PayPalAuthError as error:
        do_mark_broken(connection, f"PayPal refused the credentials: {error}", actor=ACTOR)
        raise
    ingested = do_ingest_disputes(batch, actor=ACTOR)
    result.created, result.updated = ingested.created, ingested.updated
    result.unchanged, result.unmatched = ingested.unchanged, ingested.unmatched
    result.refused.extend(f"{provider_id}: {code}" for provider_id, code in ingested.rejected)
    do_mark_synced(connection)
    return result


# --- captured payments ---------------------------------------------------------------------------

# PayPal searches at most 31 days at once and lists up to 500 transactions a page.
SEARCH_WINDOW = timedelta(days=31)
SEARCH_PAGE_SIZE = 500
SEARCH_YEARS = 3  # how far back PayPal's transaction search reaches
# Transaction search status codes -> the capture status the desk's mapper reads.
SEARCH_STATUSES = {"S": "COMPLETED", "V": "COMPLETED", "P": "PENDING", "D": "DECLINED"}


@dataclass
class CaptureBackfill:
    listed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)  # captures of orders not stored yet
    refused: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def search_client_for(connection: Connection):
    """The official `paypal-server-sdk` client (its TransactionSearchController)."""
    credentials = credentials_of(connection)
    return sdk_client(
        credentials.config["client_id"],
        credentials.secrets["client_secret"],
        base_url_for(credentials.config),
        credentials.config.get("environment") or "production",
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def capture_of(info: dict) -> dict | None:
    """A transaction search `transaction_info` as a payments_v2 capture, or None when it is
    not a payment received (T00xx event codes with a positive amount)."""
    if not str(info.get("transaction_event_code") or "").startswith("T00"):
        return None
    amount = info.get("transaction_amount") or {}
    try:
        if Decimal(str(amount.get("value") or "0")) <= 0:
            return None
    except ArithmeticError:
        return None
    return {
        "id": info.get("transaction_id"),
        "status": SEARCH_STATUSES.get(str(info.get("transaction_status") or ""), "PENDING"),
        "amount": amount,
        "create_time": info.get("transaction_initiation_date"),
        "update_time": info.get("transaction_updated_date"),
        "invoice_id": info.get("invoice_id"),
        "custom_id": info.get("custom_field"),
    }


def do_backfill_captures(
    connection: Connection,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    client=None,
) -> CaptureBackfill:
    """The account's payments received, from PayPal's transaction search (31-day windows,
    every page), each applied as its PAYMENT.CAPTURE.COMPLETED webhook would be: a capture of
    a known order becomes its payment, one for an order not stored yet is reported.

    Resumable: the window and page to do next are saved in `sync_state` after every page
    (`paypal_captures_from`, `paypal_captures_page`); a rerun continues there. A revoked
    secret (401) marks the connection broken."""
    from storedesk.integrations.paypal.appliers import apply_capture

    now = now or timezone.now()
    client = client or search_client_for(connection)
    state = connection.sync_state
    start = (
        parse_datetime(str(state.get("paypal_captures_from") or ""))
        or since
        or now - timedelta(days=365 * SEARCH_YEARS - 1)
    )
    page = int(state.get("paypal_captures_page") or 1)
    result = CaptureBackfill()
    while start < now:
        end = min(start + SEARCH_WINDOW, now)
        while True:
            found = _search(connection, client, start, end, page)
            for detail in found.get("transaction_details") or []:
                capture = capture_of(detail.get("transaction_info") or {})
                if capture is None:
                    continue
                result.listed += 1
                try:
                    result.count(apply_capture(connection, "PAYMENT.CAPTURE.COMPLETED", capture))
                except DeliveryParked as why:
                    result.waiting.append(f"{capture['id']}: {why}")
                    result.count("waiting")
                except DeliveryFailed as why:
                    result.refused.append(f"{capture['id']}: {why}")
                    result.count("refused")
            last = page >= int(found.get("total_pages") or 1)
            page = 1 if last else page + 1
            next_start = end if last else start
            do_save_sync_state(
                connection,
                paypal_captures_from=next_start.isoformat(),
                paypal_captures_page=page,
            )
            if last:
                break
        start = end
    do_save_sync_state(connection, paypal_captures_from=None, paypal_captures_page=None)
    do_mark_synced(connection)
    return result


def _search(connection: Connection, client, start: datetime, end: datetime, page: int) -> dict:
    try:
        response = client.transaction_search.search_transactions(
            {
                "start_date": _stamp(start),
                "end_date": _stamp(end),
                "fields": "transaction_info",
                "page_size": SEARCH_PAGE_SIZE,
                "page": page,
            }
        )
    except ApiException as error:
        if error.response_code == 401:  # noqa: PLR2004
            do_mark_broken(connection, f"PayPal refused the credentials: {error}", actor=ACTOR)
        raise PayPalError(
            error.response_code or 0, "TRANSACTION_SEARCH_FAILED", str(error)
        ) from error
    return json.loads(response.text or "{}")
