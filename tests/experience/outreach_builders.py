"""A hand-built store for outreach tests: customers whose segment membership is known."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from storedesk.experience.models import Campaign, Segment
from storedesk.experience.services import do_save_campaign, do_save_segment
from tests.factories import CustomerFactory, OrderFactory, StoreFactory


def buyer(store, name: str, *, spent="100.00", days_ago=10, orders=1, **order_fields):
    """A customer with one paid order `days_ago` days ago and the aggregates commerce keeps."""
    at = timezone.now() - timedelta(days=days_ago)
    customer = CustomerFactory(
        store=store,
        first_name=name,
        email=f"{name.lower()}@mail.example",
        total_spent=Decimal(spent),
        orders_count=orders,
        first_order_at=at - timedelta(days=365 * (orders - 1)),
        last_order_at=at,
    )
    OrderFactory(store=store, customer=customer, created_at=at, **order_fields)
    return customer


def hand_built_store():
    """Nine customers: two VIPs, one lapsed, two recent, a gift buyer, a VIP with an open
    ticket, an unsubscribed VIP, and one who never bought."""
    store = StoreFactory()
    people = {
        "vip": buyer(store, "Vera", spent="1500.00", days_ago=60, orders=3),
        "vip2": buyer(store, "Violet", spent="1000.00", days_ago=90, orders=2),
        "lapsed": buyer(store, "Linda", spent="80.00", days_ago=400),
        "recent": buyer(store, "Rosa", spent="120.00", days_ago=5),
        "recent2": buyer(store, "Ruth", spent="60.00", days_ago=20),
        "gift": buyer(store, "Grace", spent="90.00", days_ago=100, note="Happy birthday, Mom!"),
        "troubled": buyer(store, "Tina", spent="2000.00", days_ago=30, orders=4),
        "unsubscribed": buyer(store, "Uma", spent="3000.00", days_ago=40, orders=5),
    }
    people["never"] = CustomerFactory(store=store, first_name="Nora", email="nora@mail.example")
    return store, people


def segment(store, kind, actor=None, **parameters) -> Segment:
    return do_save_segment(
        actor=actor, store=store, name=f"{kind} {parameters}", kind=kind, parameters=parameters
    )


def campaign(store, seg, actor=None, **fields) -> Campaign:
    data = {
        "name": "Spring hello",
        "segment": seg,
        "subject": "A little something for you, {{ first_name }}",
        "body": "Hi {{ first_name }},\n\nThank you for shopping with {{ store_name }}. {{ offer }}",
        "offer_kind": Campaign.Offer.NONE,
        "offer_amount": Decimal(0),
        "offer_text": "",
        "control_percent": 0,
        "occasion": "",
        "send_on": None,
    } | fields
    return do_save_campaign(actor=actor, store=store, **data)


def outreach_campaign(store, actor) -> dict:
    """A draft campaign to all buyers of `store`, with one recipient row (its unsubscribe
    link), for the pages' tests."""
    from storedesk.commerce.models import Customer
    from storedesk.experience.models import CampaignRecipient

    seg = do_save_segment(
        actor=actor, store=store, name="All buyers", kind=Segment.Kind.ALL_BUYERS, parameters={}
    )
    draft = campaign(store, seg, actor=actor, name="Mother's Day")
    customer = Customer.objects.filter(store=store).order_by("pk").first()
    recipient = CampaignRecipient.objects.create(
        campaign=draft,
        customer=customer,
        email=customer.email,
        status=CampaignRecipient.Status.SENT,
        queued_at=timezone.now(),
    )
    return {"segment": seg, "campaign": draft, "recipient": recipient}
