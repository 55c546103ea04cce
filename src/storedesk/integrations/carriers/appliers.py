"""EasyPost tracker events, applied to our shipments (run by the delivery task).

The shipment is found by its tracker id, else by tracking number within the connection's store;
an event for a parcel not stored yet is parked on its tracking number.
"""

from __future__ import annotations

import json

from storedesk.commerce.models import Shipment
from storedesk.commerce.services.tracking import do_record_tracking
from storedesk.integrations.carriers.easypost_tracking import EasyPostTracking
from storedesk.integrations.carriers.models import CarrierTracker
from storedesk.integrations.connections.services import (
    DeliveryFailed,
    DeliveryParked,
    register_applier,
)
from storedesk.integrations.connections.systems import EASYPOST

ACTOR = "easypost-webhook"
TOPICS = ("tracker.created", "tracker.updated")


def tracking_key(code: str) -> str:
    return f"tracking:{code}"


def shipment_for(store_id: int, tracker: dict) -> Shipment | None:
    link = (
        CarrierTracker.objects.filter(system=EASYPOST, tracker_id=str(tracker.get("id") or ""))
        .select_related("shipment")
        .first()
    )
    if link is not None:
        return link.shipment
    code = str(tracker.get("tracking_code") or "")
    if not code:
        return None
    return (
        Shipment.objects.filter(order__store_id=store_id, tracking_number=code)
        .order_by("-pk")
        .first()
    )


def apply(delivery, body: str) -> str:
    event = json.loads(body)
    tracker = event.get("result")
    if not isinstance(tracker, dict) or tracker.get("object") != "Tracker":
        raise DeliveryFailed("event without a Tracker result", retryable=False)
    shipment = shipment_for(delivery.connection.store_id, tracker)
    if shipment is None:
        code = str(tracker.get("tracking_code") or "")
        raise DeliveryParked(f"no shipment with tracking number {code!r} yet", tracking_key(code))
    update = EasyPostTracking("unused").tracking_update(tracker)
    recorded = do_record_tracking(shipment, update, actor=ACTOR)
    if recorded.events_added or recorded.status_changed:
        return "updated"
    return "unchanged"


register_applier(EASYPOST, TOPICS, apply)
