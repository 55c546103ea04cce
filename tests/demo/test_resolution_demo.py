"""The resolutions part of the demo: made through the real request path, so the approvals
queue, the care budget and the refusal reasons have rows on a new demo."""

from io import StringIO

import pytest
from django.core.management import call_command

from storedesk.audit.models import AuditEntry
from storedesk.demo.loader import demo_store
from storedesk.resolutions.models import Approval, CareBudget, Resolution

pytestmark = pytest.mark.django_db


def _demo(*args) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_the_demo_resolves_recent_problems_through_the_limits_and_approvals():
    out = _demo("--orders", "2500", "--months", "2")  # a window ending now: see the scenario

    store = demo_store()
    resolutions = Resolution.objects.filter(store=store)
    assert resolutions.filter(status=Resolution.Status.DONE).exists()
    # Each carries its ticket and its order, and went through the audited request path.
    assert not resolutions.filter(ticket__isnull=True).exists()
    assert AuditEntry.objects.filter(action__startswith="resolutions.").exists()
    # The agent's limits sent some to the lead; a budget is planned for the current month.
    waiting = Approval.objects.filter(store=store, status=Approval.Status.PENDING)
    assert waiting.count() == resolutions.filter(status="pending_approval").count() > 0
    assert CareBudget.objects.filter(
        store=store, month=demo_store().created_at.date().replace(day=1)
    ).exists()
    assert "resolutions:done" in out


def test_the_demo_reset_wipes_the_resolutions():
    _demo("--orders", "1500", "--months", "1")
    first = set(Resolution.objects.values_list("pk", flat=True))
    _demo("--orders", "1500", "--months", "1", "--reset")

    assert first
    assert not Resolution.objects.filter(pk__in=first).exists()
    assert not Resolution.objects.exclude(store=demo_store()).exists()


def test_a_demo_of_a_past_window_makes_no_resolutions_after_its_end():
    _demo("--orders", "1500", "--months", "1", "--end", "2026-06-30")

    assert not Resolution.objects.exists()
