"""The risk part of the demo: every order scored in time order, past reviews closed from the
store's own records, the last week's reviews left for the team, never the ground truth."""

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

import storedesk.risk
from storedesk.demo.loader import demo_store
from storedesk.risk.models import OrderIdentity, OrderRisk, RiskDecision
from tests.core.test_worker import DB_TASKS

pytestmark = pytest.mark.django_db


def _demo(*args) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_every_demo_order_is_scored_and_the_last_week_waits_in_review():
    out = _demo("--orders", "1500", "--months", "1", "--end", "2026-06-30", "--train-now")

    store = demo_store()
    assert OrderRisk.objects.filter(order__store=store).count() == 1500
    assert OrderIdentity.objects.filter(store=store).count() == 1500
    in_review = OrderRisk.objects.filter(status=OrderRisk.Status.IN_REVIEW)
    assert in_review.exists()
    week_ago = datetime(2026, 7, 1, tzinfo=UTC) - timedelta(days=7)
    assert not in_review.filter(order__created_at__lt=week_ago).exists()
    closed = RiskDecision.objects.filter(details__imported=True)
    assert closed.exists()
    assert all(d.created_at.year == 2026 for d in closed)  # at simulated, not real, time
    assert "risk:scored" in out
    assert "risk:model_refused" in out  # two months of a small store: too few labels yet


def test_the_demo_reset_wipes_the_risk_rows():
    _demo("--orders", "300", "--months", "1", "--end", "2026-06-30")
    _demo("--orders", "300", "--months", "1", "--end", "2026-06-30", "--reset")

    assert OrderRisk.objects.count() == 300
    assert OrderIdentity.objects.count() == 300


def test_the_risk_package_never_reads_the_demo_ground_truth():
    package = Path(storedesk.risk.__file__).parent
    reads = re.compile(r"^\s*(from|import)\s.*(demo\.models|GroundTruth)|get_model\(.demo", re.M)
    readers = [path.name for path in package.rglob("*.py") if reads.search(path.read_text())]

    assert readers == []
    assert reads.search("from storedesk.demo.models import GroundTruth")


def test_by_default_the_demo_leaves_the_risk_model_to_the_worker_as_of_its_last_day():
    with override_settings(TASKS=DB_TASKS):
        out = _demo("--orders", "300", "--months", "1", "--end", "2026-06-30")

    (queued,) = DBTaskResult.objects.filter(status="READY")
    assert queued.task_path == "storedesk.risk.tasks.train_risk_model"
    assert queued.args_kwargs["kwargs"] == {"as_of": "2026-07-01T00:00:00+00:00", "force": True}
    assert "risk:model_training_queued" in out
    assert "risk:model_refused" not in out
