"""The SLA report: figures from the stored business-hour times, grouped, for a range of days in
the team's zone; CSV; leads only; a fixed number of queries."""

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from storedesk.accounts.roles import Role
from storedesk.desk.models import Ticket
from storedesk.triage.models import TicketSla
from storedesk.triage.queries import _at_ranks, report_range, sla_report
from storedesk.triage.services import do_backfill_resolution_times, do_refresh_sla, do_sweep_sla
from tests.desk.builders import make_ticket
from tests.triage.workflow_helpers import hanoi

pytestmark = pytest.mark.django_db

URL = "/triage/sla/report/"
JUNE = {"from": "2026-06-01", "to": "2026-06-08"}


@pytest.fixture
def lead(make_user):
    return make_user(Role.LEAD, username="lead")


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def answered(ticket: Ticket, at, *, solved=None) -> TicketSla:
    """The ticket answered at `at` (and solved at `solved`), its clock brought up to date."""
    fields = {"first_response_at": at, "last_agent_message_at": at, "status": Ticket.Status.OPEN}
    if solved:
        fields |= {"status": Ticket.Status.SOLVED, "solved_at": solved}
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return do_refresh_sla(ticket, now=solved or at)


@pytest.fixture
def june():
    """Four tickets of the first week of June 2026 (Mon 1 … Mon 8) and one of May.

    Standard policy (first response 240 business minutes, resolution 2250):
    - lunch: Mon 11:00 → answered 14:00 = 60 + 30 = 90; solved Tue 09:00 = 60 + 240 + 30 = 330
    - late: Mon 09:00 → answered 15:30 = 180 + 120 = 300 (over 240: breached at 14:30)
    - weekend: Sat 17:00 → answered Mon 09:00 = 30 (Saturday) + 0 (Sunday) + 30 = 60
    Live chat policy (first response 10): chat Tue 10:00 → answered 10:05 = 5.
    """
    late = make_ticket(at=hanoi(2026, 6, 1, 9, 0), requester="late@mail.example")
    lunch = make_ticket(at=hanoi(2026, 6, 1, 11, 0), requester="lunch@mail.example")
    for ticket in (late, lunch):
        do_refresh_sla(ticket, now=hanoi(2026, 6, 1, 11, 0))
    assert do_sweep_sla(now=hanoi(2026, 6, 1, 15, 0))["sla_breached"] == 1  # only "late"
    answered(late, hanoi(2026, 6, 1, 15, 30))
    answered(lunch, hanoi(2026, 6, 1, 14, 0), solved=hanoi(2026, 6, 2, 9, 0))
    weekend = make_ticket(at=hanoi(2026, 6, 6, 17, 0), requester="weekend@mail.example")
    answered(weekend, hanoi(2026, 6, 8, 9, 0))
    chat = make_ticket(at=hanoi(2026, 6, 2, 10, 0), requester="chat@mail.example", channel="chat")
    answered(chat, hanoi(2026, 6, 2, 10, 5))
    may = make_ticket(at=hanoi(2026, 5, 20, 10, 0), requester="may@mail.example")
    answered(may, hanoi(2026, 5, 20, 10, 1))
    return {"late": late, "lunch": lunch, "weekend": weekend, "chat": chat}


def test_stored_business_minutes_across_lunch_and_a_weekend(june):
    stored = dict(
        TicketSla.objects.values_list("ticket__requester_email", "first_response_business_minutes")
    )
    assert stored == {
        "late@mail.example": 300,
        "lunch@mail.example": 90,
        "weekend@mail.example": 60,
        "chat@mail.example": 5,
        "may@mail.example": 1,
    }
    assert TicketSla.objects.get(ticket=june["lunch"]).resolution_business_minutes == 330


def test_report_by_policy(june):
    report = sla_report(report_range(date(2026, 6, 1), date(2026, 6, 8), "Asia/Ho_Chi_Minh"))
    rows = {row.label: row for row in report.rows}
    assert set(rows) == {"Standard", "Live chat"}
    standard = rows["Standard"]
    assert (standard.tickets, standard.open, standard.responded) == (3, 2, 3)
    assert standard.first_response == {"median": 90, "p90": 300}  # of 60, 90, 300
    assert standard.first_response_within == 2
    assert standard.first_response_within_pct == 66.7
    assert (standard.resolved, standard.resolution) == (1, {"median": 330, "p90": 330})
    assert standard.resolution_within_pct == 100.0
    assert (standard.breaches, standard.breached_tickets) == (1, 1)
    chat = rows["Live chat"]
    assert (chat.tickets, chat.first_response, chat.first_response_within_pct) == (
        1,
        {"median": 5, "p90": 5},
        100.0,
    )
    total = report.total
    assert total.tickets == 4
    assert total.first_response == {"median": 75, "p90": 300}  # of 5, 60, 90, 300
    assert total.first_response_within_pct == 75.0


def test_report_by_channel_and_priority(june):
    period = report_range("2026-06-01", "2026-06-08", "Asia/Ho_Chi_Minh")
    by_channel = {row.key: row.tickets for row in sla_report(period, "channel").rows}
    assert by_channel == {"chat": 1, "email": 3}
    by_priority = sla_report(period, "priority").rows
    assert sum(row.tickets for row in by_priority) == 4


