"""After a bulk load SQLite's planner must still look a refund batch's orders up by number."""

from datetime import timedelta

import pytest
from django.db import connection

from storedesk.commerce.models import Order
from storedesk.demo import loader
from tests.factories import BASE_TIME, StoreFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's ANALYZE sampling"),
]


def test_a_refund_batch_reads_its_orders_by_number_not_the_whole_store():
    store = StoreFactory()
    Order.objects.bulk_create(
        Order(
            store=store,
            number=f"#TP{n}",
            number_key=f"TP{n}",
            created_at=BASE_TIME + timedelta(minutes=n),
            subtotal_price=50,
            total_price=50,
            financial_status=Order.FinancialStatus.PAID,
            fulfillment_status=Order.FulfillmentStatus.FULFILLED,
        )
        for n in range(12_000)
    )
    loader._refresh_planner_statistics()

    keys = [f"TP{n}" for n in range(0, 12_000, 60)]  # 200, as many as a refund batch
    plan = (
        Order.objects.filter(store=store, number_key__in=keys)
        .order_by("pk")
        .values_list("number_key", "pk", "currency")
        .explain()
    )

    assert "(store_id=? AND number_key=?)" in plan, plan
