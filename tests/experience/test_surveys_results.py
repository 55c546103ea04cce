"""Survey results on hand-built answers: the arithmetic (CSAT %, average, NPS, response
rate), the breakdowns, the month trend, the API and its bad dates, the pages and their query
counts, and the survey texts page."""

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_api_token
from storedesk.audit.models import AuditEntry
from storedesk.desk.models import ReplyTemplate
from storedesk.experience.models import SurveyDefinition, SurveyInvitation, SurveyResponse
from storedesk.experience.queries import results_range, survey_results
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

MARCH, APRIL = datetime(2026, 3, 10, 15, tzinfo=UTC), datetime(2026, 4, 12, 15, tzinfo=UTC)
RANGE = {"start": "2026-03-01", "end": "2026-04-30"}


def answer(kind, score, at, *, comment="", answered=True, **snapshot):
    invitation = SurveyInvitation.objects.create(
        kind=kind,
        store=StoreFactory(),
        email=f"buyer{SurveyInvitation.objects.count()}@mail.example",
        token_hash=f"{SurveyInvitation.objects.count():064d}",
        status="sent",
        created_at=at,
        sent_at=at,
        expires_at=at.replace(year=2027),
        answered_at=at if answered else None,
        **snapshot,
    )
    if answered:
        SurveyResponse.objects.create(
            invitation=invitation, kind=kind, score=score, comment=comment, created_at=at
        )
    return invitation


@pytest.fixture
def agents(make_user):
    return make_user(Role.AGENT, username="an"), make_user(Role.AGENT, username="binh")


@pytest.fixture
def answers(agents):
    an, binh = agents
    template = ReplyTemplate.objects.order_by("pk").first()
    for score in (5, 5, 4):
        answer("csat", score, MARCH, agent=an, intent="wismo", channel="email", template=template)
    answer("csat", 2, APRIL, agent=binh, intent="damaged", channel="chat", comment="Too slow")
    answer("csat", 1, APRIL, agent=binh, intent="damaged", channel="chat", resolution_kind="reship")
    for score in (10, 9, 10, 8, 7, 6, 0):
        answer("nps", score, APRIL, channel="email")
    answer("csat", 1, datetime(2025, 12, 1, tzinfo=UTC), agent=binh)  # before the range
    for _ in range(3):
        answer("csat", 0, MARCH, answered=False)  # sent, never answered
    return an, binh, template


def test_the_figures_of_the_range(answers):
    results = survey_results(results_range(RANGE["start"], RANGE["end"]))

    csat, nps = results.csat, results.nps
    assert (csat.responses, csat.average, csat.satisfied, csat.satisfied_pct) == (5, 3.4, 3, 60.0)
    assert (nps.responses, nps.promoters, nps.passives, nps.detractors) == (7, 3, 2, 2)
    assert nps.score == 14.3  # (3 − 2) / 7 = 14.29 %
    assert (results.invitations_sent, results.invitations_answered) == (15, 12)
    assert results.response_rate == 80.0


def test_the_month_trend_and_the_breakdowns(answers):
    an, binh, template = answers
    results = survey_results(results_range(RANGE["start"], RANGE["end"]))

    months = {row.month: row for row in results.months}
    assert sorted(months) == [date(2026, 3, 1), date(2026, 4, 1)]
    assert (months[date(2026, 3, 1)].csat.responses, months[date(2026, 3, 1)].csat.average) == (
        3,
        4.67,
    )
    assert months[date(2026, 4, 1)].nps.score == 14.3
    by_agent = {row.label: row.csat for row in results.breakdowns["agent"]}
    assert {name: (c.responses, c.average, c.satisfied_pct) for name, c in by_agent.items()} == {
        an.display_name: (3, 4.67, 100.0),
        binh.display_name: (2, 1.5, 0.0),
    }
    by_channel = {row.key: row.csat.responses for row in results.breakdowns["channel"]}
    assert by_channel == {"email": 3, "chat": 2}
    by_template = {row.label: row.csat.responses for row in results.breakdowns["template"]}
    assert by_template == {template.name: 3, "—": 2}
    by_resolution = {row.key: row.csat.responses for row in results.breakdowns["resolution_kind"]}
    assert by_resolution == {"": 4, "reship": 1}


def test_an_empty_range_has_no_figures_rather_than_zeroes(db):
    results = survey_results(results_range("2020-01-01", "2020-01-31"))

    assert results.csat.average is None
    assert results.csat.satisfied_pct is None
    assert results.nps.score is None
    assert results.response_rate is None


@pytest.fixture
def lead_client(make_user):
    client = Client()
    client.force_login(make_user(Role.LEAD, username="lead"))
    return client


