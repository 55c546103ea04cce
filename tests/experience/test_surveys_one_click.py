"""The CSAT survey's one-click flow: solved → e-mail with five links → the link's page →
the score recorded once → a comment, through the real outbox, task, mail and pages."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from storedesk.audit.models import AuditEntry
from storedesk.desk.services import do_change_status
from storedesk.experience.models import (
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from storedesk.experience.queries import hash_survey_token
from tests.desk.builders import make_ticket
from tests.experience.conftest import LINK, link_path, solve, token_of

pytestmark = pytest.mark.django_db


def test_solving_a_ticket_sends_one_csat_email_with_five_one_click_links(
    customer, django_capture_on_commit_callbacks
):
    ticket = make_ticket(requester=customer.email, subject="Ring arrived bent")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["olivia@mail.example"]
    assert message.subject == f"How did we do? {ticket.token}"
    assert "Hi Olivia" in message.body
    assert sorted(int(score) for _url, score in LINK.findall(message.body)) == [1, 2, 3, 4, 5]
    html = message.alternatives[0][0]
    assert html.count("?score=") == 5
    invitation = SurveyInvitation.objects.get()
    assert (invitation.kind, invitation.ticket_id, invitation.status) == ("csat", ticket.pk, "sent")
    assert invitation.channel == "email"
    # Only the token's hash is stored: the link's token hashes to it.
    assert invitation.token_hash == hash_survey_token(token_of(message))
    assert token_of(message) not in invitation.token_hash


def test_the_link_shows_the_score_preselected_and_records_nothing_on_get(client, sent_survey):
    _invitation, message = sent_survey

    response = client.get(link_path(message, 4))

    assert response.status_code == 200
    assert 'value="4" checked' in response.text
    assert "data-autosubmit" in response.text
    assert "/static/experience/survey-answer.js" in response.text
    assert SurveyResponse.objects.count() == 0


def test_the_posted_score_is_recorded_once_and_the_first_answer_wins(client, sent_survey):
    invitation, message = sent_survey
    path = link_path(message, 5)

    first = client.post(path, {"score": "5"})
    second = client.post(path, {"score": "1"})

    assert first.status_code == 200
    assert "Thank you!" in first.text
    assert second.status_code == 200
    assert "already answered" in second.text
    answer = SurveyResponse.objects.get()
    assert (answer.invitation_id, answer.kind, answer.score) == (invitation.pk, "csat", 5)
    invitation.refresh_from_db()
    assert invitation.answered_at == answer.created_at
    assert AuditEntry.objects.filter(action="experience.survey_answered").count() == 1


def test_a_comment_after_the_score_is_kept_escaped_and_only_the_first(client, sent_survey):
    _invitation, message = sent_survey
    path = link_path(message, 4)
    client.post(path, {"score": "4"})

    client.post(path, {"comment": "Fast help! <script>alert(1)</script>"})
    again = client.post(path, {"comment": "Changed my mind"})

    answer = SurveyResponse.objects.get()
    assert answer.comment == "Fast help! <script>alert(1)</script>"
    assert answer.commented_at is not None
    assert "&lt;script&gt;" in again.text
    assert "<script>alert" not in again.text


def test_a_score_out_of_the_scale_is_refused_without_an_answer(client, sent_survey):
    _invitation, message = sent_survey
    path = link_path(message, 3)

    page = client.get(path.replace("score=3", "score=9"))
    posted = client.post(path, {"score": "9"})

    assert page.status_code == 200
    assert " checked" not in page.text  # nothing preselected: no auto-submit either
    assert "data-autosubmit" not in page.text
    assert posted.status_code == 400
    assert SurveyResponse.objects.count() == 0


def test_a_ticket_solved_again_is_not_surveyed_twice(customer, django_capture_on_commit_callbacks):
    ticket = make_ticket(requester=customer.email)
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)
    with django_capture_on_commit_callbacks(execute=True):
        do_change_status(ticket, "open", actor=None)
    mail.outbox.clear()
    # The address's throttle has passed: only the ticket's own guard stops a second survey.
    SurveyRecipient.objects.update(last_invited_at=timezone.now() - timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)

    assert SurveyInvitation.objects.filter(kind=SurveyKind.CSAT).count() == 1
    assert mail.outbox == []


def test_a_ticket_the_customer_never_wrote_on_gets_no_survey(
    customer, django_capture_on_commit_callbacks
):
    # A notice the desk sent first (a delay notice) is solved at once: nothing was asked.
    ticket = make_ticket(requester=customer.email, messages=0)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        solve(ticket)

    assert not SurveyInvitation.objects.exists()
    assert mail.outbox == []
