"""Getting a shop's orders without webhooks: the backfill (a bulk operation) and the reconcile.

Backfill (`storedesk sync shopify`): `bulkOperationRunQuery` over the orders (updated since a
date, or all) with transactions, fulfilments, refunds, customers and line items; poll it until
Shopify has written the result; stream the JSONL file line by line (never held whole), put each
order back together with its line-item rows (`__parentId`), and ingest batches through the bulk
commerce services. After every batch the number of lines done is saved on the connection, so a
crash resumes at the next batch (the result URL stays valid for a week) and a batch stored twice
changes nothing.

Reconcile (every 15 minutes and "sync now"): the orders updated since the last sync, a page of
the paged `orders` query at a time, each brought up to date through `do_upsert_order`; the
page cursor is saved after each page, so a failure never skips a page.

A 401/403 marks the connection broken (the team is told) and stops; throttling waits.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import batched

from django.db import transaction
from django.utils import timezone

from storedesk.commerce.ingest import RefundIn
from storedesk.commerce.services import do_ingest_orders, do_ingest_refunds
from storedesk.commerce.services.order_updates import do_upsert_order
from storedesk.integrations.connections.credentials import NotConnected, credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import (
    do_mark_broken,
    do_mark_synced,
    do_save_sync_state,
    wake_parked,
)
from storedesk.integrations.shopify import graphql, mappers
from storedesk.integrations.shopify.client import (
    AdminClient,
    ShopifyAuthError,
    ShopifyError,
    user_errors,
)

logger = logging.getLogger(__name__)

ACTOR = "shopify-sync"
BATCH = 2000
POLL_SECONDS = 2.0
POLL_LIMIT = 60 * 60 * 6  # seconds a bulk operation may run before we give up this run
PAGE_SIZE = 50
FIRST_RECONCILE = timedelta(days=1)  # without any sync yet, the reconcile looks this far back
OVERLAP = timedelta(minutes=2)  # updated_at clocks: ask a little further back than needed


class SyncFailed(Exception):
    """The sync stopped; its progress is saved and the next run resumes from there."""


@dataclass
class SyncResult:
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    refunds_created: int = 0
    rejected: list[str] = field(default_factory=list)
    lines: int = 0
    pages: int = 0
    waited_seconds: float = 0.0


def _client(connection: Connection, sleep) -> AdminClient:
    if connection.status != Connection.Status.ACTIVE:
        raise NotConnected(f"the Shopify connection is {connection.status}")
    return AdminClient(credentials_of(connection), sleep=sleep)


def _broken(connection: Connection, error: ShopifyAuthError) -> SyncFailed:
    do_mark_broken(connection, f"{error}. Reconnect the shop with a new token.", actor=ACTOR)
    return SyncFailed(str(error))


# --- the bulk backfill -----------------------------------------------------------------------


def search_since(since: datetime | None) -> str:
    return f"updated_at:>='{since.isoformat()}'" if since else ""


def start_bulk_operation(client: AdminClient, since: datetime | None) -> str:
    data = client.execute(
        graphql.RUN_BULK, {"query": graphql.bulk_orders_query(search_since(since))}
    )
    payload = data.get("bulkOperationRunQuery") or {}
    problem = user_errors(payload)
    if problem:
        # One bulk query runs at a time per shop: if ours is already running, follow it.
        current = (client.execute(graphql.CURRENT_BULK).get("currentBulkOperation")) or {}
        if current.get("status") in ("CREATED", "RUNNING"):
            return current["id"]
        raise SyncFailed(f"Shopify refused the bulk operation: {problem}")
    return payload["bulkOperation"]["id"]


def wait_for_bulk_operation(
    client: AdminClient, operation_id: str, *, poll_seconds: float, sleep
) -> dict:
    waited = 0.0
    while True:
        operation = client.execute(graphql.BULK_STATUS, {"id": operation_id}).get("node") or {}
        status = operation.get("status")
        if status == "COMPLETED":
            return operation
        if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED") or not status:
            raise SyncFailed(
                f"the bulk operation ended {status or 'unknown'}: {operation.get('errorCode')}"
            )
        if waited >= POLL_LIMIT:
            raise SyncFailed("the bulk operation is still running; the next run follows it")
        sleep(poll_seconds)
        waited += poll_seconds


def stream_lines(url: str, open_url: Callable = urllib.request.urlopen) -> Iterator[str]:
    """The result file's lines, read as they arrive (never the whole file in memory)."""
    with open_url(url, timeout=60) as response:
        for raw in response:
            line = raw.decode("utf-8").strip() if isinstance(raw, bytes) else raw.strip()
            if line:
                yield line


