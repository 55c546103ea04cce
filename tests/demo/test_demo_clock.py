"""The demo's clock ends at the real now: nothing in it is dated later, and every
conversation reads in order (opened, question, answer)."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models import Max
from django.utils import timezone

from storedesk.demo.loader import demo_window
from storedesk.desk.models import Message, Ticket

pytestmark = pytest.mark.django_db

# Fields that name a moment still to come: deadlines, forecasts and retry schedules.
FUTURE_BY_DESIGN = {
    ("ApiToken", "expires_at"),
    ("WebhookDelivery", "next_attempt_at"),
    ("StripeEvent", "next_attempt_at"),
    ("Shipment", "estimated_delivery_at"),
    ("Ticket", "follow_up_at"),
    ("TicketSla", "first_response_due_at"),
    ("TicketSla", "next_response_due_at"),
    ("TicketSla", "resolution_due_at"),
    ("TicketSla", "next_due_at"),
    ("TicketSla", "warn_at"),
    ("TicketSla", "warned_for"),
    ("TicketSla", "breached_for"),
    ("Dispute", "evidence_due_by"),
    ("ScheduledRun", "slot"),
    ("Approval", "expires_at"),
    ("SurveyInvitation", "expires_at"),
    ("AccountHealthCase", "deadline"),
}


def _latest_moments() -> dict[str, datetime]:
    """The latest value of every past-tense timestamp of every Storedesk table."""
    latest = {}
    for model in apps.get_models():
        if not model.__module__.startswith("storedesk"):
            continue
        names = [
            field.name
            for field in model._meta.get_fields()
            if isinstance(field, models.DateTimeField)
            and (model.__name__, field.name) not in FUTURE_BY_DESIGN
        ]
        if not names:
            continue
        values = model.objects.aggregate(**{name: Max(name) for name in names})
        for name, value in values.items():
            if value is not None:
                latest[f"{model.__name__}.{name}"] = value
    return latest


def test_a_demo_ending_today_has_nothing_dated_after_the_real_now():
    call_command("demo", "--orders", "600", "--months", "1", stdout=StringIO())
    now = timezone.now()

    future = {name: value for name, value in _latest_moments().items() if value > now}

    assert future == {}
    # … and it is not a day behind either: the last order is recent.
    assert now - _latest_moments()["Order.created_at"] < timedelta(days=2)


def test_every_demo_conversation_opens_then_asks_then_is_answered():
    call_command("demo", "--orders", "600", "--months", "1", stdout=StringIO())

    tickets = Ticket.objects.prefetch_related("messages", "events")
    assert tickets.count() > 50
    for ticket in tickets:
        messages = sorted(ticket.messages.all(), key=lambda message: message.pk)  # as written
        assert messages[0].kind == Message.Kind.INBOUND, ticket
        assert messages[0].created_at == ticket.created_at, ticket
        events = sorted(ticket.events.all(), key=lambda event: (event.created_at, event.pk))
        assert events[0].kind == "created", ticket
        assert events[0].created_at <= messages[0].created_at, ticket
        for question, answer in zip(messages, messages[1:], strict=False):
            assert answer.created_at > question.created_at, ticket


def test_the_demo_clock_stops_at_the_end_of_a_past_day_and_at_now_for_today():
    clock = datetime(2026, 12, 6, 5, 4, 30, tzinfo=UTC)

    _start, past_end = demo_window(date(2026, 6, 30), 12, clock=clock)
    _start, today_end = demo_window(date(2026, 12, 6), 12, clock=clock)
    _start, default_end = demo_window(None, 12, clock=clock)
    _start, future_end = demo_window(date(2026, 12, 24), 12, clock=clock)

    assert past_end == datetime(2026, 7, 1, tzinfo=UTC)
    assert today_end == default_end == future_end == clock
