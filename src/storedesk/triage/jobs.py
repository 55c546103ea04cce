"""Periodic jobs of triage's understanding part: retraining the intent model."""

from datetime import timedelta

from django.tasks import task

from storedesk.core.scheduler import periodic
from storedesk.triage.training import do_train_intent_model

RETRAIN_EVERY = timedelta(days=1)


@periodic("triage-model-retrain", every=RETRAIN_EVERY)
@task()
def retrain_intent_model() -> str:
    """Daily: a new model when agents labelled messages since the active one was trained
    (or when there is none); otherwise nothing to learn, nothing done."""
    from storedesk.triage.models import IntentLabel, IntentModel

    active = IntentModel.objects.filter(is_active=True).only("trained_at", "version").first()
    if active is not None:
        new_labels = IntentLabel.objects.filter(created_at__gt=active.trained_at).count()
        if not new_labels:
            return f"{active.version}: no new labels"
    report = do_train_intent_model()
    return (
        f"{report.intent_model.version}: {report.agent_labels} agent labels, {report.seconds:.1f} s"
    )


@task()
def rescore_open_tickets() -> str:
    """Re-score every open ticket with the priority weights that apply now (after a lead
    saves new ones and asks for it). Idempotent: a second run changes nothing."""
    from storedesk.triage.priority import do_rescore_open_tickets

    result = do_rescore_open_tickets()
    return (
        f"weights v{result.weights_version or 0}: {result.scored} scored, {result.changed} changed"
    )
