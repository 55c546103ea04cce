"""Background work of the experience app: the outbox events it handles, by feature."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.scheduler import periodic
from storedesk.core.tasks import enqueue_on_commit
from storedesk.experience.services import (
    do_invite_after_solve,
    do_invite_recent_buyers,
    do_record_contact_after_help,
    send_survey_invitation,
)
from storedesk.experience.services.surveys import queued_invitations

# --- help center


@handles("contact_after_help")
def count_contact_after_help(event) -> None:
    """A contact form or chat opened by a visitor who had been shown help articles: the
    deflection report counts it as not deflected (recorded once per ticket)."""
    payload = event.payload
    do_record_contact_after_help(
        help_session=payload.get("help_session", ""),
        ticket_id=payload["ticket_id"],
        channel=payload.get("channel", ""),
        store_id=payload.get("store_id"),
    )


# --- surveys ----------------------------------------------------------------------------------


@handles("ticket_status_changed")
def survey_solved_ticket(event) -> None:
    """A ticket just solved gets its CSAT survey, from a task after commit."""
    if event.payload.get("new") == "solved":
        enqueue_on_commit(invite_after_solve, event.payload["ticket_id"])


@task()
def invite_after_solve(ticket_id: int) -> str:
    invitation = do_invite_after_solve(ticket_id)
    if invitation is None:
        return "not invited"
    return send_survey_invitation(invitation.pk)


@task()
def send_survey(invitation_id: int) -> str:
    return send_survey_invitation(invitation_id)


@periodic("nps-survey-invitations", every=timedelta(days=1))
@task()
def invite_recent_buyers() -> int:
    """Once a day: an NPS survey to recent buyers not surveyed in the throttle window."""
    created = do_invite_recent_buyers()
    for invitation_id in created:
        send_survey.enqueue(invitation_id)
    return len(created)


@periodic("survey-mail-retry", every=timedelta(minutes=10))
@task()
def retry_survey_mail() -> int:
    """Queued invitations whose mail failed for a moment, or whose task was lost, are sent."""
    sent = 0
    for invitation_id in queued_invitations():
        sent += send_survey_invitation(invitation_id) == "sent"
    return sent
