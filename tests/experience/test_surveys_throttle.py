"""At most one survey (CSAT or NPS) per address in 30 days, and the periodic NPS survey to
recent buyers."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from storedesk.desk.models import Ticket
from storedesk.desk.services import do_change_status
from storedesk.experience.models import SurveyInvitation, SurveyKind, SurveyRecipient
from storedesk.experience.services import (
    do_invite_after_solve,
    do_invite_recent_buyers,
    send_survey_invitation,
)
from storedesk.experience.tasks import invite_recent_buyers, retry_survey_mail
from tests.concurrency import run_at_once
from tests.desk.builders import make_ticket
from tests.experience.conftest import solve
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _solved(email: str):
    return solve(make_ticket(requester=email))


def test_a_second_solved_ticket_within_30_days_sends_no_second_survey(
    customer, django_capture_on_commit_callbacks
):
    first, second = _solved(customer.email), _solved(customer.email)
    assert do_invite_after_solve(first.pk) is not None

    assert do_invite_after_solve(second.pk) is None
    assert SurveyInvitation.objects.count() == 1


def test_after_30_days_the_customer_may_be_asked_again(customer):
    first, second = _solved(customer.email), _solved(customer.email)
    now = timezone.now()
    assert do_invite_after_solve(first.pk, now=now - timedelta(days=31)) is not None

    assert do_invite_after_solve(second.pk, now=now) is not None
    assert SurveyInvitation.objects.count() == 2


def test_the_throttle_is_per_address_and_case_blind(customer):
    assert do_invite_after_solve(_solved(customer.email).pk) is not None

    assert do_invite_after_solve(_solved("OLIVIA@mail.example").pk) is None
    assert do_invite_after_solve(_solved("noah@mail.example").pk) is not None


def test_a_ticket_reopened_before_the_task_runs_is_not_surveyed(customer):
    ticket = _solved(customer.email)
    do_change_status(ticket, "open", actor=None)

    assert do_invite_after_solve(ticket.pk) is None
    assert not SurveyRecipient.objects.filter(last_invited_at__isnull=False).exists()


def test_nps_goes_to_recent_buyers_once_and_not_to_a_customer_just_surveyed(customer):
    now = timezone.now()
    recent = OrderFactory(created_at=now - timedelta(days=20), email="ava@mail.example")
    OrderFactory(created_at=now - timedelta(days=20), email="ava@mail.example")  # same buyer
    OrderFactory(created_at=now - timedelta(days=3), email="mia@mail.example")  # too recent
    OrderFactory(created_at=now - timedelta(days=90), email="zoe@mail.example")  # too old
    OrderFactory(
        created_at=now - timedelta(days=20), email="eve@mail.example", cancelled_at=now
    )  # cancelled
    OrderFactory(created_at=now - timedelta(days=20), email=customer.email)
    assert do_invite_after_solve(_solved(customer.email).pk, now=now - timedelta(days=5))

    created = do_invite_recent_buyers(now=now)
    again = do_invite_recent_buyers(now=now + timedelta(hours=1))

    invitations = SurveyInvitation.objects.filter(kind=SurveyKind.NPS)
    assert [invitation.email for invitation in invitations] == ["ava@mail.example"]
    assert created == [invitations.get().pk]
    assert again == []
    assert invitations.get().order_id in {recent.pk, recent.pk + 1}


def test_the_daily_nps_job_sends_the_email_with_eleven_links(customer):
    OrderFactory(created_at=timezone.now() - timedelta(days=20), email="ava@mail.example")
    mail.outbox.clear()

    assert invite_recent_buyers.call() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "A quick question about Tiny Pearl Jewelry"
    assert [f"?score={n}" in message.body for n in range(11)] == [True] * 11
    assert SurveyInvitation.objects.get().status == "sent"


def test_a_mail_server_failure_is_kept_on_the_invitation(customer, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.experience.failing_mailer.Backend"}}
    invitation = do_invite_after_solve(_solved(customer.email).pk)

    assert send_survey_invitation(invitation.pk) == "failed"
    assert send_survey_invitation(invitation.pk) == "skipped"  # at most once: no blind resend
    invitation.refresh_from_db()
    assert invitation.status == "failed"
    assert "refused" in invitation.error
    assert invitation.sent_at is None


@pytest.mark.django_db(transaction=True)
def test_two_solves_at_the_same_moment_send_one_survey(customer):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    # Solved without the outbox (its handler would survey the first at once on commit).
    first, second = (make_ticket(requester=customer.email) for _ in range(2))
    Ticket.objects.update(status=Ticket.Status.SOLVED)

    results = run_at_once(
        lambda: do_invite_after_solve(first.pk), lambda: do_invite_after_solve(second.pk)
    )

    assert sum(isinstance(result, SurveyInvitation) for result in results) == 1
    assert SurveyInvitation.objects.count() == 1


def test_a_buyer_asked_for_nps_two_months_ago_is_not_asked_again_yet():
    now = timezone.now()
    OrderFactory(created_at=now - timedelta(days=80), email="ava@mail.example")
    assert len(do_invite_recent_buyers(now=now - timedelta(days=60))) == 1
    OrderFactory(created_at=now - timedelta(days=20), email="ava@mail.example")

    assert do_invite_recent_buyers(now=now) == []
    assert SurveyInvitation.objects.filter(kind=SurveyKind.NPS).count() == 1


def test_a_transient_mail_failure_is_sent_by_the_retry_sweep_later(customer, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.experience.failing_mailer.Disconnecting"}}
    invitation = do_invite_after_solve(_solved(customer.email).pk)
    assert send_survey_invitation(invitation.pk) == "retry"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.sent_at) == ("queued", 1, None)
    assert "Connection unexpectedly closed" in invitation.error
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox.clear()

    assert retry_survey_mail.call() == 0  # not yet: the sweep waits a few minutes
    SurveyInvitation.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    assert retry_survey_mail.call() == 1

    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == ("sent", 2)


def test_transient_failures_stop_after_three_attempts(customer, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.experience.failing_mailer.Disconnecting"}}
    invitation = do_invite_after_solve(_solved(customer.email).pk)

    outcomes = [send_survey_invitation(invitation.pk) for _ in range(4)]

    assert outcomes == ["retry", "retry", "failed", "skipped"]
