"""A survey link reused, forged or expired: a clear page, and never a second answer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.experience.models import SurveyInvitation, SurveyResponse
from storedesk.experience.services import send_survey_invitation
from tests.experience.conftest import link_path, token_of

pytestmark = pytest.mark.django_db


def test_a_reused_link_shows_the_recorded_answer_and_changes_nothing(client, sent_survey):
    _invitation, message = sent_survey
    client.post(link_path(message, 2), {"score": "2", "comment": "Slow answers"})

    clicked_again = client.get(link_path(message, 5))
    posted_again = client.post(link_path(message, 5), {"score": "5"})

    for page in (clicked_again, posted_again):
        assert page.status_code == 200
        assert "You have already answered this survey" in page.text
        assert 'data-testid="survey-score">2<' in page.text
        assert "Slow answers" in page.text
    assert list(SurveyResponse.objects.values_list("score", "comment")) == [(2, "Slow answers")]


@pytest.mark.parametrize(
    "token",
    ["forged-token-that-was-never-sent", "x" * 300, "%00", "' OR 1=1 --"],
    ids=["unknown", "too-long", "nul", "sql"],
)
def test_a_forged_link_gets_a_clear_not_found_page(client, sent_survey, token):
    response = client.get(f"/s/{token}/?score=5")
    posted = client.post(f"/s/{token}/", {"score": "5"})

    assert response.status_code == 404
    assert "This survey link is not valid" in response.text
    assert posted.status_code == 404
    assert SurveyResponse.objects.count() == 0


def test_a_link_whose_mail_was_not_sent_is_not_valid(client, sent_survey):
    invitation, message = sent_survey
    SurveyInvitation.objects.filter(pk=invitation.pk).update(sent_at=None, status="failed")

    response = client.post(link_path(message, 5), {"score": "5"})

    assert response.status_code == 404
    assert SurveyResponse.objects.count() == 0


def test_an_expired_link_says_the_survey_closed_and_records_nothing(client, sent_survey):
    invitation, message = sent_survey
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    clicked = client.get(link_path(message, 5))
    posted = client.post(link_path(message, 5), {"score": "5"})

    for page in (clicked, posted):
        assert page.status_code == 410
        assert "This survey has closed" in page.text
    assert SurveyResponse.objects.count() == 0


def test_a_resent_invitation_replaces_the_token_so_the_old_link_stops_working(client, sent_survey):
    invitation, message = sent_survey
    SurveyInvitation.objects.filter(pk=invitation.pk).update(status="queued")
    assert send_survey_invitation(invitation.pk) == "sent"

    response = client.get(link_path(message, 5))

    assert response.status_code == 404
    assert SurveyInvitation.objects.get().token_hash != token_of(message)
