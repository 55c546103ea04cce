"""Periodic jobs of the risk app: the daily payment digest email, the weekly model retraining."""

from datetime import datetime, timedelta

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.tasks import task
from django.utils import timezone

from storedesk.commerce.queries import current_store
from storedesk.core.scheduler import periodic
from storedesk.risk.digest_email import do_send_digest, due_day, send_time
from storedesk.risk.model import NotEnoughLabels
from storedesk.risk.training import do_train_model

DIGEST_CHECK_EVERY = timedelta(minutes=15)
RETRAIN_EVERY = timedelta(days=7)


@periodic("risk-daily-digest", every=DIGEST_CHECK_EVERY)
@task()
def send_daily_digest() -> str:
    """Runs every quarter hour; from RISK_DIGEST_TIME (team time) on, mails the last complete
    store day to whoever has not had it. Idempotent: a second run sends nothing."""
    store = current_store()
    if store is None:
        return "no store"
    now = timezone.now()
    day = due_day(store, now)
    if day is None:
        return "not yet"
    report = do_send_digest(store, day, now=now)
    return (
        f"{day}: sent {len(report.sent)}, already sent {len(report.already_sent)}, "
        f"failed {len(report.failed)}"
    )


@periodic("risk-model-retrain", every=RETRAIN_EVERY)
@task()
def retrain_risk_model() -> str:
    """Weekly: train on the labels of the past week too; the new model replaces the active one
    only if it does at least as well on the held-out window (`risk.training.do_train_model`)."""
    return _train()


@task()
def train_risk_model(as_of: str = "", force: bool = False) -> str:
    """A model now, not at the weekly slot: the demo queues one as of its last day, so its load
    does not wait for the fit."""
    return _train(as_of=datetime.fromisoformat(as_of) if as_of else None, force=force)


def _train(**options) -> str:
    try:
        report = do_train_model(**options)
    except NotEnoughLabels as refusal:
        return str(refusal)
    return f"{report.risk_model.version}: {report.decision}; re-scored {report.rescored} orders"


@checks.register()
def check_digest_time(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        send_time()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="risk.E001")]
    return []
