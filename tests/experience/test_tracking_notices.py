"""Problems told before they are asked: a carrier exception (the tracking event) or a stuck
parcel (the hourly sweep) sends the customer the seeded template once, on a ticket of its
own; the desk's page counts the where-is-my-order tickets the notices prevented."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storedesk.commerce.models import Shipment
from storedesk.commerce.services.tracking import TrackingUpdate, do_record_tracking
from storedesk.desk.models import Channel, Message, ReplyTemplate, Ticket
from storedesk.desk.services import do_open_ticket
from storedesk.experience.models import ShippingProblem
from storedesk.experience.queries import notice_report
from storedesk.experience.services import do_record_shipping_problem
from storedesk.experience.tasks import notice_stuck_parcels
from storedesk.triage.models import MessageAnalysis
from tests.experience.tracking_builders import tracked_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_notice_templates_are_seeded():
    names = set(ReplyTemplate.objects.values_list("name", flat=True))
    assert {"Your parcel is delayed", "A problem with your parcel at the carrier"} <= names


def test_a_carrier_exception_tells_the_customer_once(django_capture_on_commit_callbacks):
    order = tracked_order(days_ago=4)
    shipment = order.shipments.get()
    update = TrackingUpdate(status=Shipment.Status.EXCEPTION)

    with django_capture_on_commit_callbacks(execute=True):
        do_record_tracking(shipment, update)
    with django_capture_on_commit_callbacks(execute=True):  # the carrier says it again
        do_record_tracking(shipment, TrackingUpdate(status=Shipment.Status.FAILURE))

    problem = ShippingProblem.objects.get()
    assert (problem.kind, problem.order, problem.customer) == (
        "exception",
        order,
        order.customer,
    )
    assert problem.notified_at is not None
    assert problem.template_name == "A problem with your parcel at the carrier"
    ticket = problem.ticket
    assert (ticket.status, ticket.channel, ticket.requester_email) == (
        Ticket.Status.SOLVED,
        Channel.EMAIL,
        "emma.stone@mail.example",
    )
    assert list(ticket.orders.all()) == [order]
    assert ticket.subject == "An update on your order #TP10234"
    sent = Message.objects.get(ticket=ticket, kind=Message.Kind.OUTBOUND)
    assert sent.template.name == "A problem with your parcel at the carrier"
    assert "USPS reported a problem with the parcel for order #TP10234" in sent.text
    assert "/track/" in sent.text  # the signed link to the order's tracking page
    assert "[[" not in sent.text
    assert [email.to for email in mail.outbox] == [["emma.stone@mail.example"]]
    assert ticket.token in mail.outbox[0].subject


def test_a_stuck_parcel_is_found_by_the_sweep_and_told_once():
    stuck = tracked_order(days_ago=20, scans=1, eta_days=5)
    tracked_order(days_ago=3, number="#TP10301", number_key="TP10301", email="moving@mail.example")

    assert notice_stuck_parcels.call() == 1
    assert notice_stuck_parcels.call() == 0

    problem = ShippingProblem.objects.get()
    assert (problem.order, problem.kind) == (stuck, "stuck")
    sent = Message.objects.get(ticket=problem.ticket, kind=Message.Kind.OUTBOUND)
    assert sent.template.name == "Your parcel is delayed"
    assert "USPS hasn't scanned your parcel for order #TP10234" in sent.text
    assert "The last scan was: Scan 1: arrived at USPS facility (Dallas, TX)" in sent.text


def test_a_customer_who_already_wrote_gets_no_notice():
    order = tracked_order(days_ago=20, scans=1)
    do_open_ticket(channel=Channel.EMAIL, requester_email="emma.stone@mail.example", orders=[order])

    problem = do_record_shipping_problem(order.shipments.get().pk, "stuck")

    assert problem.notified_at is None
    assert problem.ticket is None
    assert problem.skipped_reason == "the customer already has an open ticket about this order"
    assert Ticket.objects.count() == 1


def test_with_notices_off_the_problem_is_recorded_for_the_baseline(settings):
    settings.TRACKING_PROACTIVE_NOTICES = False
    order = tracked_order(days_ago=20, scans=1)

    problem = do_record_shipping_problem(order.shipments.get().pk, "stuck")

    assert (problem.notified_at, problem.skipped_reason) == (None, "proactive notices are off")
    assert Ticket.objects.count() == 0


def wismo_ticket(order, at):
    """A where-is-my-order ticket the customer opened about the order at `at`."""
    ticket = do_open_ticket(
        channel=Channel.EMAIL, requester_email=order.email, orders=[order], created_at=at
    )
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.INBOUND,
        channel="email",
        text="Where is it?",
        created_at=at,
    )
    MessageAnalysis.objects.create(
        message=message, ticket=ticket, primary_intent="order_status", analysed_at=at
    )
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.SOLVED)
    return ticket


def test_the_report_compares_weeks_with_and_without_notices(settings, agent_client):
    now = timezone.now()
    problems = {}
    for n, notices_on in enumerate([False, False, False, True, True, True]):
        settings.TRACKING_PROACTIVE_NOTICES = notices_on
        order = tracked_order(
            days_ago=30,
            scans=1,
            number=f"#TP3{n}",
            number_key=f"TP3{n}",
            email=f"buyer{n}@mail.example",
        )
        detected = now - timedelta(days=21 if not notices_on else 12)
        problems[n] = do_record_shipping_problem(order.shipments.get().pk, "stuck", now=detected)
    # Without notices two of three wrote; with notices one of three did.
    wismo_ticket(problems[0].order, problems[0].detected_at + timedelta(days=2))
    wismo_ticket(problems[1].order, problems[1].detected_at + timedelta(days=1))
    wismo_ticket(problems[3].order, problems[3].detected_at + timedelta(days=3))
    # Outside the window: not caused by the problem.
    wismo_ticket(problems[4].order, problems[4].detected_at + timedelta(days=9))

    report = notice_report(now)

    assert sum(week.notified for week in report.weeks) == 3
    assert report.baseline_rate == pytest.approx(2 / 3)
    assert report.notified_rate == pytest.approx(1 / 3)
    assert report.estimated_prevented == 1  # 3 told × 2/3 expected − 1 who wrote anyway
    assert {p.pk for p in report.prevented_tickets} == {problems[4].pk, problems[5].pk}

    page = agent_client.get("/tracking/notices/")
    assert page.status_code == 200
    assert problems[5].ticket.token in page.content.decode()


def test_the_report_page_needs_a_signed_in_agent(client):
    response = client.get("/tracking/notices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _page_queries(agent_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get("/tracking/notices/").status_code == 200
    return len(queries.captured_queries)


def test_the_report_page_reads_the_same_queries_for_more_notices(agent_client):
    for n in range(2):
        order = tracked_order(
            days_ago=20,
            scans=1,
            number=f"#TP4{n}",
            number_key=f"TP4{n}",
            email=f"q{n}@mail.example",
        )
        do_record_shipping_problem(order.shipments.get().pk, "stuck")
    agent_client.get("/tracking/notices/")
    few = _page_queries(agent_client)
    for n in range(2, 8):
        order = tracked_order(
            days_ago=20,
            scans=1,
            number=f"#TP4{n}",
            number_key=f"TP4{n}",
            email=f"q{n}@mail.example",
        )
        do_record_shipping_problem(order.shipments.get().pk, "exception")

    assert _page_queries(agent_client) == few


def test_the_api_lists_shipping_problems_newest_first(agent_client):
    older = tracked_order(days_ago=20, scans=1)
    newer = tracked_order(
        days_ago=20, scans=1, number="#TP50", number_key="TP50", email="n@mail.example"
    )
    told = do_record_shipping_problem(
        older.shipments.get().pk, "stuck", now=timezone.now() - timedelta(days=1)
    )
    do_record_shipping_problem(newer.shipments.get().pk, "exception", notify=False)

    response = agent_client.get("/api/v1/tracking/shipping-problems?limit=1")
    body = response.json()

    assert response.status_code == 200
    assert [item["order_number"] for item in body["items"]] == ["#TP50"]
    assert body["items"][0]["skipped_reason"] == "proactive notices are off"
    second = agent_client.get(
        f"/api/v1/tracking/shipping-problems?limit=1&cursor={body['next_cursor']}"
    ).json()
    assert [item["ticket_number"] for item in second["items"]] == [told.ticket.number]
    assert agent_client.logout() is None
    assert agent_client.get("/api/v1/tracking/shipping-problems").status_code == 401


def _api_queries(agent_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get("/api/v1/tracking/shipping-problems").status_code == 200
    return len(queries.captured_queries)


def test_the_api_list_costs_the_same_queries_for_more_rows(agent_client):
    first = tracked_order(days_ago=20, scans=1)
    do_record_shipping_problem(first.shipments.get().pk, "stuck")
    few = _api_queries(agent_client)
    for n in range(5):
        order = tracked_order(
            days_ago=20, scans=1, number=f"#TP6{n}", number_key=f"TP6{n}", email=f"a{n}@m.example"
        )
        do_record_shipping_problem(order.shipments.get().pk, "stuck")

    assert _api_queries(agent_client) == few
