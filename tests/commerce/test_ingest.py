import dataclasses
from decimal import Decimal

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Customer, LineItem, Order, Payment, Shipment, ShipmentEvent
from storedesk.commerce.services import do_ingest_orders
from storedesk.core.models import DomainEvent
from tests.commerce.builders import order_in
from tests.factories import StoreFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_ingest_stores_orders_with_everything_they_carry():
    store = StoreFactory()
    variant = VariantFactory(product__store=store, sku="RG-SLV-0001-7")

    result = do_ingest_orders(store, [order_in(1), order_in(2)])

    assert (result.orders_created, result.customers_created) == (2, 2)
    order = Order.objects.get(number_key="TP1001")
    assert (order.number, order.email, order.name_key, order.last_name_key) == (
        "#TP1001",
        "buyer1@mail.example",
        "emma johnson",
        "johnson",
    )
    assert (order.billing_country, order.shipping_country) == ("US", "US")
    assert order.line_items.get().variant == variant
    assert Payment.objects.count() == 2
    assert ShipmentEvent.objects.count() == 4
    assert AuditEntry.objects.filter(action="order.ingested").count() == 2
    assert DomainEvent.objects.filter(name="order_created").count() == 2


def test_reingesting_the_same_orders_creates_nothing_new():
    store = StoreFactory()
    orders = [order_in(n) for n in range(5)]
    do_ingest_orders(store, orders)

    again = do_ingest_orders(store, orders)

    assert (again.orders_created, again.orders_skipped) == (0, 5)
    counts = [
        model.objects.count()
        for model in (Order, Customer, LineItem, Payment, Shipment, ShipmentEvent)
    ]
    assert counts == [5, 5, 5, 5, 5, 10]
    assert AuditEntry.objects.filter(action="order.ingested").count() == 5


def test_duplicates_within_one_delivery_are_stored_once():
    store = StoreFactory()

    result = do_ingest_orders(store, [order_in(1), order_in(1)])

    assert (result.orders_created, result.orders_skipped) == (1, 1)


def test_batches_split_a_large_delivery_into_transactions():
    store = StoreFactory()

    result = do_ingest_orders(store, (order_in(n) for n in range(25)), batch_size=10)

    assert result.orders_created == 25
    assert Order.objects.count() == 25


def test_customer_aggregates_are_recomputed_over_all_orders():
    store = StoreFactory()
    do_ingest_orders(store, [order_in(1, email="ann@mail.example", total=Decimal("50.00"))])

    do_ingest_orders(
        store,
        [
            order_in(2, email="Ann@Mail.example", total=Decimal("120.50"), days=10),
            order_in(3, email="ann@mail.example", total=Decimal("19.00"), days=20, paid=False),
        ],
    )

    customer = Customer.objects.get(email="ann@mail.example")
    assert customer.orders_count == 3
    assert customer.total_spent == Decimal("170.50")
    assert customer.first_order_at == Order.objects.get(number_key="TP1001").created_at
    assert customer.last_order_at == Order.objects.get(number_key="TP1003").created_at
    assert Customer.objects.count() == 1


def test_floats_are_refused_as_money():
    store = StoreFactory()
    bad = order_in(1).__class__(
        **{
            **{f: getattr(order_in(1), f) for f in order_in(1).__dataclass_fields__},
            "total_price": 89.0,
        }
    )

    with pytest.raises(TypeError, match="Decimal"):
        do_ingest_orders(store, [bad])
    assert not Order.objects.exists()


@pytest.mark.parametrize("size", [10, 300])
def test_ingest_costs_a_bounded_number_of_queries_whatever_the_batch_size(
    size, django_assert_max_num_queries
):
    store = StoreFactory()
    VariantFactory(product__store=store, sku="RG-SLV-0001-7")
    orders = [order_in(n) for n in range(size)]

    with django_assert_max_num_queries(22):
        do_ingest_orders(store, orders)

    assert Order.objects.count() == size


@pytest.mark.parametrize(
    "hostile", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "\tjavascript:x", "data:text/html,x"]
)
def test_non_http_links_from_stores_and_carriers_are_not_stored(hostile):
    store = StoreFactory()
    base = order_in(1)
    shipment = dataclasses.replace(
        base.shipments[0], tracking_url=hostile, proof_of_delivery_url="vbscript:msgbox(1)"
    )
    order = dataclasses.replace(
        base, shipments=(shipment,), landing_site=hostile, referring_site="//evil.example"
    )

    do_ingest_orders(store, [order])

    stored = Shipment.objects.get()
    assert (stored.tracking_url, stored.proof_of_delivery_url) == ("", "")
    assert Order.objects.values_list("landing_site", "referring_site").get() == ("", "")


def test_http_links_and_a_landing_path_are_stored_as_sent():
    store = StoreFactory()
    base = order_in(1)
    shipment = dataclasses.replace(
        base.shipments[0],
        tracking_url="https://tools.usps.com/go/TrackConfirmAction?tLabels=LX1VN",
        proof_of_delivery_url="https://pod.example/LX1VN.pdf",
    )
    order = dataclasses.replace(
        base,
        shipments=(shipment,),
        landing_site="/products/ring?ref=abc",
        referring_site="https://www.google.com/",
    )

    do_ingest_orders(store, [order])

    stored = Shipment.objects.get()
    assert stored.tracking_url == "https://tools.usps.com/go/TrackConfirmAction?tLabels=LX1VN"
    assert stored.proof_of_delivery_url == "https://pod.example/LX1VN.pdf"
    assert Order.objects.values_list("landing_site", "referring_site").get() == (
        "/products/ring?ref=abc",
        "https://www.google.com/",
    )
