import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from storedesk.demo import desk_scenarios
from storedesk.demo.desk_scenarios import RECENT_DAYS
from storedesk.demo.desk_text import SITUATIONS
from storedesk.demo.digest import demo_digest
from storedesk.demo.loader import demo_store
from storedesk.demo.models import GroundTruth
from storedesk.desk.models import Channel, Message, QuarantinedMail, Ticket

# The PayPal limitation notice the gateway-health scenario mails to the store.
GATEWAY_NOTICE = "service@paypal.com"

pytestmark = pytest.mark.django_db
SMALL = ["--orders", "2500", "--end", "2026-06-30"]
NOW = datetime(2026, 7, 1, tzinfo=UTC)


def _demo(*args) -> None:
    call_command("demo", *args, stdout=StringIO())


def _tagged(situation: str):
    return Ticket.objects.filter(tags__name=situation)


def test_the_demo_desk_has_every_situation_threaded_and_a_backlog_for_today():
    _demo(*SMALL)

    tickets = Ticket.objects.all()
    assert 500 < tickets.count() < 1100  # about 0.3 tickets per order
    present = set(tickets.values_list("tags__name", flat=True))
    assert {situation.key for situation in SITUATIONS} <= present
    assert set(tickets.values_list("channel", flat=True)) == {
        Channel.EMAIL,
        Channel.FORM,
        Channel.CHAT,
    }
    # Customers write about what really happened to their parcel.
    lost = set(GroundTruth.objects.filter(parcel_lost=True).values_list("order_id", flat=True))
    dnr = set(
        GroundTruth.objects.filter(delivered_not_received=True).values_list("order_id", flat=True)
    )
    about_lost = set(_tagged("not-received").values_list("orders", flat=True))
    about_dnr = set(_tagged("delivered-not-received").values_list("orders", flat=True))
    assert about_lost
    assert about_lost <= lost
    assert about_dnr
    assert about_dnr <= dnr
    threats = _tagged("chargeback-threat").values_list("orders__disputes", flat=True)
    assert all(threats)
    # Tickets belong to the demo's real customers (but the gateway's notice to the store).
    assert (
        not tickets.filter(customer__isnull=True).exclude(requester_email=GATEWAY_NOTICE).exists()
    )
    # Conversations: agent replies from the templates, customer follow-ups in the same ticket.
    replies = Message.objects.filter(kind=Message.Kind.OUTBOUND)
    assert replies.filter(template__isnull=False).count() == replies.count() > 100
    assert not replies.filter(text__contains="[[").exists()
    assert tickets.annotate(n=Count("messages")).filter(n__gte=4).count() > 20
    # The last days came through the real mail path: parsed, quoted history split off,
    # follow-ups threaded back onto the agent's ticket.
    recent = tickets.filter(created_at__gte=NOW - timedelta(days=RECENT_DAYS))
    follow_ups = Message.objects.filter(
        ticket__in=recent, kind=Message.Kind.INBOUND, channel=Channel.EMAIL
    ).exclude(in_reply_to="")
    assert follow_ups.exists()
    for message in follow_ups:
        assert message.quoted_text.startswith("On ")
        assert message.ticket.messages.filter(message_id=message.in_reply_to).exists()
        assert message.ticket.token in message.subject
        assert message.raw.name
    assert not QuarantinedMail.objects.exists()
    # History is mostly closed; today has a backlog of every open status.
    statuses = dict(tickets.values_list("status").annotate(n=Count("pk")))
    assert statuses["closed"] > tickets.count() * 0.8
    assert "pending" in statuses
    assert {"new", "open"} & set(statuses)
    assert not tickets.filter(status__in=["new", "open"], created_at__lt=NOW - timedelta(days=5))
    assert not Message.objects.filter(created_at__gt=NOW).exists()
    # Ticket numbers follow time.
    created = list(tickets.order_by("number").values_list("created_at", flat=True))
    assert created == sorted(created)


def test_the_desk_is_part_of_the_demo_digest_and_deterministic():
    _demo(*SMALL, "--seed", "3")
    first = demo_digest(demo_store())
    subjects = list(Ticket.objects.order_by("number").values_list("subject", flat=True))

    _demo(*SMALL, "--seed", "3", "--reset")
    assert demo_digest(demo_store()) == first
    assert list(Ticket.objects.order_by("number").values_list("subject", flat=True)) == subjects

    Message.objects.filter(pk=Message.objects.order_by("pk").first().pk).update(new_text="changed")
    assert demo_digest(demo_store()) != first


def test_a_big_store_sends_only_its_latest_conversations_through_the_real_paths(monkeypatch):
    monkeypatch.setattr(desk_scenarios, "RECENT_TICKETS", 5)
    out = StringIO()
    call_command("demo", *SMALL, stdout=out)

    assert re.search(r"desk:through_mail_and_services\s+5\n", out.getvalue())
    mailed = (
        Ticket.objects.filter(messages__raw__gt="")
        .exclude(requester_email=GATEWAY_NOTICE)  # the gateway scenario's one notice
        .distinct()
    )
    assert 0 < mailed.count() <= 5
    latest = set(
        Ticket.objects.exclude(requester_email=GATEWAY_NOTICE)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:5]
    )
    assert set(mailed.values_list("pk", flat=True)) <= latest


def test_a_demo_reply_uses_only_a_template_whose_facts_the_ticket_has():
    from types import SimpleNamespace

    from storedesk.desk.models import ReplyTemplate

    world = SimpleNamespace(templates={t.name: t for t in ReplyTemplate.objects.all()})
    plan = SimpleNamespace(situation="where-is-my-order")
    unshipped = frozenset({"order_number", "order_date", "items"})
    shipped = unshipped | {"carrier", "tracking_number", "tracking_link", "tracking_last_event"}
    chosen = desk_scenarios._fitting_template(world, plan, unshipped)
    assert chosen.name == "Where is my order: still being made"
    assert desk_scenarios._fitting_template(world, plan, shipped).name == (
        "Where is my order: on its way"
    )
    assert desk_scenarios._fitting_template(world, plan, frozenset()) is None
