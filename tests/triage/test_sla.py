"""SLA clocks on the team's calendar, pauses while pending, the sweep and the acknowledgement."""

from datetime import UTC, datetime, timedelta

import pytest

from storedesk.desk.models import Message, Ticket, TicketEvent
from storedesk.desk.services import do_change_status, do_reply
from storedesk.triage.models import TicketSla
from storedesk.triage.services import do_acknowledge, do_refresh_sla, do_sweep_sla
from storedesk.triage.sla import acknowledgement_text, customer_time
from tests.desk.builders import make_ticket
from tests.factories import CustomerFactory
from tests.triage.workflow_helpers import hanoi

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _acknowledgements_on(settings):
    settings.TRIAGE_SEND_ACKNOWLEDGEMENT = True


def test_first_response_due_skips_lunch_and_records_business_minutes(agent):
    at = hanoi(2026, 6, 1, 11, 0)  # Monday 11:00 in Hanoi; Standard policy: 240 business min
    ticket = make_ticket(at=at)
    sla = do_refresh_sla(ticket, now=at)
    assert sla.policy.name == "Standard"
    # 60 min before lunch, 180 after 13:30 → 16:30.
    assert sla.first_response_due_at == hanoi(2026, 6, 1, 16, 30)
    assert sla.next_target == TicketSla.Target.FIRST_RESPONSE
    assert sla.warn_at == sla.next_due_at - timedelta(minutes=60)
    answered = hanoi(2026, 6, 1, 14, 0)
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_at=answered, last_agent_message_at=answered
    )
    sla = do_refresh_sla(ticket, now=hanoi(2026, 6, 1, 14, 0))
    assert sla.first_response_business_minutes == 90
    assert sla.next_target == TicketSla.Target.RESOLUTION


def test_friday_evening_message_is_due_on_saturday_then_monday():
    at = hanoi(2026, 6, 5, 17, 0)  # Friday 17:00
    sla = do_refresh_sla(make_ticket(at=at), now=at)
    # 30 min on Friday, Saturday 08:30–12:00 (210) → 240 reached at Saturday 12:00.
    assert sla.first_response_due_at == hanoi(2026, 6, 6, 12, 0)


def test_tet_holidays_stop_the_clock():
    at = hanoi(2027, 2, 3, 16, 0)  # the day before Tết 2027
    sla = do_refresh_sla(make_ticket(at=at), now=at)
    # 90 minutes on Feb 3, the other 150 after the holidays: Thursday Feb 11 08:30 + 150.
    assert sla.first_response_due_at == hanoi(2027, 2, 11, 11, 0)


def test_vip_customers_get_the_vip_policy():
    customer = CustomerFactory(is_vip=True, email="vip@mail.example")
    at = hanoi(2026, 6, 1, 9, 0)
    ticket = make_ticket(at=at, requester="vip@mail.example")
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    sla = do_refresh_sla(ticket, now=at)
    assert sla.policy.name == "VIP customers"
    assert sla.first_response_due_at == hanoi(2026, 6, 1, 10, 0)


def test_pending_pauses_the_resolution_clock(agent):
    at = hanoi(2026, 6, 1, 9, 0)
    ticket = make_ticket(at=at)
    before = do_refresh_sla(ticket, now=at).resolution_due_at
    do_reply(ticket, author=agent, text="Could you send a photo?", status=Ticket.Status.PENDING)
    ticket.refresh_from_db()
    sla = do_refresh_sla(ticket, now=hanoi(2026, 6, 1, 10, 0))
    assert sla.next_due_at is None
    assert sla.resolution_due_at is None
    assert sla.paused_since == hanoi(2026, 6, 1, 10, 0)
    do_change_status(ticket, Ticket.Status.OPEN, actor=agent)
    ticket.refresh_from_db()
    sla = do_refresh_sla(ticket, now=hanoi(2026, 6, 2, 10, 0))  # one business day later
    assert sla.paused_business_minutes == 450
    assert sla.resolution_due_at > before


