"""A disputed order with everything a pack reads: items, a card payment with its checks, a
delivered shipment with signature, policies, a conversation and an earlier order."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from storedesk.commerce.ingest import DisputeIn
from storedesk.commerce.models import Policy, Shipment
from storedesk.desk.models import Message, Ticket
from storedesk.disputes.models import Dispute
from storedesk.disputes.services import do_ingest_disputes
from tests.factories import (
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    PolicyFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
)

_numbers = count(1)
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"


def add_messages(ticket: Ticket, texts: list[str], *, start=None) -> None:
    start = start or ticket.created_at
    Message.objects.bulk_create(
        [
            Message(
                ticket=ticket,
                kind=Message.Kind.INBOUND if n % 2 == 0 else Message.Kind.OUTBOUND,
                channel="email",
                from_email=ticket.requester_email if n % 2 == 0 else "care@store.example",
                from_name="" if n % 2 == 0 else "Linh (Care)",
                text=text,
                new_text=text,
                created_at=start + timedelta(minutes=n),
            )
            for n, text in enumerate(texts)
        ]
    )


def disputed_order(
    *,
    store=None,
    gateway: str = "stripe",
    reason: str = "product_not_received",
    network_reason_code: str = "13.1",
    status: str = "needs_response",
    due_in: timedelta | None = timedelta(days=10),
    now=None,
    messages: list[str] | None = None,
    amount: Decimal = Decimal("89.00"),
    raw: dict | None = None,
    with_prior_order: bool = True,
    browser_ip: str = "73.42.18.9",
) -> Dispute:
    n = next(_numbers)
    store = store or StoreFactory()
    now = now or timezone.now()
    customer = CustomerFactory(
        store=store, first_name="Olivia", last_name="Bennett", email=f"olivia{n}@mail.example"
    )
    order = OrderFactory(
        store=store,
        customer=customer,
        number=f"#TP{30000 + n}",
        number_key=f"TP{30000 + n}",
        user_agent=USER_AGENT,
        browser_ip=browser_ip,
        created_at=now - timedelta(days=20),
        total_price=amount,
    )
    LineItemFactory(order=order, title="Moonstone Ring", variant_title="Size 7", price=amount)
    payment = PaymentFactory(
        order=order,
        gateway=gateway,
        provider_id=f"ch_3Disp{n:018d}" if gateway == "stripe" else f"PAYCAP{n:010d}",
        three_d_secure_result="authenticated",
    )
    shipment = ShipmentFactory(
        order=order,
        carrier="USPS",
        tracking_number=f"9400111899{n:012d}",
        status=Shipment.Status.DELIVERED,
        shipped_at=now - timedelta(days=18),
        delivered_at=now - timedelta(days=11),
        signed_by="O BENNETT",
    )
    ShipmentEventFactory(
        shipment=shipment,
        status=Shipment.Status.IN_TRANSIT,
        message="Departed Hanoi sorting center",
        happened_at=now - timedelta(days=17),
    )
    ShipmentEventFactory(
        shipment=shipment,
        status=Shipment.Status.DELIVERED,
        message="Delivered, front door",
        city="Austin",
        province="TX",
        country="US",
        happened_at=now - timedelta(days=11),
    )
    if not Policy.objects.filter(store=store, kind="returns").exists():
        PolicyFactory(
            store=store,
            kind="returns",
            version=1,
            title="Returns within 30 days",
            body="Return unworn jewelry within 30 days for a refund.",
            effective_from=now - timedelta(days=400),
        )
        PolicyFactory(
            store=store,
            kind="shipping",
            version=1,
            title="Shipping policy",
            body="Ships from Hanoi in 2 business days.",
            effective_from=now - timedelta(days=400),
        )
    if with_prior_order:
        prior = OrderFactory(
            store=store,
            customer=customer,
            number=f"#TP{40000 + n}",
            number_key=f"TP{40000 + n}",
            user_agent=USER_AGENT,
            created_at=now - timedelta(days=200),
        )
        PaymentFactory(order=prior)
    ticket = Ticket.objects.create(
        number=90000 + n,
        store=store,
        customer=customer,
        requester_email=customer.email,
        subject="Where is my ring?",
        channel="email",
        created_at=now - timedelta(days=12),
        updated_at=now - timedelta(days=12),
    )
    ticket.orders.add(order)
    add_messages(
        ticket,
        messages
        if messages is not None
        else [
            "Where is my ring? It has been two weeks.",
            "It was delivered on Tuesday, signed by O BENNETT.",
        ],
    )
    do_ingest_disputes(
        [
            DisputeIn(
                gateway=gateway,
                provider_id=f"dp_{n:010d}" if gateway == "stripe" else f"PP-D-{n:06d}",
                payment_provider_id=payment.provider_id,
                reason=reason,
                status=status,
                amount=amount,
                currency="USD",
                opened_at=now - timedelta(days=2),
                network_reason_code=network_reason_code,
                evidence_due_by=(now + due_in) if due_in is not None else None,
                kind="inquiry"
                if status.startswith("warning")
                else ("claim" if gateway == "paypal" else "chargeback"),
                raw=raw or {},
            )
        ]
    )
    return Dispute.objects.get(order=order)
