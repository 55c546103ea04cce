"""Load (and wipe) the deterministic demo store.

The same seed, order count, months and end date give the same store, byte for byte in the
digest (`demo.digest`). Without an explicit end date (or with today's) the demo ends at the
real now, which is what a person wants to click through but is not reproducible from one
moment to the next.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.module_loading import autodiscover_modules

from storedesk.accounts.models import Team, User
from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_team, do_create_user
from storedesk.commerce.ingest import OrderIn
from storedesk.commerce.models import (
    Customer,
    LineItem,
    Order,
    Payment,
    Policy,
    Product,
    Refund,
    Shipment,
    ShipmentEvent,
    Store,
    Variant,
)
from storedesk.commerce.services import do_create_store, do_ingest_orders

# Importing a scenario module registers its scenarios.
from storedesk.demo import (  # noqa: F401
    builtin,
    desk_scenarios,
    gateway_scenarios,
    help_center,
    outreach,
    resolution_scenarios,
    risk_scenarios,
    surveys,
)
from storedesk.demo.models import GroundTruth
from storedesk.demo.scenarios import DemoContext, OrderPlan, registered
from storedesk.demo.world import Catalog, World
from storedesk.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeReminder,
    DisputeSubmission,
    EvidencePack,
)

DEMO_PASSWORD = "storedesk-demo"  # noqa: S105  (documented demo login, not a secret)
DEMO_URL = "http://127.0.0.1:8000/"
DEMO_STORE = {
    "name": "Tiny Pearl Jewelry",
    "slug": "tiny-pearl",
    "domain": "tinypearl.example",
    "support_email": "care@tinypearl.example",
    "order_number_prefix": "#TP",
    "is_demo": True,
}
DEMO_USERS = [
    ("agent", Role.AGENT, "Linh", "Nguyen", "vi"),
    ("lead", Role.LEAD, "Mai", "Tran", "vi"),
    ("payments", Role.PAYMENTS, "Hoa", "Pham", "vi"),
    ("admin", Role.ADMIN, "Storedesk", "Admin", "en"),
]
DEMO_TEAMS = [("Care", "care"), ("Payments", "payments"), ("Fulfillment", "fulfillment")]
MAX_ORDERS = 5_000_000


@dataclass
class DemoSummary:
    store: Store
    orders: int
    seconds: float
    counters: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def demo_window(
    end: date | None, months: int, *, clock: datetime | None = None
) -> tuple[datetime, datetime]:
    """(start, now): the simulated clock stops at the end of `end` (UTC), or at the real now
    when that day has not ended yet: a demo dated later than its viewer's clock shows
    replies before questions and ages of "0 minutes". A past `end` is reproducible."""
    real_now = (clock or datetime.now(tz=UTC)).replace(microsecond=0)
    end = end or real_now.date()
    now = min(datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1), real_now)
    month_index = end.year * 12 + end.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(end.day, 28)
    start = datetime(year, month + 1, day, tzinfo=UTC) + timedelta(days=1)
    return start, now


def demo_store() -> Store | None:
    return Store.objects.filter(slug=DEMO_STORE["slug"]).first()


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """One user per role and the three teams, created once through accounts.services."""
    for name, slug in DEMO_TEAMS:
        if not Team.objects.filter(slug=slug).exists():
            do_create_team(name=name, slug=slug, email=f"{slug}@tinypearl.example")
    logins = []
    password_hash = None  # one slow hash for all of them: they share the published password
    for username, role, first, last, language in DEMO_USERS:
        if not User.objects.filter(username=username).exists():
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            do_create_user(
                username=username,
                email=f"{username}@tinypearl.example",
                password=None,
                password_hash=password_hash,
                roles=[role],
                first_name=first,
                last_name=last,
                language=language,
            )
        logins.append((username, DEMO_PASSWORD, str(role.label)))
    return logins


def reset_demo() -> None:
    """Wipe the demo store and everything under it, leaf tables first, set-based.

    Uses raw deletes (no per-row cascade collection) so a million-order store goes in
    seconds. Audit entries and outbox events stay: they are append-only history.
    """
    store = demo_store()
    if store is None:
        return
    with transaction.atomic():
        for item in reversed(registered()):
            item.reset(store)
        for queryset in (
            GroundTruth.objects.filter(order__store=store),
            *(
                model.objects.filter(dispute__order__store=store)
                for model in (DisputeEvent, DisputeReminder, DisputeSubmission, EvidencePack)
            ),
            Dispute.objects.filter(order__store=store),
            Refund.objects.filter(order__store=store),
            ShipmentEvent.objects.filter(shipment__order__store=store),
            Shipment.objects.filter(order__store=store),
            Payment.objects.filter(order__store=store),
            LineItem.objects.filter(order__store=store),
            Order.objects.filter(store=store),
            Customer.objects.filter(store=store),
            Variant.objects.filter(product__store=store),
            Product.objects.filter(store=store),
            Policy.objects.filter(store=store),
            Store.objects.filter(pk=store.pk),
        ):
            queryset._raw_delete(queryset.db)


def build_order_in(plan: OrderPlan) -> OrderIn:
    """The order exactly as the Shopify connector would deliver it."""
    from storedesk.commerce.ingest import CustomerIn, LineItemIn

    shopper = plan.shopper
    paid = plan.payment is not None
    discount_codes = (
        ({"code": plan.discount_code, "amount": str(plan.discount), "type": "percentage"},)
        if plan.discount_code
        else ()
    )
    return OrderIn(
        number=plan.number,
        created_at=plan.created_at,
        currency="USD",
        provider_id=str(5_600_000_000 + plan.seq * 131),
        email=plan.email,
        phone=shopper.phone,
        customer=CustomerIn(
            email=plan.email,
            first_name=shopper.first_name,
            last_name=shopper.last_name,
            phone=shopper.phone,
            provider_id=str(7_100_000_000 + shopper.serial * 37),
            default_address=shopper.address,
            timezone=shopper.timezone,
            accepts_marketing=shopper.serial % 3 == 0,
            is_vip=shopper.is_vip,
            tags=("VIP",) if shopper.is_vip else (),
            created_at=plan.created_at,
        ),
        subtotal_price=plan.subtotal,
        total_discounts=plan.discount,
        total_shipping=plan.shipping_price,
        total_price=plan.total,
        discount_codes=discount_codes,
        financial_status="paid" if paid else "voided",
        fulfillment_status="fulfilled" if plan.shipments else "unfulfilled",
        cancelled_at=plan.cancelled_at,
        cancel_reason=plan.cancel_reason,
        shipping_method=plan.shipping.title,
        shipping_method_code=plan.shipping.code,
        is_expedited=plan.shipping.expedited,
        billing_address=plan.billing_address,
        shipping_address=plan.shipping_address,
        browser_ip=plan.browser_ip,
        user_agent=plan.user_agent,
        accept_language="en-US,en;q=0.9",
        landing_site=plan.landing_site,
        referring_site=plan.referring_site,
        tags=tuple(plan.tags),
        note=plan.extra.get("gift_note", ""),
        line_items=tuple(
            LineItemIn(
                title=variant.title,
                quantity=quantity,
                price=variant.price,
                sku=variant.sku,
                variant_title=variant.variant_title,
                provider_id=str(9_300_000_000 + plan.seq * 11 + index),
            )
            for index, (variant, quantity) in enumerate(plan.lines)
        ),
        payments=tuple(plan.payments),
        shipments=tuple(plan.shipments),
    )


def load_demo(
    *,
    orders: int = 20_000,
    months: int = 12,
    seed: int = 7,
    end: date | None = None,
    batch_size: int = 2000,
    progress=None,
    train_in_worker: bool = False,
) -> DemoSummary:
    """Simulate the store and write it through the services, batch by batch. With
    `train_in_worker` the risk model is trained by a queued task (the worker of `storedesk
    run` takes it at once) instead of within the load."""
    if not 1 <= orders <= MAX_ORDERS:
        raise ValueError(f"orders must be between 1 and {MAX_ORDERS:,}")
    if not 1 <= months <= 60:
        raise ValueError("months must be between 1 and 60")
    autodiscover_modules("demo_scenarios")
    started = time.perf_counter()
    with _fast_sqlite_writes():
        return _load(orders, months, seed, end, batch_size, progress, started, train_in_worker)


@contextmanager
def _fast_sqlite_writes():
    """A demo is reproducible from its seed, so while loading it SQLite may skip fsyncs, keep
    a larger page cache and copy its write-ahead log back less often (a page rewritten by many
    batches is copied once); the settings' durability comes back afterwards."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=1000")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-64000")


