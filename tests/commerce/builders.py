"""Small builders of ingest dataclasses for tests (the shapes a connector delivers)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storedesk.commerce.ingest import (
    CustomerIn,
    LineItemIn,
    OrderIn,
    PaymentIn,
    ShipmentEventIn,
    ShipmentIn,
)

BASE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def order_in(
    n: int,
    *,
    email: str | None = None,
    first="Emma",
    last="Johnson",
    total=Decimal("89.00"),
    days=0,
    gateway="stripe",
    paid=True,
) -> OrderIn:
    created = BASE + timedelta(days=days, minutes=n)
    email = email or f"buyer{n}@mail.example"
    address = {
        "first_name": first,
        "last_name": last,
        "address1": "512 Congress Ave",
        "city": "Austin",
        "province": "Texas",
        "province_code": "TX",
        "country": "United States",
        "country_code": "US",
        "zip": "78701",
    }
    payment = PaymentIn(
        gateway=gateway,
        provider_id=f"ch_3Test{n:020d}",
        amount=total,
        currency="USD",
        status="succeeded" if paid else "failed",
        captured=paid,
        created_at=created,
        card_brand="visa",
        card_last4="4242",
        card_country="US",
        risk_level="normal",
        risk_score=12,
    )
    shipment = ShipmentIn(
        carrier="USPS",
        tracking_number=f"LX{100000000 + n}VN",
        status="in_transit",
        shipped_at=created + timedelta(days=1),
        events=(
            ShipmentEventIn(
                happened_at=created + timedelta(days=1),
                status="confirmed",
                city="Hanoi",
                country="VN",
            ),
            ShipmentEventIn(
                happened_at=created + timedelta(days=3),
                status="in_transit",
                message="Arrived at USPS facility",
                city="Los Angeles",
                province="CA",
                country="US",
            ),
        ),
    )
    return OrderIn(
        number=f"#TP{1000 + n}",
        created_at=created,
        currency="USD",
        subtotal_price=total,
        total_price=total,
        provider_id=str(5_000_000 + n),
        email=email,
        customer=CustomerIn(
            email=email.upper(), first_name=first, last_name=last, default_address=address
        ),
        financial_status="paid" if paid else "pending",
        billing_address=address,
        shipping_address=address,
        browser_ip="73.42.18.9",
        line_items=(
            LineItemIn(
                title="Moonstone Ring",
                quantity=1,
                price=total,
                sku="RG-SLV-0001-7",
                variant_title="Size 7",
            ),
        ),
        payments=(payment,),
        shipments=(shipment,),
    )
