"""factory_boy factories for the store's data, shaped like the demo and the real connectors."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from storedesk.accounts.models import User
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

BASE_TIME = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@desk.example")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=[role.value for role in extracted]))


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("slug",)

    name = "Tiny Pearl Jewelry"
    slug = "tiny-pearl"
    domain = "tinypearl.example"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    first_name = factory.Sequence(lambda n: f"Emma{n}")
    last_name = "Johnson"
    email = factory.LazyAttribute(lambda c: f"{c.first_name.lower()}.johnson@mail.example")
    name_key = factory.LazyAttribute(lambda c: f"{c.first_name} {c.last_name}".lower())
    last_name_key = factory.LazyAttribute(lambda c: c.last_name.lower())
    created_at = BASE_TIME - timedelta(days=30)
    timezone = "America/Chicago"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    title = factory.Sequence(lambda n: f"Moonstone Ring {n}")
    handle = factory.Sequence(lambda n: f"moonstone-ring-{n}")
    kind = Product.Kind.RING
    material = Product.Material.SILVER


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"RG-SLV-{n:04d}-7")
    title = "Size 7"
    size = "7"
    price = Decimal("89.00")


def _address(first: str, last: str, city="Austin", province_code="TX", zip_code="78701"):
    return {
        "first_name": first,
        "last_name": last,
        "address1": "512 Congress Ave",
        "address2": "",
        "city": city,
        "province": "Texas",
        "province_code": province_code,
        "country": "United States",
        "country_code": "US",
        "zip": zip_code,
        "phone": "",
    }


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    customer = factory.SubFactory(CustomerFactory, store=factory.SelfAttribute("..store"))
    number = factory.Sequence(lambda n: f"#TP{10000 + n}")
    number_key = factory.LazyAttribute(lambda o: o.number.lstrip("#").upper())
    email = factory.LazyAttribute(lambda o: o.customer.email)
    name_key = factory.LazyAttribute(lambda o: o.customer.name_key)
    last_name_key = factory.LazyAttribute(lambda o: o.customer.last_name_key)
    created_at = BASE_TIME
    subtotal_price = Decimal("89.00")
    total_shipping = Decimal("0.00")
    total_price = Decimal("89.00")
    financial_status = Order.FinancialStatus.PAID
    fulfillment_status = Order.FulfillmentStatus.FULFILLED
    shipping_method = "Standard International (7-14 business days)"
    billing_address = factory.LazyAttribute(
        lambda o: _address(o.customer.first_name, o.customer.last_name)
    )
    shipping_address = factory.LazyAttribute(
        lambda o: _address(o.customer.first_name, o.customer.last_name)
    )
    billing_country = "US"
    shipping_country = "US"
    browser_ip = "73.42.18.9"


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineItem

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    sku = factory.LazyAttribute(lambda li: li.variant.sku)
    title = factory.LazyAttribute(lambda li: li.variant.product.title)
    variant_title = factory.LazyAttribute(lambda li: li.variant.title)
    quantity = 1
    price = Decimal("89.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    gateway = Payment.Gateway.STRIPE
    method = Payment.Method.CARD
    provider_id = factory.Sequence(lambda n: f"ch_3Test{n:018d}")
    provider_intent_id = factory.Sequence(lambda n: f"pi_3Test{n:018d}")
    amount = factory.LazyAttribute(lambda p: p.order.total_price)
    currency = "USD"
    status = Payment.Status.SUCCEEDED
    captured = True
    created_at = factory.LazyAttribute(lambda p: p.order.created_at)
    card_brand = "visa"
    card_last4 = "4242"
    card_country = "US"
    card_fingerprint = factory.Sequence(lambda n: f"fp{n:014d}")
    card_funding = "credit"
    avs_line1_check = "pass"
    avs_postal_check = "pass"
    cvc_check = "pass"
    network_status = "approved_by_network"
    outcome_type = "authorized"
    risk_level = "normal"
    risk_score = 12


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    order = factory.SubFactory(OrderFactory)
    payment = factory.SubFactory(PaymentFactory, order=factory.SelfAttribute("..order"))
    amount = Decimal("20.00")
    currency = "USD"
    reason = Refund.Reason.WRONG_SIZE
    status = Refund.Status.SUCCEEDED
    idempotency_key = factory.Sequence(lambda n: f"refund-test-{n}")
    created_at = factory.LazyAttribute(lambda r: r.order.created_at + timedelta(days=9))


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = "USPS"
    service = "First-Class Package International"
    tracking_number = factory.Sequence(lambda n: f"LX{100000000 + n}VN")
    tracking_url = factory.LazyAttribute(
        lambda s: f"https://tools.usps.com/go/TrackConfirmAction?tLabels={s.tracking_number}"
    )
    status = Shipment.Status.IN_TRANSIT
    shipped_at = factory.LazyAttribute(lambda s: s.order.created_at + timedelta(days=1))


class ShipmentEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShipmentEvent

    shipment = factory.SubFactory(ShipmentFactory)
    happened_at = factory.LazyAttribute(lambda e: e.shipment.shipped_at + timedelta(days=2))
    status = Shipment.Status.IN_TRANSIT
    message = "Departed from the origin country"
    city = "Hanoi"
    country = "VN"


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    store = factory.SubFactory(StoreFactory)
    kind = Policy.Kind.RETURNS
    version = 1
    title = "Returns and refunds"
    body = "Return any unworn piece within 30 days of delivery for a full refund."
    effective_from = BASE_TIME - timedelta(days=365)