def _load(orders, months, seed, end, batch_size, progress, started, train_in_worker):
    start, now = demo_window(end, months)
    store = do_create_store(**DEMO_STORE)
    ctx = DemoContext(
        seed=seed,
        store=store,
        start=start,
        now=now,
        orders_wanted=orders,
        batch_size=batch_size,
        train_in_worker=train_in_worker,
    )
    ctx.catalog = Catalog(ctx.random_for("catalog"))
    scenarios = registered()
    ctx.shared["world"] = world = World(ctx)
    for item in scenarios:
        item.setup(ctx)
    batch: list[OrderPlan] = []
    stored_batches = 0
    for plan in world.plans():
        batch.append(plan)
        if len(batch) >= batch_size:
            _store_batch(ctx, scenarios, batch)
            batch = []
            stored_batches += 1
            if stored_batches in STATISTICS_AFTER_BATCHES:
                _refresh_planner_statistics()
            if progress:
                progress(ctx.counters.get("orders", 0))
    if batch:
        _store_batch(ctx, scenarios, batch)
    for item in scenarios:
        item.finish(ctx)
    _refresh_planner_statistics()
    for task, arguments in ctx.queued:
        task.enqueue(**arguments)
    return DemoSummary(
        store=store,
        orders=ctx.counters.get("orders", 0),
        seconds=time.perf_counter() - started,
        counters=ctx.counters,
        timings=ctx.timings,
    )