def orders_of(lines: Iterable[str], *, skip: int = 0) -> Iterator[tuple[int, dict, list]]:
    """(last line number, order row, its line-item rows) for each order of a bulk result.
    Children follow their parent, so an order is complete when the next order starts."""
    current: tuple[int, dict, list] | None = None
    for number, line in enumerate(lines, 1):
        if number <= skip:
            continue
        row = json.loads(line)
        parent = row.get("__parentId")
        if parent is None:
            if current is not None:
                yield current
            current = (number, row, [])
        elif current is not None and parent == current[1].get("id"):
            current[2].append(row)
            current = (number, current[1], current[2])
        else:
            logger.warning("Shopify bulk row %s has no parent before it (%s)", number, parent)
    if current is not None:
        yield current


def _refunds_in(order_in, node) -> list[RefundIn]:
    return [
        RefundIn(
            order_number=order_in.number,
            amount=amount,
            currency=currency or order_in.currency,
            reason=mappers.REFUND_REASON,
            idempotency_key=key,
            created_at=created_at or order_in.created_at,
            provider_id=provider_id,
            note=note[:500],
        )
        for key, amount, currency, created_at, note, provider_id in mappers.refunds_from_graphql(
            node
        )
    ]


def ingest_orders(
    connection: Connection,
    orders: Iterable[tuple[int, dict, list]],
    *,
    batch_size: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
    result: SyncResult | None = None,
) -> SyncResult:
    """Map and store orders of a bulk result in batches; `on_batch(last line)` after each
    batch is committed (the checkpoint)."""
    result = result or SyncResult()
    store = connection.store
    for batch in batched(orders, batch_size):
        mapped, refunds = [], []
        for _, node, line_items in batch:
            try:
                order_in = mappers.order_from_graphql(node, line_items)
            except (mappers.MappingError, ValueError, KeyError) as error:
                result.rejected.append(f"{node.get('name') or node.get('id')}: {error}")
                continue
            mapped.append(order_in)
            refunds.extend(_refunds_in(order_in, node))
        with transaction.atomic():
            ingested = do_ingest_orders(
                store, mapped, actor=ACTOR, batch_size=batch_size, dispatch_events=False
            )
            result.orders_created += ingested.orders_created
            if ingested.orders_skipped:
                _update_known(connection, mapped, ingested, result)
            if refunds:
                refunded = do_ingest_refunds(
                    store, refunds, actor=ACTOR, batch_size=batch_size, dispatch_events=False
                )
                result.refunds_created += refunded.created
                result.rejected.extend(f"refund {key}: {code}" for key, code in refunded.rejected)
        result.lines = batch[-1][0]
        if on_batch is not None:
            on_batch(batch[-1][0])
    return result


def _update_known(connection, mapped, ingested, result: SyncResult) -> None:
    """Orders the batch found already stored (webhooks got there first): bring them up to
    date one by one, the newer version winning."""
    created = set(ingested.order_ids)
    from storedesk.commerce.models import Order

    fresh = set(Order.objects.filter(pk__in=created).values_list("number_key", flat=True))
    for order_in in mapped:
        if order_in.number_key in fresh:
            continue
        outcome = do_upsert_order(connection.store, order_in, actor=ACTOR).outcome
        if outcome == "updated":
            result.orders_updated += 1
        else:
            result.orders_unchanged += 1


