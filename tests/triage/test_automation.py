"""Automation on a new message: rules fire once each, recorded on the timeline; round-robin."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.accounts.models import Team
from storedesk.accounts.roles import Role
from storedesk.core.models import DomainEvent
from storedesk.desk.models import Message, Ticket, TicketEvent
from storedesk.desk.services import do_open_ticket, do_receive_message
from storedesk.triage.automation import least_loaded
from storedesk.triage.models import RuleFiring, TicketSla
from storedesk.triage.services import do_save_rule, do_take_round_robin_turn
from storedesk.triage.tasks import on_message_received
from tests.desk.builders import inbound
from tests.triage.workflow_helpers import analyse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _acknowledgements_on(settings):
    settings.TRIAGE_SEND_ACKNOWLEDGEMENT = True


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


@pytest.fixture
def care(make_user):
    team = Team.objects.get(slug="care")
    team.members.set([make_user(Role.AGENT, username=f"care{n}") for n in range(3)])
    return team


def test_round_robin_is_fair(care):
    chosen = Counter(do_take_round_robin_turn(care).username for _ in range(30))
    assert chosen == {"care0": 10, "care1": 10, "care2": 10}


def test_round_robin_skips_inactive_members(care):
    care.members.filter(username="care1").update(is_active=False)
    picks = [do_take_round_robin_turn(care).username for _ in range(4)]
    assert picks == ["care0", "care2", "care0", "care2"]


def test_round_robin_passes_the_turn_on_when_the_last_agent_leaves(care):
    picks = [do_take_round_robin_turn(care).username for _ in range(2)]
    care.members.filter(username="care1").update(is_active=False)
    picks += [do_take_round_robin_turn(care).username for _ in range(3)]
    # care2's turn comes next, not care0's a second time.
    assert picks == ["care0", "care1", "care2", "care0", "care2"]


def test_least_loaded_picks_the_agent_with_fewest_open_tickets(care):
    busy = care.members.get(username="care0")
    for n in range(2):
        ticket = do_open_ticket(channel="email", requester_email=f"x{n}@mail.example")
        Ticket.objects.filter(pk=ticket.pk).update(assignee=busy)
    assert least_loaded(care).username == "care1"


def receive(django_capture_on_commit_callbacks, text, intent=None, **analysis):
    """A customer's message through the desk, then (like the classifier) its analysis, then
    the triage handler, as the outbox would run it after commit."""
    with django_capture_on_commit_callbacks(execute=False):
        ticket = do_open_ticket(channel="email", requester_email="emma@mail.example", subject=text)
        message = do_receive_message(ticket, inbound(text))
    if intent:
        analyse(message, intent, **analysis)
    event = DomainEvent.objects.filter(name="message_received").latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        on_message_received(event)
    return Ticket.objects.get(pk=message.ticket_id), message


def test_a_matching_rule_fires_once_and_is_on_the_timeline(
    lead, care, django_capture_on_commit_callbacks, mailoutbox
):
    Team.objects.filter(slug="care").update(email="care@store.example")
    rule = do_save_rule(
        None,
        actor=lead,
        name="Angry customers to care",
        condition=":mood: = 'angry'",
        actions="assign team care round_robin\npriority urgent\ntag angry\nnotify care",
    )
    ticket, message = receive(
        django_capture_on_commit_callbacks, "This is unacceptable!", "not_received", mood="angry"
    )
    assert ticket.team.slug == "care"
    assert ticket.assignee.username == "care0"
    assert ticket.priority == Ticket.Priority.URGENT
    # The rule's tag, and the intent's that triage adds to every first message.
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["angry", "not-received"]
    fired = TicketEvent.objects.get(ticket=ticket, kind="rule_fired")
    assert fired.data["rule"] == "Angry customers to care"
    assert fired.data["results"][0] == "assigned to care / care0"
    assert any(m.to == ["care@store.example"] for m in mailoutbox)
    # A replayed event fires nothing again.
    on_message_received(DomainEvent.objects.filter(name="message_received").latest("pk"))
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    rule.refresh_from_db()
    assert rule.fire_count == 1


def test_a_rule_that_does_not_match_does_nothing(lead, django_capture_on_commit_callbacks):
    do_save_rule(None, actor=lead, name="Legal", condition=":threat_legal:", actions="tag legal")
    ticket, _ = receive(django_capture_on_commit_callbacks, "Hello", "product_question")
    assert not TicketEvent.objects.filter(ticket=ticket, kind="rule_fired").exists()


def test_new_message_gets_clocks_priority_and_an_honest_acknowledgement(
    django_capture_on_commit_callbacks,
):
    ticket, _ = receive(django_capture_on_commit_callbacks, "Where is my ring?", "order_status")
    sla = TicketSla.objects.get(ticket=ticket)
    assert sla.first_response_due_at is not None
    assert sla.acknowledged_at is not None
    ack = Message.objects.get(ticket=ticket, automatic_reason="acknowledgement")
    assert "will reply by" in ack.text
    assert ticket.priority_score.score >= 0


def test_auto_reply_rule_answers_and_skips_the_acknowledgement(
    lead, django_capture_on_commit_callbacks
):
    do_save_rule(
        None,
        actor=lead,
        name="Compliments",
        condition=":intent: = 'compliment'",
        actions='auto_reply "Thank you so much for the kind words!"\nstatus solved',
    )
    ticket, _ = receive(django_capture_on_commit_callbacks, "I love my ring", "compliment")
    automatic = list(Message.objects.filter(ticket=ticket, is_automatic=True))
    assert len(automatic) == 1  # the rule's reply, no acknowledgement on top
    assert automatic[0].automatic_reason.startswith("rule ")
    assert automatic[0].text == "Thank you so much for the kind words!"
    assert ticket.status == Ticket.Status.SOLVED


def test_a_wismo_rule_answers_with_tracking_and_leaves_the_ticket_pending(
    lead, django_capture_on_commit_callbacks
):
    from tests.factories import LineItemFactory, OrderFactory, ShipmentEventFactory

    order = OrderFactory()
    LineItemFactory(order=order)
    # Scanned an hour ago: a parcel without a scan for days is stuck and left to a person.
    ShipmentEventFactory(
        shipment__order=order,
        message="In transit to Chicago",
        happened_at=timezone.now() - timedelta(hours=1),
    )
    do_save_rule(
        None, actor=lead, name="WISMO", condition=":intent: = 'order_status'", actions="wismo"
    )
    with django_capture_on_commit_callbacks(execute=False):
        ticket = do_open_ticket(
            channel="email", requester_email=order.customer.email, customer=order.customer
        )
        message = do_receive_message(ticket, inbound("Where is it?", from_email=order.email))
    analyse(message, "order_status", order_refs=[{"kind": "order_number", "value": order.number}])
    with django_capture_on_commit_callbacks(execute=True):
        on_message_received(DomainEvent.objects.filter(name="message_received").latest("pk"))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    sent = Message.objects.filter(ticket=ticket, is_automatic=True).get()  # no acknowledgement
    assert sent.automatic_reason == "wismo"
    assert "In transit to Chicago" in sent.text
    fired = TicketEvent.objects.get(ticket=ticket, kind="rule_fired")
    assert fired.data["results"] == ["wismo: sent"]


@pytest.mark.parametrize(
    ("scanned_days_ago", "status", "why"),
    [
        (10, "in_transit", "the parcel is stuck (no carrier scan for days): left to a person"),
        (0, "delivered", "the carrier says delivered: left to a person"),
        (0, "returned_to_sender", "the carrier reports a problem: left to a person"),
    ],
)
def test_wismo_leaves_stuck_delivered_or_troubled_parcels_to_a_person(
    lead, django_capture_on_commit_callbacks, scanned_days_ago, status, why
):
    from tests.factories import LineItemFactory, OrderFactory, ShipmentEventFactory

    order = OrderFactory()
    LineItemFactory(order=order)
    event = ShipmentEventFactory(
        shipment__order=order,
        shipment__status=status,
        happened_at=timezone.now() - timedelta(days=scanned_days_ago, hours=1),
    )
    assert event.shipment.status == status
    do_save_rule(
        None, actor=lead, name="WISMO", condition=":intent: = 'order_status'", actions="wismo"
    )
    with django_capture_on_commit_callbacks(execute=False):
        ticket = do_open_ticket(
            channel="email", requester_email=order.customer.email, customer=order.customer
        )
        message = do_receive_message(ticket, inbound("Where is it?", from_email=order.email))
    analyse(message, "order_status", order_refs=[{"kind": "order_number", "value": order.number}])
    with django_capture_on_commit_callbacks(execute=True):
        on_message_received(DomainEvent.objects.filter(name="message_received").latest("pk"))
    assert not Message.objects.filter(ticket=ticket, automatic_reason="wismo").exists()
    fired = TicketEvent.objects.get(ticket=ticket, kind="rule_fired")
    assert fired.data["results"] == [f"wismo: {why}"]


def test_an_auto_reply_with_a_placeholder_is_refused_when_the_rule_is_saved(lead):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=r"remove \[\[carrier\]\]"):
        do_save_rule(
            None,
            actor=lead,
            name="Shipping",
            condition=":intent: = 'order_status'",
            actions='auto_reply "It is on its way with [[carrier]]"',
        )


def test_an_automation_never_sends_an_unfilled_placeholder_and_records_why(
    lead, django_capture_on_commit_callbacks
):
    rule = do_save_rule(
        None,
        actor=lead,
        name="Shipping",
        condition=":intent: = 'order_status'",
        actions='auto_reply "It is on its way"',
    )
    # A rule saved before placeholders were checked, or written straight into the table.
    rule.parsed_actions = [{"action": "auto_reply", "text": "It is on its way with [[carrier]]"}]
    rule.save(update_fields=["parsed_actions"])
    ticket, _ = receive(django_capture_on_commit_callbacks, "Where is it?", "order_status")
    assert not Message.objects.filter(ticket=ticket, text__contains="[[").exists()
    fired = TicketEvent.objects.get(ticket=ticket, kind="rule_fired")
    assert fired.data["results"] == ["not sent: Fill in before sending: [[carrier]]."]
