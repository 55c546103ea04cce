"""`storedesk demo --via-webhooks`: part of the demo arrives as signed Shopify webhooks through
the desk's own intake (InboundDelivery rows) and appliers, not through the simulator."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from storedesk.commerce.models import Order, Payment, Refund, Shipment
from storedesk.disputes.models import Dispute
from storedesk.integrations.connections.models import Connection, InboundDelivery

pytestmark = pytest.mark.django_db
SMALL = ["--orders", "200", "--months", "1", "--end", "2026-06-30"]


def test_the_demo_sends_orders_fulfilments_refunds_and_disputes_through_the_front_door():
    out = StringIO()
    call_command("demo", *SMALL, "--via-webhooks", "--webhook-orders", "20", stdout=out)
    shop = Connection.objects.get(system="shopify")
    assert shop.lookup_key == "storedesk-demo.myshopify.com"
    assert "webhook_secret" not in json.dumps(shop.config)  # the secret is kept encrypted
    deliveries = InboundDelivery.objects.filter(connection=shop)
    by_topic = {}
    for delivery in deliveries:
        by_topic.setdefault(delivery.topic, []).append(delivery)
    assert {topic: len(rows) for topic, rows in by_topic.items()} == {
        "orders/create": 20,
        "fulfillments/create": 10,
        "refunds/create": 2,
        "disputes/create": 1,
    }
    assert {delivery.status for delivery in deliveries} == {"applied"}
    # every order of those deliveries exists, made by the Shopify applier from the body sent
    for delivery in by_topic["orders/create"]:
        body = json.loads(delivery.body)
        order = Order.objects.get(number=body["name"], store=shop.store)
        assert order.provider_id == str(body["id"])
        assert order.customer.email == body["email"]
        assert str(order.total_price) == body["total_price"]
        assert Payment.objects.filter(order=order, gateway="shopify_payments").exists()
    for delivery in by_topic["fulfillments/create"]:
        body = json.loads(delivery.body)
        shipment = Shipment.objects.get(tracking_number=body["tracking_number"])
        assert shipment.order.provider_id == str(body["order_id"])
    for delivery in by_topic["refunds/create"]:
        body = json.loads(delivery.body)
        assert Refund.objects.filter(provider_id=str(body["id"])).exists()
    dispute_body = json.loads(by_topic["disputes/create"][0].body)
    dispute = Dispute.objects.get(provider_id=str(dispute_body["id"]))
    assert dispute.gateway == "shopify_payments"
    assert "Through the front door" in out.getvalue()
    assert "33 deliveries applied" in out.getvalue()


def test_without_the_option_nothing_comes_through_webhooks():
    call_command("demo", *SMALL, stdout=StringIO())
    assert not InboundDelivery.objects.exists()
    assert not Connection.objects.filter(system="shopify").exists()


def test_a_nonsense_share_is_refused():
    with pytest.raises(CommandError, match="--webhook-orders must be between"):
        call_command("demo", *SMALL, "--via-webhooks", "--webhook-orders", "0", stdout=StringIO())
