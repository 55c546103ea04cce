"""An order as the tracking tests need it: a customer, an item, a parcel with carrier scans."""

from datetime import timedelta

from django.utils import timezone

from storedesk.commerce.models import Shipment
from tests.factories import (
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
)


def tracked_order(*, status=Shipment.Status.IN_TRANSIT, days_ago=6, scans=2, eta_days=3, **kw):
    """An order placed `days_ago` days ago, shipped the next day, with `scans` carrier scans a
    day apart; its carrier expects delivery `eta_days` after shipping."""
    store = kw.pop("store", None) or StoreFactory()
    now = timezone.now()
    customer = CustomerFactory(
        store=store,
        first_name="Emma",
        email=kw.pop("email", "emma.stone@mail.example"),
        timezone="",
    )
    order = OrderFactory(
        store=store,
        customer=customer,
        email=customer.email.title(),
        number=kw.pop("number", "#TP10234"),
        number_key=kw.pop("number_key", "TP10234"),
        created_at=now - timedelta(days=days_ago),
    )
    LineItemFactory(order=order, title="Moonstone Ring", variant_title="Size 7")
    shipped = now - timedelta(days=days_ago - 1)
    shipment = ShipmentFactory(
        order=order,
        carrier="USPS",
        service="Priority Mail",
        status=status,
        shipped_at=shipped,
        estimated_delivery_at=shipped + timedelta(days=eta_days),
        delivered_at=shipped + timedelta(days=scans) if status == "delivered" else None,
        signed_by="E STONE" if status == "delivered" else "",
        delivery_location="Front door" if status == "delivered" else "",
    )
    for day in range(scans):
        ShipmentEventFactory(
            shipment=shipment,
            happened_at=shipped + timedelta(days=day, hours=2),
            status=status if day == scans - 1 else Shipment.Status.IN_TRANSIT,
            message=f"Scan {day + 1}: arrived at USPS facility",
            city="Dallas",
            province="TX",
            country="US",
        )
    return order
