"""The demo's delay notices (`storedesk demo-delay-notices`, after `storedesk demo`).

The simulated store's parcels in trouble (no carrier scan for longer than their carrier's
usual gap, or a carrier exception) are recorded as shipping problems on the day they would
have been found. Problems of the last week are told to their customers with the seeded
templates; those of the seven weeks before are recorded without a notice, so the desk's
"Delay notices" page compares the where-is-my-order tickets the demo's customers opened after
each (the weeks without notices are the baseline).

A command of its own, not a scenario of `storedesk demo`: a notice is a real outgoing reply
(its Message-ID is new each time), so it would break the demo's same-seed-same-data digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from storedesk.commerce.models import Shipment, Store
from storedesk.commerce.services.tracking import (
    FINAL_STATUSES,
    stuck_thresholds,
    threshold_for,
)
from storedesk.desk.replies import do_install_default_templates
from storedesk.experience.models import ShippingProblem
from storedesk.experience.services import do_record_shipping_problem

WEEK = timedelta(days=7)
BASELINE_WEEKS = 7  # before the last week: problems recorded, nobody told
# Calendar days after the last scan at which a stuck parcel is found (business days + weekend).
WEEKEND_SLACK = timedelta(days=2)


@dataclass
class DemoNotices:
    notified: int = 0
    unnotified: int = 0


def record_demo_notices(store: Store, now: datetime | None = None) -> DemoNotices:
    """The parcels in trouble of the last eight weeks, each recorded once (a second run finds
    them recorded); the last week's customers told."""
    now = (now or timezone.now()).replace(microsecond=0)
    do_install_default_templates()  # the notice templates, on a desk installed before them
    thresholds = stuck_thresholds()
    parcels = (
        Shipment.objects.filter(
            order__store=store, shipped_at__gte=now - (BASELINE_WEEKS + 5) * WEEK
        )
        .exclude(tracking_number="")
        .annotate(last_scan=Max("events__happened_at"))
        .order_by("pk")
        .values_list("pk", "status", "carrier", "service", "shipped_at", "last_scan")
    )
    result = DemoNotices()
    for pk, status, carrier, service, shipped_at, last_scan in parcels:
        seen = last_scan or shipped_at
        if status in (Shipment.Status.EXCEPTION, Shipment.Status.FAILURE):
            kind, found_at = ShippingProblem.Kind.EXCEPTION, seen
        elif status not in FINAL_STATUSES:
            days = threshold_for(thresholds, carrier, service)
            kind = ShippingProblem.Kind.STUCK
            found_at = seen + timedelta(days=days) + WEEKEND_SLACK
        else:
            continue
        found_at = found_at.replace(microsecond=0)
        if not now - (BASELINE_WEEKS + 1) * WEEK <= found_at <= now:
            continue
        problem = do_record_shipping_problem(pk, kind, now=found_at, notify=found_at >= now - WEEK)
        if problem is None:
            continue
        if problem.notified_at:
            result.notified += 1
        else:
            result.unnotified += 1
    return result
