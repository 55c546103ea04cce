"""WooCommerce backfill and reconcile: orders modified since the last sync, page by page, each
stored or updated through `do_upsert_order`; progress saved so a crash resumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from storedesk.integrations.connections.credentials import credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import (
    do_mark_broken,
    do_mark_synced,
    do_save_sync_state,
)
from storedesk.integrations.woocommerce import mappers
from storedesk.integrations.woocommerce.appliers import apply_order
from storedesk.integrations.woocommerce.client import WooCommerceAuthError, WooCommerceClient

ACTOR = "woocommerce-sync"


def client_for(connection: Connection, **kwargs) -> WooCommerceClient:
    credentials = credentials_of(connection)
    site = credentials.config.get("api_base_url") or credentials.config["site_url"]
    return WooCommerceClient(
        site,
        credentials.secrets["consumer_key"],
        credentials.secrets["consumer_secret"],
        **kwargs,
    )


@dataclass
class SyncResult:
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0


def do_sync_orders(
    connection: Connection,
    *,
    since: datetime | None = None,
    client: WooCommerceClient | None = None,
) -> SyncResult:
    """Orders modified after `since` (default: where the last sync stopped)."""
    client = client or client_for(connection)
    if since is None:
        since = parse_datetime(connection.sync_state.get("modified_after") or "")
    started = timezone.now()
    result = SyncResult()
    try:
        for order in client.orders_modified_after(since):
            result.seen += 1
            try:
                outcome = apply_order(connection, order, actor=ACTOR)
            except Exception:  # noqa: BLE001 - one bad order never stops the others
                result.refused += 1
                continue
            if outcome in ("created", "updated"):
                setattr(result, outcome, getattr(result, outcome) + 1)
            else:
                result.unchanged += 1
            modified = mappers.gmt(order.get("date_modified_gmt"))
            if modified is not None:
                do_save_sync_state(connection, modified_after=modified.isoformat())
    except WooCommerceAuthError as error:
        do_mark_broken(connection, f"WooCommerce refused the keys: {error}", actor=ACTOR)
        raise
    do_mark_synced(connection, started)
    return result
