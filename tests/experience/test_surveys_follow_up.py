"""A bad score (CSAT 1–2, NPS 0–6) opens a follow-up ticket for a lead, with the score and
the comment as notes; a good one opens nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.desk.models import Message, Ticket
from storedesk.experience.models import SurveyInvitation, SurveyResponse
from storedesk.experience.services import (
    do_add_survey_comment,
    do_invite_recent_buyers,
    do_record_survey_answer,
    send_survey_invitation,
)
from tests.experience.conftest import link_path
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _notes(ticket: Ticket) -> list[str]:
    return list(
        Message.objects.filter(ticket=ticket, kind=Message.Kind.NOTE)
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_a_bad_csat_score_opens_a_follow_up_for_the_least_busy_lead(client, sent_survey, make_user):
    invitation, message = sent_survey
    busy = make_user(Role.LEAD, username="busy-lead")
    free = make_user(Role.LEAD, username="free-lead")
    Ticket.objects.filter(pk=invitation.ticket_id).update(assignee=busy, status="open")
    client.post(link_path(message, 1), {"score": "1"})
    client.post(link_path(message, 1), {"comment": "Nobody answered my question."})

    answer = SurveyResponse.objects.select_related("follow_up_ticket").get()
    follow_up = answer.follow_up_ticket
    assert follow_up is not None
    assert follow_up.follow_up_of_id == invitation.ticket_id
    assert follow_up.assignee == free
    assert follow_up.requester_email == "olivia@mail.example"
    assert follow_up.subject.startswith("Low CSAT score (1/5)")
    notes = _notes(follow_up)
    assert notes[0].startswith("The customer scored 1 on a 1–5 CSAT survey")
    assert notes[1] == "The customer's comment: Nobody answered my question."


@pytest.mark.parametrize(("score", "opens"), [(2, True), (3, False), (5, False)])
def test_only_csat_two_or_less_opens_a_follow_up(sent_survey, score, opens):
    invitation, _message = sent_survey

    answer = do_record_survey_answer(invitation, score)

    assert (answer.response.follow_up_ticket_id is not None) is opens
    assert Ticket.objects.count() == (2 if opens else 1)


@pytest.mark.parametrize(("score", "opens"), [(0, True), (6, True), (7, False), (10, False)])
def test_an_nps_detractor_opens_a_follow_up_with_the_order(score, opens, make_user):
    lead = make_user(Role.LEAD, username="lead")
    order = OrderFactory(created_at=timezone.now() - timedelta(days=20))
    [invitation_id] = do_invite_recent_buyers()
    send_survey_invitation(invitation_id)
    answer = do_record_survey_answer(
        SurveyInvitation.objects.get(pk=invitation_id), score, comment="Took 3 weeks"
    )

    follow_up = answer.response.follow_up_ticket
    assert (follow_up is not None) is opens
    if opens:
        assert follow_up.assignee == lead
        assert list(follow_up.orders.all()) == [order]
        assert "Their comment: Took 3 weeks" in _notes(follow_up)[0]


def test_a_comment_on_a_good_score_adds_no_ticket(sent_survey):
    invitation, _message = sent_survey
    answer = do_record_survey_answer(invitation, 5)

    do_add_survey_comment(answer.response, "Lovely ring, quick help")

    assert Ticket.objects.count() == 1
    assert SurveyResponse.objects.get().comment == "Lovely ring, quick help"
