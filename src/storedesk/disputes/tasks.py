"""Disputes' background work: the evidence pack assembled when a dispute opens (from the
outbox event), deadline reminders on the scheduler, the early fraud warning policy."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.events import handles
from storedesk.core.scheduler import periodic
from storedesk.core.tasks import enqueue_on_commit
from storedesk.disputes.models import Dispute, EvidencePack
from storedesk.disputes.services import (
    do_act_on_early_fraud_warning,
    do_assemble_pack,
    do_send_reminders,
)

REMINDER_SWEEP_EVERY = timedelta(minutes=15)


@task()
def assemble_pack(dispute_id: int) -> str:
    """Idempotent: a second run refreshes the pack and keeps the specialist's edits."""
    if not Dispute.objects.filter(pk=dispute_id).exists():
        return "no such dispute"
    pack = do_assemble_pack(dispute_id, actor="evidence-assembler")
    return f"{pack.completeness}% complete"


@handles("dispute_opened")
def _assemble_on_open(event) -> None:
    dispute_id = event.payload.get("dispute_id")
    if dispute_id and not EvidencePack.objects.filter(dispute_id=dispute_id).exists():
        enqueue_on_commit(assemble_pack, dispute_id)


@task()
def act_on_early_fraud_warning(warning_id: int) -> str:
    return do_act_on_early_fraud_warning(warning_id)


@handles("early_fraud_warning_recorded")
def _early_fraud_warning_policy(event) -> None:
    warning_id = event.payload.get("warning_id")
    if warning_id:
        enqueue_on_commit(act_on_early_fraud_warning, warning_id)


@periodic("dispute-deadline-reminders", every=REMINDER_SWEEP_EVERY)
@task()
def send_deadline_reminders() -> str:
    return f"{do_send_reminders()} reminders"
