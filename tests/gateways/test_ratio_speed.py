"""The ratio count reads one covering index of payments by store: every way a payment is
stored carries its order's store, and the database plans the count on that index."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storedesk.commerce.models import Order, Payment
from storedesk.commerce.services import do_ingest_orders
from storedesk.commerce.services.order_updates import do_upsert_order
from storedesk.commerce.services.payments import do_record_payment
from storedesk.gateways.ratios import month_ratios
from tests.commerce.builders import order_in
from tests.factories import OrderFactory, PaymentFactory, StoreFactory
from tests.gateways.builders import payments

pytestmark = pytest.mark.django_db


def test_every_way_a_payment_is_stored_carries_the_orders_store():
    store = StoreFactory(timezone="UTC")
    other = StoreFactory(slug="second", name="Second", domain="second.example")
    do_ingest_orders(store, [order_in(1)])
    do_ingest_orders(other, [order_in(2)])
    first = Order.objects.get(store=store)
    later = replace(order_in(1).payments[0], provider_id="ch_3TestLaterCapture")
    do_record_payment(first, later)
    updated = order_in(1)
    updated = replace(
        updated, payments=(*updated.payments, replace(later, provider_id="ch_3TestThird"))
    )
    do_upsert_order(store, updated)
    PaymentFactory(order=OrderFactory(store=other))
    payments(OrderFactory(store=other), 2, datetime(2026, 3, 5, tzinfo=UTC))

    stored = list(Payment.objects.values_list("store_id", "order__store_id", "provider_id"))
    assert len(stored) == 7
    assert all(store_id == order_store for store_id, order_store, _ in stored)
    assert Payment.objects.filter(store=store).count() == 3


def test_the_count_is_one_index_range_scan_without_orders():
    store = StoreFactory(timezone="UTC")
    payments(OrderFactory(store=store), 3, datetime(2026, 3, 5, tzinfo=UTC))
    with CaptureQueriesContext(connection) as queries:
        month_ratios(store, date(2026, 3, 1), now=datetime(2026, 4, 2, tzinfo=UTC))
    count = queries.captured_queries[0]["sql"]
    assert "commerce_payment" in count
    assert "commerce_order" not in count  # no join: the payment's own store
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + count)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "COVERING INDEX payment_store_ratio_idx" in plan
