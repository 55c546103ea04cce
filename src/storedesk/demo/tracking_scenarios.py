"""The demo's delay notices: the simulated store's parcels in trouble (no carrier scan for
longer than their carrier's usual gap, or a carrier exception) are recorded as shipping
problems on the day they would have been found. Problems of the last week are told to their
customers with the seeded templates; those of the seven weeks before are recorded without a
notice, so the desk's "Delay notices" page compares the where-is-my-order tickets the demo's
customers opened after each (the weeks without notices are the baseline)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max

from storedesk.commerce.models import Shipment
from storedesk.commerce.services.tracking import (
    FINAL_STATUSES,
    stuck_thresholds,
    threshold_for,
)
from storedesk.demo.scenarios import DemoContext, Scenario, scenario
from storedesk.desk.replies import do_install_default_templates
from storedesk.experience.models import ShippingProblem
from storedesk.experience.services import do_record_shipping_problem

WEEK = timedelta(days=7)
BASELINE_WEEKS = 7  # before the last week: problems recorded, nobody told
# Calendar days after the last scan at which a stuck parcel is found (business days + weekend).
WEEKEND_SLACK = timedelta(days=2)


@scenario("tracking_notices", order=300)
class TrackingNoticeScenario(Scenario):
    """After every order and ticket is written: the parcels in trouble of the last eight weeks."""

    def finish(self, ctx: DemoContext) -> None:
        do_install_default_templates()  # the notice templates, on a desk installed before them
        thresholds = stuck_thresholds()
        parcels = (
            Shipment.objects.filter(
                order__store=ctx.store, shipped_at__gte=ctx.now - (BASELINE_WEEKS + 5) * WEEK
            )
            .exclude(tracking_number="")
            .annotate(last_scan=Max("events__happened_at"))
            .order_by("pk")
            .values_list("pk", "status", "carrier", "service", "shipped_at", "last_scan")
        )
        for pk, status, carrier, service, shipped_at, last_scan in parcels:
            seen = last_scan or shipped_at
            if status in (Shipment.Status.EXCEPTION, Shipment.Status.FAILURE):
                kind, found_at = ShippingProblem.Kind.EXCEPTION, seen
            elif status not in FINAL_STATUSES:
                days = threshold_for(thresholds, carrier, service)
                kind, found_at = (
                    ShippingProblem.Kind.STUCK,
                    seen + timedelta(days=days) + WEEKEND_SLACK,
                )
            else:
                continue
            if not ctx.now - (BASELINE_WEEKS + 1) * WEEK <= found_at <= ctx.now:
                continue
            notify = found_at >= ctx.now - WEEK
            problem = do_record_shipping_problem(pk, kind, now=found_at, notify=notify)
            if problem is not None:
                ctx.count(
                    "tracking:notices_sent"
                    if problem.notified_at
                    else "tracking:problems_unnotified"
                )

    def reset(self, store) -> None:
        ShippingProblem.objects.filter(order__store=store).delete()