def test_the_api_answers_the_same_figures(lead_client, answers):
    response = lead_client.get("/api/v1/surveys/results", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert body["csat"] == {"responses": 5, "average": 3.4, "satisfied_pct": 60.0}
    assert body["nps"] == {
        "responses": 7,
        "score": 14.3,
        "promoters": 3,
        "passives": 2,
        "detractors": 2,
    }
    assert body["response_rate"] == 80.0
    assert (body["start"], body["end"]) == ("2026-03-01", "2026-04-30")
    assert set(body["breakdowns"]) == {"agent", "intent", "channel", "template", "resolution_kind"}
    assert [row["csat"]["responses"] for row in body["breakdowns"]["intent"]] == [3, 2]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": "2026-13-45"}, "validation_error"),
        ({"start": "yesterday"}, "validation_error"),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "invalid_range"),
        ({"start": "2020-01-01", "end": "2026-04-01"}, "invalid_range"),
    ],
    ids=["impossible-date", "words", "backwards", "too-long"],
)
def test_bad_dates_get_the_422_error_shape(lead_client, query, code):
    response = lead_client.get("/api/v1/surveys/results", query)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}


def test_agents_may_not_read_the_results(agent_client):
    assert agent_client.get("/api/v1/surveys/results").status_code == 403
    assert agent_client.get("/surveys/").status_code == 403


def test_the_results_page_shows_the_figures_and_the_comments(lead_client, answers):
    response = lead_client.get("/surveys/", {"from": RANGE["start"], "to": RANGE["end"]})

    assert response.status_code == 200
    assert 'data-testid="csat-satisfied">60.0%<' in response.text
    assert 'data-testid="nps-score">14.3<' in response.text
    assert 'data-testid="response-rate">80.0%<' in response.text
    assert "Too slow" in response.text


def test_a_bad_date_on_the_page_is_a_clear_message(lead_client):
    response = lead_client.get("/surveys/", {"from": "soon"})

    assert response.status_code == 400
    assert "is not a date" in response.text


@pytest.mark.parametrize("count", [1, 30])
def test_the_results_page_query_count_does_not_grow_with_answers(
    lead_client, make_user, count, django_assert_num_queries
):
    for n in range(count):
        agent = make_user(Role.AGENT, username=f"agent{n}")
        answer("csat", 1 + n % 5, MARCH, agent=agent, intent="wismo", comment=f"Comment {n}")
        answer("nps", n % 11, APRIL, comment=f"Why {n}")
    url = f"/surveys/?from={RANGE['start']}&to={RANGE['end']}"
    lead_client.get(url)

    with django_assert_num_queries(QUERIES_OF_THE_RESULTS_PAGE):
        response = lead_client.get(url)

    assert response.status_code == 200
    assert f"Why {count - 1}" in response.text  # the newest comment first


# session, user, permissions, team zone; figures, sent, months; five breakdowns and two label
# lookups; the comments page and its count.
QUERIES_OF_THE_RESULTS_PAGE = 16


def test_a_lead_edits_a_survey_text_as_a_new_version(lead_client):
    page = lead_client.get("/surveys/texts/csat/")
    assert page.status_code == 200
    definition = SurveyDefinition.objects.get(kind="csat")
    data = {
        "subject": "Quick question about {ticket}",
        "intro": definition.intro,
        "question": definition.question,
        "follow_up_question": definition.follow_up_question,
        "thank_you": definition.thank_you,
    }

    saved = lead_client.post("/surveys/texts/csat/", data)

    assert saved.status_code == 200
    definition.refresh_from_db()
    assert (definition.subject, definition.version) == ("Quick question about {ticket}", 2)
    assert definition.updated_by.username == "lead"
    entry = AuditEntry.objects.get(action="experience.survey_texts_changed")
    assert entry.changes["subject"]["new"] == "Quick question about {ticket}"


def test_an_empty_question_is_refused_and_nothing_changes(lead_client):
    lead_client.get("/surveys/texts/nps/")

    response = lead_client.post("/surveys/texts/nps/", {"subject": "Hi", "question": ""})

    assert response.status_code == 400
    assert SurveyDefinition.objects.get(kind="nps").version == 1


def test_an_unknown_survey_kind_is_not_found(lead_client):
    assert lead_client.get("/surveys/texts/ces/").status_code == 404


AUTH = 3  # token and user, user permissions, group permissions
# the team's zone; figures, sent, months; five breakdowns and the agent and template labels
API_QUERIES = 11


@pytest.mark.parametrize("count", [1, 20])
def test_the_api_costs_a_fixed_number_of_queries(make_user, count, django_assert_num_queries):
    template = ReplyTemplate.objects.order_by("pk").first()
    for n in range(count):
        agent = make_user(Role.AGENT, username=f"agent{n}")
        answer("csat", 1 + n % 5, MARCH, agent=agent, template=template, intent="wismo")
        answer("nps", n % 11, APRIL)
    _token, raw_key = do_create_api_token(make_user(Role.LEAD, username="lead"), name="reports")
    client = Client(headers={"Authorization": f"Bearer {raw_key}"})
    client.get("/api/v1/surveys/results", RANGE)  # the token's first use is recorded once

    with django_assert_num_queries(AUTH + API_QUERIES):
        response = client.get("/api/v1/surveys/results", RANGE)

    assert response.status_code == 200
    assert response.json()["csat"]["responses"] == count
