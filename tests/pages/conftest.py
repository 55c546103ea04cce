"""Page-test fixtures: a store with one fully loaded order, and compiled Vietnamese messages."""

import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils.translation import trans_real

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Payment, Policy, Refund, Shipment
from storedesk.desk.models import Ticket
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    PolicyFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
)

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "storedesk" / "locale"


@pytest.fixture(scope="session", autouse=True)
def vietnamese_messages():
    """Compile vi/django.po when its .mo is missing or stale (.mo files are not committed)."""
    po = LOCALE_DIR / "vi" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)  # noqa: S603, S607
        trans_real._translations = {}
        trans_real._default = None


@pytest.fixture
def store(db):
    return StoreFactory()


def add_order_rows(order, *, count: int = 1) -> None:
    """Add `count` more of every kind of row the order page shows."""
    for _ in range(count):
        LineItemFactory(order=order)
        stripe = PaymentFactory(order=order)
        PaymentFactory(
            order=order,
            gateway=Payment.Gateway.PAYPAL,
            method=Payment.Method.PAYPAL,
            provider_id=f"PP-{stripe.pk}",
            card_brand="",
            card_last4="",
            card_fingerprint="",
            payer_email="payer@mail.example",
            payer_status="VERIFIED",
            seller_protection="ELIGIBLE",
        )
        RefundFactory(order=order, payment=stripe, status=Refund.Status.PENDING)
        shipment = ShipmentFactory(order=order)
        for day, status in enumerate([Shipment.Status.IN_TRANSIT, Shipment.Status.DELIVERED]):
            ShipmentEventFactory(
                shipment=shipment,
                status=status,
                happened_at=shipment.shipped_at + timedelta(days=day + 1),
            )
        record_audit(actor=None, action="order.updated", obj=order, changes={"note": "x"})


def add_tickets(customer, count: int, *, start: int = 7000) -> list[Ticket]:
    """`count` tickets of the customer, one hour apart, the last one newest."""
    return [
        Ticket.objects.create(
            number=start + n,
            store=customer.store,
            customer=customer,
            requester_email=customer.email,
            subject=f"Question {n}",
            channel="email",
            created_at=BASE_TIME + timedelta(hours=n),
            updated_at=BASE_TIME + timedelta(hours=n),
            last_message_at=BASE_TIME + timedelta(hours=n),
        )
        for n in range(count)
    ]


@pytest.fixture
def full_order(store):
    """An order with items, a card and a PayPal payment, a refund, a shipment with events,
    policies before and after the purchase, and an audit entry."""
    customer = CustomerFactory(
        store=store,
        first_name="Olivia",
        last_name="Bennett",
        email="olivia.bennett@mail.example",
        name_key="olivia bennett",
        last_name_key="bennett",
        is_vip=True,
        orders_count=3,
        total_spent=Decimal("412.50"),
        tags=["repeat"],
    )
    order = OrderFactory(store=store, customer=customer, number="#TP20001", number_key="TP20001")
    LineItemFactory(order=order, title="Moonstone Ring", variant_title="Size 7")
    PaymentFactory(
        order=order,
        card_fingerprint="fpSECRET123",
        risk_level="elevated",
        risk_score=67,
        three_d_secure_result="authenticated",
    )
    shipment = ShipmentFactory(
        order=order,
        tracking_number="LX999888777VN",
        status=Shipment.Status.DELIVERED,
        delivered_at=BASE_TIME + timedelta(days=9),
        signed_by="O BENNETT",
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Departed Hanoi sorting center",
        happened_at=BASE_TIME + timedelta(days=2),
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Arrived at Austin post office",
        city="Austin",
        province="TX",
        country="US",
        status=Shipment.Status.OUT_FOR_DELIVERY,
        happened_at=BASE_TIME + timedelta(days=8),
    )
    ShipmentEventFactory(
        shipment=shipment,
        message="Delivered, front door",
        city="Austin",
        country="US",
        status=Shipment.Status.DELIVERED,
        happened_at=BASE_TIME + timedelta(days=9),
    )
    PolicyFactory(
        store=store, version=1, body="Returns v1", effective_from=BASE_TIME - timedelta(days=300)
    )
    PolicyFactory(
        store=store,
        version=2,
        body="Returns v2 within 30 days",
        effective_from=BASE_TIME - timedelta(days=10),
    )
    PolicyFactory(
        store=store,
        version=3,
        body="Returns v3 LATER",
        effective_from=BASE_TIME + timedelta(days=1),
    )
    PolicyFactory(
        store=store,
        kind=Policy.Kind.SHIPPING,
        title="Shipping",
        version=1,
        body="Ships from Hanoi in 2 days",
        effective_from=BASE_TIME - timedelta(days=5),
    )
    record_audit(actor=None, action="order.imported", obj=order, changes={"source": "shopify"})
    return order
