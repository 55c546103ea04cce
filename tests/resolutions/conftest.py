from decimal import Decimal

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.services import do_link_orders
from tests.desk.builders import make_ticket
from tests.factories import LineItemFactory, OrderFactory, PaymentFactory, StoreFactory
from tests.resolutions.fakes import FakePayPal, FakeStripe


def paid_order(total="100.00", *, gateway="stripe", store=None, **fields):
    """An unshipped order paid and captured in full at `gateway`, with one line item."""
    store = store or StoreFactory()
    order = OrderFactory(
        store=store,
        subtotal_price=Decimal(total),
        total_price=Decimal(total),
        fulfillment_status="unfulfilled",
        **fields,
    )
    LineItemFactory(order=order, price=Decimal(total), title="Moonstone Ring")
    payment = PaymentFactory(order=order, gateway=gateway, amount=Decimal(total))
    if gateway == "paypal":
        payment.provider_id, payment.provider_intent_id = "2GG279541U471931P", "5O190127TN364715T"
        payment.method = "paypal"
        payment.save()
    return order


@pytest.fixture
def order(db):
    return paid_order()


@pytest.fixture
def people(make_user):
    return {
        "agent": make_user(Role.AGENT, username="agent", first_name="Linh"),
        "agent2": make_user(Role.AGENT, username="agent2", first_name="Bao"),
        "lead": make_user(Role.LEAD, username="lead", first_name="Mai"),
        "lead2": make_user(Role.LEAD, username="lead2", first_name="Tuan"),
        "payments": make_user(Role.PAYMENTS, username="payments", first_name="Hoa"),
        "admin": make_user(Role.ADMIN, username="admin", first_name="Ad"),
        "nobody": make_user(None, username="nobody"),
    }


@pytest.fixture
def ticket_for(db):
    def make(order):
        ticket = make_ticket(requester=order.email, subject="My ring never arrived")
        do_link_orders(ticket, [order], actor=None)
        return ticket

    return make


@pytest.fixture
def stripe_server(httpserver, settings):
    fake = FakeStripe(httpserver)
    settings.STRIPE_SECRET_KEY = "sk_test_storedesk"
    settings.STRIPE_API_BASE = fake.url
    settings.RESOLUTIONS_GATEWAY_TIMEOUT_SECONDS = 5
    return fake


@pytest.fixture
def paypal_server(httpserver, settings):
    fake = FakePayPal(httpserver)
    settings.PAYPAL_CLIENT_ID = "paypal-client"
    settings.PAYPAL_CLIENT_SECRET = "paypal-secret"  # noqa: S105 - a test server's
    settings.PAYPAL_API_BASE_URL = fake.url
    return fake


@pytest.fixture
def api_as(people):
    """A test client with a bearer token of one of `people` (last use recorded already)."""
    from django.test import Client
    from django.utils import timezone

    from storedesk.accounts.services import do_create_api_token

    clients = {}

    def make(name: str) -> Client:
        if name not in clients:
            token, raw_key = do_create_api_token(people[name], name="tests")
            token.last_used_at = timezone.now()
            token.save(update_fields=["last_used_at"])
            clients[name] = Client(headers={"Authorization": f"Bearer {raw_key}"})
        return clients[name]

    return make