def test_sweep_warns_then_breaches_once_per_due_time():
    at = hanoi(2026, 6, 1, 9, 0)
    ticket = make_ticket(at=at)
    sla = do_refresh_sla(ticket, now=at)
    assert do_sweep_sla(now=at) == {"sla_breached": 0, "sla_warning": 0}
    assert do_sweep_sla(now=sla.warn_at) == {"sla_breached": 0, "sla_warning": 1}
    assert do_sweep_sla(now=sla.warn_at + timedelta(minutes=1))["sla_warning"] == 0
    assert do_sweep_sla(now=sla.next_due_at) == {"sla_breached": 1, "sla_warning": 0}
    assert do_sweep_sla(now=sla.next_due_at + timedelta(minutes=5))["sla_breached"] == 0
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds.count("sla_warning") == 1
    assert kinds.count("sla_breached") == 1
    assert TicketSla.objects.get(pk=sla.pk).breach_count == 1


def test_customer_facing_time_follows_us_daylight_saving():
    before = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)  # EST: UTC-5
    after = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)  # EDT: UTC-4
    assert customer_time(before, "America/New_York") == "Friday, March 6 at 9:30 AM EST"
    assert customer_time(after, "America/New_York") == "Monday, March 9 at 10:30 AM EDT"
    assert customer_time(after, "America/Los_Angeles") == "Monday, March 9 at 7:30 AM PDT"
    november = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    assert customer_time(november, "America/Chicago") == "Monday, November 2 at 8:30 AM CST"


def test_acknowledgement_promises_the_due_time_in_the_customers_zone():
    customer = CustomerFactory(
        email="ana@mail.example", first_name="Ana", timezone="America/Denver"
    )
    at = hanoi(2026, 6, 1, 9, 0)
    ticket = make_ticket(at=at, requester="ana@mail.example")
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    ticket.refresh_from_db()
    sla = do_refresh_sla(ticket, now=at)
    message = do_acknowledge(ticket)
    # Due Monday 14:30 in Hanoi = 07:30 UTC = 01:30 MDT the same Monday.
    assert sla.first_response_due_at == hanoi(2026, 6, 1, 14, 30)
    assert "Monday, June 1 at 1:30 AM MDT" in message.text
    assert message.text.startswith("Hi Ana,")
    assert message.is_automatic
    assert message.automatic_reason == "acknowledgement"
    assert do_acknowledge(ticket) is None  # once per ticket
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # an acknowledgement is not a response


@pytest.mark.parametrize(
    ("received", "zone", "due", "promised"),
    [
        # Saturday 17:00 in Hanoi, just before US clocks spring forward (Sunday March 8, 2026):
        # 30 minutes on Saturday, 210 on Monday morning → Monday 12:00 in Hanoi = 05:00 UTC.
        (hanoi(2026, 3, 7, 17), "America/New_York", hanoi(2026, 3, 9, 12), "1:00 AM EDT"),
        # The same before they fall back (Sunday November 1, 2026): the customer wrote in PDT
        # and is promised a time in PST.
        (hanoi(2026, 10, 31, 17), "America/Los_Angeles", hanoi(2026, 11, 2, 12), "9:00 PM PST"),
    ],
)
def test_a_clock_across_a_us_daylight_saving_change(received, zone, due, promised):
    customer = CustomerFactory(email="dst@mail.example", first_name="Dee", timezone=zone)
    ticket = make_ticket(at=received, requester="dst@mail.example")
    Ticket.objects.filter(pk=ticket.pk).update(customer=customer)
    ticket.refresh_from_db()

    sla = do_refresh_sla(ticket, now=received)
    message = do_acknowledge(ticket, now=received)

    assert sla.first_response_due_at == due
    assert promised in message.text
    assert customer_time(due, zone).endswith(promised)


def test_default_customer_zone_is_new_york():
    at = hanoi(2026, 1, 5, 9, 0)
    ticket = make_ticket(at=at)
    sla = do_refresh_sla(ticket, now=at)
    assert "EST" in acknowledgement_text(ticket, sla.first_response_due_at)
    assert Message.objects.filter(ticket=ticket, is_automatic=True).count() == 0
