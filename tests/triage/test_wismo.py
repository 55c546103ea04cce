"""Self-answering where-is-my-order: live tracking, the sender's own order only, then pending."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.commerce.models import Order
from storedesk.desk.models import Message, Ticket
from storedesk.desk.services import do_open_ticket, do_receive_message
from storedesk.triage.services import do_analyse_message, do_answer_wismo
from tests.desk.builders import inbound
from tests.factories import (
    BASE_TIME,
    LineItemFactory,
    OrderFactory,
    ShipmentEventFactory,
    ShipmentFactory,
)
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


def ask(order, text="Where is my order?", refs=None, intent="order_status"):
    email = order.customer.email
    ticket = do_open_ticket(channel="email", requester_email=email, customer=order.customer)
    message = do_receive_message(ticket, inbound(text, from_email=email))
    analyse(message, intent, order_refs=refs if refs is not None else [order.number])
    return ticket, message


@pytest.fixture
def shipped():
    order = OrderFactory()
    LineItemFactory(order=order)
    shipment = ShipmentFactory(
        order=order, carrier="USPS", estimated_delivery_at=BASE_TIME + timedelta(days=6)
    )
    # Scanned this morning: a parcel without a scan for days is stuck and left to a person.
    ShipmentEventFactory(
        shipment=shipment,
        message="Arrived at USPS facility",
        city="Chicago",
        country="US",
        happened_at=timezone.now() - timedelta(hours=2),
    )
    return order


def test_order_status_with_a_known_order_is_answered_with_live_tracking(shipped):
    ticket, message = ask(shipped)
    assert do_answer_wismo(ticket, message) == "sent"
    reply = Message.objects.get(ticket=ticket, automatic_reason="wismo")
    assert "Arrived at USPS facility" in reply.text
    assert shipped.shipments.get().tracking_number in reply.text
    assert "[[" not in reply.text
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    assert list(ticket.orders.all()) == [shipped]


def test_someone_elses_order_number_is_never_answered(shipped):
    stranger = OrderFactory()
    ticket, message = ask(stranger, refs=[shipped.number])
    assert do_answer_wismo(ticket, message) == "no single order of the sender's identified"
    assert not Message.objects.filter(ticket=ticket, automatic_reason="wismo").exists()


def test_other_intents_and_unanalysed_messages_are_left_to_agents(shipped):
    ticket, message = ask(shipped, intent="damaged")
    assert do_answer_wismo(ticket, message) == "not an order-status question"
    message.analysis.delete()
    assert do_answer_wismo(ticket, message) == "not analysed yet"


def test_an_unshipped_order_gets_the_still_being_made_answer():
    order = OrderFactory(fulfillment_status="unfulfilled")
    LineItemFactory(order=order)
    ticket, message = ask(order, refs=[])
    ticket.orders.add(order)
    result = do_answer_wismo(ticket, message)
    reply = Message.objects.filter(ticket=ticket, automatic_reason="wismo").first()
    assert result == "sent"
    assert order.number in reply.text


@pytest.mark.parametrize("how", ["digits", "tracking"])
def test_the_senders_order_is_answered_however_it_is_written(shipped, how):
    # Through the real analysis: "order 10003" for #TP10003, or only the tracking number.
    written = {
        "digits": shipped.number.lstrip("#TP"),
        "tracking": shipped.shipments.get().tracking_number,
    }[how]
    OrderFactory(store=shipped.store, customer=shipped.customer)  # a second, older order
    email = shipped.customer.email
    ticket = do_open_ticket(
        channel="email", requester_email=email, customer=shipped.customer, store=shipped.store
    )
    message = do_receive_message(
        ticket, inbound(f"Hi, where is my order {written}? Any update?", from_email=email)
    )
    analysis = do_analyse_message(message)
    assert analysis.primary_intent == "order_status"
    assert [ref.get("order_id") for ref in analysis.order_refs] == [shipped.pk]

    assert do_answer_wismo(ticket, message) == "sent"
    assert list(ticket.orders.all()) == [shipped]


def test_a_foreign_number_is_not_answered_with_the_senders_own_recent_order(shipped):
    stranger = OrderFactory(store=shipped.store)
    email = shipped.customer.email
    Order.objects.filter(pk=shipped.pk).update(created_at=timezone.now())  # one recent order
    ticket = do_open_ticket(
        channel="email", requester_email=email, customer=shipped.customer, store=shipped.store
    )
    message = do_receive_message(
        ticket, inbound(f"Where is my order {stranger.number}?", from_email=email)
    )
    analysis = do_analyse_message(message)
    assert [ref["kind"] for ref in analysis.order_refs] == ["order", "recent_order"]

    assert do_answer_wismo(ticket, message) == "no single order of the sender's identified"
    assert not Message.objects.filter(ticket=ticket, automatic_reason="wismo").exists()