def backfill(
    connection: Connection,
    *,
    since: datetime | None = None,
    batch_size: int = BATCH,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    open_url: Callable = urllib.request.urlopen,
) -> SyncResult:
    """Run (or resume) the bulk backfill of a shop's orders; see the module."""
    client = _client(connection, sleep)
    state = dict(connection.sync_state.get("bulk") or {})
    try:
        if not state.get("operation_id"):
            started = timezone.now()
            state = {
                "operation_id": start_bulk_operation(client, since),
                "started_at": started.isoformat(),
                "lines_done": 0,
            }
            do_save_sync_state(connection, bulk=state)
        operation = wait_for_bulk_operation(
            client, state["operation_id"], poll_seconds=poll_seconds, sleep=sleep
        )
    except ShopifyAuthError as error:
        raise _broken(connection, error) from error
    except ShopifyError as error:
        raise SyncFailed(str(error)) from error
    result = SyncResult()
    if operation.get("url"):

        def checkpoint(lines_done: int) -> None:
            state["lines_done"] = lines_done
            do_save_sync_state(connection, bulk=state)

        ingest_orders(
            connection,
            orders_of(stream_lines(operation["url"], open_url), skip=state.get("lines_done", 0)),
            batch_size=batch_size,
            on_batch=checkpoint,
            result=result,
        )
    result.waited_seconds = client.waited
    finished_from = datetime.fromisoformat(state["started_at"])
    do_save_sync_state(connection, bulk=None, reconciled_until=finished_from.isoformat())
    do_mark_synced(connection)
    return result


# --- the reconcile ---------------------------------------------------------------------------


def reconcile(
    connection: Connection,
    *,
    page_size: int = PAGE_SIZE,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Bring every order updated since the last sync up to date, a page at a time."""
    client = _client(connection, sleep)
    state = connection.sync_state
    now = timezone.now()
    since_text = state.get("reconcile_since") or state.get("reconciled_until")
    since = datetime.fromisoformat(since_text) if since_text else now - FIRST_RECONCILE
    run = {
        "reconcile_since": since.isoformat(),
        "reconcile_started": state.get("reconcile_started") or now.isoformat(),
    }
    cursor = state.get("reconcile_cursor")
    search = search_since(since - OVERLAP)
    result = SyncResult()
    while True:
        try:
            data = client.execute(
                graphql.ORDERS_PAGE, {"first": page_size, "after": cursor, "query": search}
            )
        except ShopifyAuthError as error:
            raise _broken(connection, error) from error
        except ShopifyError as error:
            do_save_sync_state(connection, reconcile_cursor=cursor, **run)
            raise SyncFailed(f"{error} (the next run resumes at the same page)") from error
        orders = data.get("orders") or {}
        for edge in orders.get("edges") or ():
            _reconcile_order(connection, edge["node"], result)
        result.pages += 1
        page = orders.get("pageInfo") or {}
        cursor = page.get("endCursor")
        if not page.get("hasNextPage"):
            break
        do_save_sync_state(connection, reconcile_cursor=cursor, **run)
    do_save_sync_state(
        connection,
        reconcile_cursor=None,
        reconcile_since=None,
        reconcile_started=None,
        reconciled_until=run["reconcile_started"],
    )
    do_mark_synced(connection)
    result.waited_seconds = client.waited
    return result


def _reconcile_order(connection: Connection, node: dict, result: SyncResult) -> None:
    line_items = [edge["node"] for edge in (node.get("lineItems") or {}).get("edges") or ()]
    try:
        order_in = mappers.order_from_graphql(node, line_items)
    except (mappers.MappingError, ValueError, KeyError) as error:
        result.rejected.append(f"{node.get('name') or node.get('id')}: {error}")
        return
    upsert = do_upsert_order(connection.store, order_in, actor=ACTOR)
    if upsert.outcome == "created":
        result.orders_created += 1
    elif upsert.outcome == "updated":
        result.orders_updated += 1
    else:
        result.orders_unchanged += 1
    refunds = _refunds_in(order_in, node)
    if refunds:
        result.refunds_created += do_ingest_refunds(connection.store, refunds, actor=ACTOR).created
    order_id = mappers.numeric_id(node.get("id"))
    woken = [f"order:{order_id}"] if upsert.outcome == "created" else []
    if upsert.payments_added or (upsert.outcome == "created" and order_in.payments):
        woken.append(f"payments:{order_id}")
    wake_parked(connection.pk, woken)
