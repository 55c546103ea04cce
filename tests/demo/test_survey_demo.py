"""The demo's year of CSAT and NPS answers: spread over the months, throttled like the live
surveys, believable figures, deterministic and wiped by a reset."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from storedesk.experience.models import SurveyInvitation, SurveyResponse
from storedesk.experience.queries import results_range, survey_results

pytestmark = pytest.mark.django_db
SMALL = ["--orders", "2500", "--end", "2026-06-30"]


def _demo(*args) -> None:
    call_command("demo", *args, stdout=StringIO())


def _answers() -> list[tuple]:
    return list(
        SurveyResponse.objects.order_by("invitation__token_hash").values_list(
            "kind", "score", "comment", "created_at"
        )
    )


def test_the_demo_has_a_year_of_throttled_csat_and_nps_answers_deterministically():
    _demo(*SMALL, "--seed", "5")

    results = survey_results(results_range("2025-07-01", "2026-06-30"))
    assert results.csat.responses > 50
    assert results.nps.responses > 20
    assert 55 <= results.csat.satisfied_pct <= 90
    assert -20 <= results.nps.score <= 70
    assert 15 <= results.response_rate <= 50
    assert len(results.months) >= 10
    assert {row.key for row in results.breakdowns["intent"]} >= {"order_status", "not_received"}
    assert any(row.key for row in results.breakdowns["agent"])
    assert SurveyResponse.objects.exclude(comment="").count() > 20
    sent = list(
        SurveyInvitation.objects.order_by("email", "sent_at").values_list("email", "sent_at")
    )
    for (email, at), (next_email, next_at) in zip(sent, sent[1:], strict=False):
        assert email != next_email or next_at - at >= timedelta(days=30), email
    first = _answers()

    _demo(*SMALL, "--seed", "5", "--reset")

    assert _answers() == first