# While a big load grows the tables, the planner relearns their shape now and then: without
# statistics SQLite may pick a status index over an order-id index and scan every refund per
# batch, which makes a million-order load quadratic.
STATISTICS_AFTER_BATCHES = frozenset({1, 4, 16, 64, 256})


# Index entries ANALYZE reads per index on SQLite. It estimates rows per key from what it
# read, so a store id (one value in every row) looks as selective as the limit: with 2,000 it
# took "store = ? ORDER BY id" for a cheap scan and read every order of the store for a
# refund batch's 200 numbers, a query that grew to half a second at 600,000 orders.
ANALYSIS_LIMIT = 50_000


def _refresh_planner_statistics() -> None:
    """After a bulk load the query planner must learn the new sizes, or SQLite picks the
    store index over the email/name indexes and a search scans every order."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def _timed(ctx: DemoContext, key: str, started: float) -> float:
    now = time.perf_counter()
    ctx.timings[key] = ctx.timings.get(key, 0.0) + now - started
    return now


def _store_batch(ctx: DemoContext, scenarios, plans: list[OrderPlan]) -> None:
    mark = time.perf_counter()
    for plan in plans:
        for item in scenarios:
            item.on_order(ctx, plan)
    orders = [build_order_in(plan) for plan in plans]
    mark = _timed(ctx, "simulate", mark)
    result = do_ingest_orders(
        ctx.store, orders, actor="demo", batch_size=len(orders) or 1, dispatch_events=False
    )
    ctx.count("orders", result.orders_created)
    ctx.order_ids = dict(zip((plan.number_key for plan in plans), result.order_ids, strict=True))
    mark = _timed(ctx, "ingest orders", mark)
    for item in scenarios:
        item.after_batch(ctx, plans)
        mark = _timed(ctx, f"after batch: {item.name}", mark)
