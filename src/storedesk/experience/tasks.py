"""Background work of the experience app: the outbox events it handles and its periodic jobs,
one section per feature."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.queueing import enqueue_on_commit
from storedesk.core.scheduler import periodic
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


# --- tracking --------------------------------------------------------------------------------


@handles("shipment_tracking_updated")
def notice_carrier_exception(event) -> None:
    """A carrier exception or failed delivery is told to the customer before they write."""
    from storedesk.experience.services.tracking import (
        EXCEPTION_STATUSES,
        do_record_shipping_problem,
    )

    if event.payload.get("status") in EXCEPTION_STATUSES and event.payload.get("shipment_id"):
        do_record_shipping_problem(event.payload["shipment_id"], "exception")


@periodic("tracking-stuck-parcels", every=timedelta(hours=1))
@task()
def notice_stuck_parcels() -> int:
    """Hourly: parcels with no carrier scan for longer than their carrier's usual gap are
    recorded once and their customers told."""
    from storedesk.experience.queries import stuck_shipments
    from storedesk.experience.services.tracking import do_record_shipping_problem

    found = stuck_shipments()
    for shipment_id, _order_id, _last_seen in found:
        do_record_shipping_problem(shipment_id, "stuck")
    return len(found)


# --- outreach -------------------------------------------------------------------------------------


@task(queue_name="mail")
def send_campaign(campaign_id: int) -> dict:
    """Send one batch at the configured pace; queue the next batch while messages remain."""
    from storedesk.experience.services import do_send_campaign_batch

    report = do_send_campaign_batch(campaign_id)
    # More to take and this batch moved: the next batch. Rows another sender holds, or an
    # outage, are left to the periodic resume (no busy loop).
    if report.queued and not report.stopped and report.sent + report.failed + report.skipped:
        send_campaign.enqueue(campaign_id)
    return {"sent": report.sent, "left": report.left, "stopped": report.stopped}


@handles("campaign_queued")
def start_sending(event) -> None:
    """A queued campaign's messages go out from the mail queue, never in the request."""
    if event.payload.get("added"):
        enqueue_on_commit(send_campaign, event.payload["campaign_id"])


@periodic("outreach-daily", every=timedelta(hours=1))
@task()
def run_due_campaigns() -> list[int]:
    """Scheduled campaigns whose day came, and today's first-order anniversaries."""
    from storedesk.experience.services import do_run_due_campaigns

    return do_run_due_campaigns()


@periodic("outreach-resume", every=timedelta(minutes=10))
@task()
def resume_campaigns() -> int:
    """Campaigns still sending after a crash or an outage pick up where they stopped."""
    from storedesk.experience.models import Campaign

    ids = list(Campaign.objects.filter(status=Campaign.Status.SENDING).values_list("pk", flat=True))
    for campaign_id in ids:
        send_campaign.enqueue(campaign_id)
    return len(ids)


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
