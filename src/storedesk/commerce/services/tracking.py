"""Carrier tracking on shipments: scans as a carrier-tracking service reports them, and what the
desk concludes from them (in transit, out for delivery, delivered with proof, exception,
returned to sender, and stuck: no new scan for N business days, per carrier and service).

`do_record_tracking` is the only writer: it adds scans not stored yet (one per time, status
and message), moves the shipment to the carrier's latest status and keeps the proof of
delivery, under the order's row lock, audited and announced (`shipment_tracking_updated`,
and `shipment_delivered` once). `tracking_states` answers for many orders in two queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.commerce.ingest import ShipmentEventIn
from storedesk.commerce.models import Shipment, ShipmentEvent, StuckThreshold
from storedesk.commerce.services.refunds import lock_order
from storedesk.core.events import record_event
from storedesk.core.safe_urls import safe_http_url

FINAL_STATUSES = frozenset({Shipment.Status.DELIVERED, Shipment.Status.RETURNED_TO_SENDER})
DEFAULT_STUCK_DAYS = 4


@dataclass(frozen=True)
class TrackingUpdate:
    """The carrier's latest word on one parcel."""

    status: str
    events: Sequence[ShipmentEventIn] = ()
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    signed_by: str = ""
    proof_of_delivery_url: str = ""
    delivery_location: str = ""
    tracking_url: str = ""
    service: str = ""


@dataclass(frozen=True)
class TrackingRecorded:
    events_added: int
    status_changed: bool


@transaction.atomic
def do_record_tracking(
    shipment: Shipment, update: TrackingUpdate, *, actor=None
) -> TrackingRecorded:
    """Store new scans and the parcel's status; a replayed update changes nothing."""
    if update.status not in Shipment.Status.values:
        raise ValueError(f"unknown shipment status {update.status!r}")
    lock_order(shipment.order_id)
    shipment = Shipment.objects.get(pk=shipment.pk)
    known = set(
        ShipmentEvent.objects.filter(shipment=shipment).values_list(
            "happened_at", "status", "message"
        )
    )
    fresh = []
    for scan in update.events:
        key = (scan.happened_at, scan.status, scan.message[:255])
        if key in known or scan.status not in Shipment.Status.values:
            continue
        known.add(key)
        fresh.append(
            ShipmentEvent(
                shipment=shipment,
                happened_at=scan.happened_at,
                status=scan.status,
                message=scan.message[:255],
                city=scan.city[:100],
                province=scan.province[:100],
                country=scan.country[:2],
                zip=scan.zip[:16],
            )
        )
    ShipmentEvent.objects.bulk_create(fresh)
    before = shipment.status
    changes = {}
    values = {
        "status": update.status,
        "estimated_delivery_at": update.estimated_delivery_at or shipment.estimated_delivery_at,
        "delivered_at": update.delivered_at or shipment.delivered_at,
        "signed_by": (update.signed_by or shipment.signed_by)[:120],
        "proof_of_delivery_url": (
            safe_http_url(update.proof_of_delivery_url) or shipment.proof_of_delivery_url
        )[:400],
        "delivery_location": (update.delivery_location or shipment.delivery_location)[:120],
        "tracking_url": (safe_http_url(update.tracking_url) or shipment.tracking_url)[:400],
        "service": (shipment.service or update.service)[:60],
    }
    for name, value in values.items():
        if getattr(shipment, name) != value:
            changes[name] = [getattr(shipment, name), value]
            setattr(shipment, name, value)
    if changes:
        shipment.save(update_fields=list(changes))
    if changes or fresh:
        record_audit(
            actor=actor,
            action="shipment.tracking_updated",
            obj=shipment,
            changes={**{k: v for k, v in changes.items() if k == "status"}, "scans": len(fresh)},
        )
        record_event(
            "shipment_tracking_updated",
            order_id=shipment.order_id,
            shipment_id=shipment.pk,
            status=shipment.status,
        )
    if before != Shipment.Status.DELIVERED and shipment.status == Shipment.Status.DELIVERED:
        record_event(
            "shipment_delivered",
            order_id=shipment.order_id,
            shipment_id=shipment.pk,
            signed_by=shipment.signed_by,
        )
    return TrackingRecorded(len(fresh), "status" in changes)


# --- what the scans mean -----------------------------------------------------------------------


@lru_cache(maxsize=16)
def _us_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year))


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole carrier business days (Mon–Fri, US federal holidays off) after `start` up to
    `end`: a scan on Friday evening is not stuck on Monday."""
    if end <= start:
        return 0
    days, day = 0, start.date() + timedelta(days=1)
    last = end.date()
    while day <= last:
        if day.weekday() < 5 and day not in _us_holidays(day.year):  # noqa: PLR2004
            days += 1
        day += timedelta(days=1)
    return days


def stuck_thresholds() -> dict[tuple[str, str], int]:
    return {
        (row.carrier.lower(), row.service.lower()): row.business_days
        for row in StuckThreshold.objects.all()
    }


def threshold_for(thresholds: dict[tuple[str, str], int], carrier: str, service: str) -> int:
    carrier, service = (carrier or "").lower(), (service or "").lower()
    for key in ((carrier, service), (carrier, ""), ("", service), ("", "")):
        if key in thresholds:
            return thresholds[key]
    return DEFAULT_STUCK_DAYS


@dataclass(frozen=True)
class TrackingState:
    """What the desk knows of an order's parcels."""

    stuck: bool = False
    delivered: bool = False
    exception: bool = False
    returned: bool = False
    last_scan_at: datetime | None = None


def tracking_states(
    order_ids: Iterable[int], now: datetime | None = None
) -> dict[int, TrackingState]:
    """Per order: stuck (a parcel not delivered with no scan for its threshold), delivered
    (every parcel delivered), exception, returned. Orders without parcels are absent."""
    now = now or timezone.now()
    rows = list(
        Shipment.objects.filter(order_id__in=list(order_ids))
        .exclude(tracking_number="")
        .annotate(last_scan=Max("events__happened_at"))
        .values_list("order_id", "carrier", "service", "status", "shipped_at", "last_scan")
    )
    if not rows:
        return {}
    thresholds = stuck_thresholds()
    by_order = defaultdict(list)
    for row in rows:
        by_order[row[0]].append(row)
    states = {}
    for order_id, parcels in by_order.items():
        stuck = False
        last_seen = None
        for _order, carrier, service, status, shipped_at, last_scan in parcels:
            seen = last_scan or shipped_at
            if seen and (last_seen is None or seen > last_seen):
                last_seen = seen
            if status in FINAL_STATUSES or seen is None:
                continue
            if business_days_between(seen, now) > threshold_for(thresholds, carrier, service):
                stuck = True
        statuses = {parcel[3] for parcel in parcels}
        states[order_id] = TrackingState(
            stuck=stuck,
            delivered=statuses == {Shipment.Status.DELIVERED},
            exception=bool(statuses & {Shipment.Status.EXCEPTION, Shipment.Status.FAILURE}),
            returned=Shipment.Status.RETURNED_TO_SENDER in statuses,
            last_scan_at=last_seen,
        )
    return states