def test_days_are_the_team_zones():
    # 00:30 on June 1 in Hanoi is still May 31 in UTC; 23:59 on May 31 in Hanoi is not June.
    make_ticket(at=datetime(2026, 5, 31, 17, 30, tzinfo=UTC), requester="early@mail.example")
    make_ticket(at=datetime(2026, 5, 31, 16, 59, tzinfo=UTC), requester="before@mail.example")
    period = report_range("2026-06-01", "2026-06-01", "Asia/Ho_Chi_Minh")
    assert sla_report(period).total.tickets == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "June"}, "“June” is not a date for from; write it as YYYY-MM-DD."),
        ({"from": "2026-06-09", "to": "2026-06-01"}, "The range starts after it ends."),
        ({"from": "2024-01-01", "to": "2026-06-01"}, "A report covers at most 366 days."),
        ({"group": "mood"}, "Group by policy, priority or channel."),
    ],
)
def test_bad_input_is_a_clear_400(lead_client, query, message):
    response = lead_client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_page_shows_the_figures_and_pages_the_tickets(lead_client, june):
    response = lead_client.get(URL, JUNE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-group="Standard"' in page
    assert "66.7 %" in page
    assert june["weekend"].token in page
    assert "may@mail.example" not in page


def test_csv_download(lead_client, june):
    response = lead_client.get(URL, JUNE | {"format": "csv", "group": "channel"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:7] == [
        "channel",
        "tickets",
        "open",
        "responded",
        "first_response_median_business_min",
        "first_response_p90_business_min",
        "first_response_within_target_pct",
    ]
    assert rows[1][:7] == ["Chat", "1", "1", "1", "5", "5", "100"]
    assert rows[2][:7] == ["Email", "3", "2", "3", "90", "300", "66.7"]
    assert rows[3][0] == "All tickets"


def test_tickets_csv_streams_every_ticket(lead_client, june):
    response = lead_client.get(URL, JUNE | {"format": "csv", "rows": "tickets"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 4
    weekend = next(row for row in rows if row[0] == str(june["weekend"].number))
    assert weekend[1] == "2026-06-06 17:00"
    assert weekend[6] == "60"


@pytest.mark.parametrize(
    ("role", "status"), [(Role.AGENT, 403), (Role.LEAD, 200), (Role.ADMIN, 200)]
)
def test_the_report_is_for_leads_and_admins(client, make_user, role, status):
    client.force_login(make_user(role, username=f"u-{role}"))
    assert client.get(URL).status_code == status
    assert client.get(URL, {"format": "csv"}).status_code == status


def test_leads_see_the_report_in_the_navigation(client, make_user):
    client.force_login(make_user(Role.LEAD, username="a-lead"))
    assert 'data-testid="nav-sla-report"' in client.get("/desk/").content.decode()
    client.force_login(make_user(Role.AGENT, username="an-agent"))
    assert 'data-testid="nav-sla-report"' not in client.get("/desk/").content.decode()


def test_the_report_speaks_the_leads_language(client, make_user):
    client.force_login(make_user(Role.LEAD, username="lan", language="vi"))
    page = client.get(URL).content.decode()
    assert "Chính sách SLA" in page  # the grouping's label, "SLA policy"
    assert "SLA policy" not in page


@pytest.mark.parametrize("extra", [0, 9])
def test_the_page_costs_a_fixed_number_of_queries(
    lead_client, june, extra, django_assert_num_queries
):
    for n in range(extra):
        ticket = make_ticket(at=hanoi(2026, 6, 3, 9, n), requester=f"more{n}@mail.example")
        answered(ticket, hanoi(2026, 6, 3, 10, n))
    lead_client.get(URL, JUNE)  # warm the session
    # session, user, user and group permissions, default calendar, counts, two percentile
    # windows, page count, page rows
    with django_assert_num_queries(10):
        response = lead_client.get(URL, JUNE)
    assert response.status_code == 200


def test_backfill_stores_resolution_times_of_older_clocks(june):
    lunch = TicketSla.objects.get(ticket=june["lunch"])
    TicketSla.objects.filter(pk=lunch.pk).update(resolution_business_minutes=None)
    assert do_backfill_resolution_times() == 1
    assert TicketSla.objects.get(pk=lunch.pk).resolution_business_minutes == 330
    assert do_backfill_resolution_times() == 0


def test_reopening_clears_the_resolution_time(june):
    ticket = june["lunch"]
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.OPEN, solved_at=None)
    assert do_refresh_sla(ticket, now=hanoi(2026, 6, 3, 9, 0)).resolution_business_minutes is None


@pytest.mark.parametrize(
    ("minutes", "median", "p90"),
    [
        ([7], 7, 7),
        ([10, 20], 15, 20),
        ([5, 60, 90, 300], 75, 300),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 9),
        ([30, 30, 30, 600], 30, 600),
    ],
)
def test_median_and_90th_percentile_of_a_histogram(minutes, median, p90):
    assert _at_ranks(Counter(minutes)) == {"median": median, "p90": p90}


def test_the_api_gives_the_same_figures(client, lead, june):
    client.force_login(lead)
    response = client.get("/api/v1/triage/sla-report", JUNE | {"group": "channel"})
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["time_zone"]) == (
        "2026-06-01",
        "2026-06-08",
        "Asia/Ho_Chi_Minh",
    )
    email = next(row for row in body["rows"] if row["group"] == "email")
    assert email["first_response"] == {"median": 90, "p90": 300}
    assert email["first_response_within_target_pct"] == 66.7
    assert body["total"]["tickets"] == 4


def test_the_api_refuses_a_bad_range_and_agents(client, lead, agent):
    client.force_login(lead)
    response = client.get("/api/v1/triage/sla-report", {"from": "2026-06-09", "to": "2026-06-01"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_range"
    client.force_login(agent)
    assert client.get("/api/v1/triage/sla-report").status_code == 403
