"""Which tracking service follows a store's parcels, and linking a shipment to its tracker."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.commerce.models import Shipment
from storedesk.commerce.services.tracking import TrackingUpdate, do_record_tracking
from storedesk.integrations.carriers.adapters import (
    TrackingNotAuthorised,
    TrackingRefused,
)
from storedesk.integrations.carriers.easypost_tracking import EasyPostTracking
from storedesk.integrations.carriers.models import CarrierTracker
from storedesk.integrations.connections.credentials import NotConnected, credentials_for
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_mark_broken
from storedesk.integrations.connections.systems import EASYPOST

FOLLOW_WITHIN = timedelta(days=14)  # older parcels are not worth a tracker any more
SWEEP_BATCH = 200


def adapter_for(store_id: int) -> tuple[Connection, EasyPostTracking] | None:
    """The store's active carrier-tracking connection and its adapter, if it has one."""
    try:
        credentials = credentials_for(store_id, EASYPOST)
    except NotConnected:
        return None
    connection = Connection.objects.get(pk=credentials.connection_id)
    return connection, adapter_of(credentials)


def adapter_of(credentials) -> EasyPostTracking:
    return EasyPostTracking(
        credentials.secrets["api_key"],
        webhook_secret=credentials.secrets.get("webhook_secret", ""),
        api_base=credentials.config.get("api_base_url", ""),
    )


@transaction.atomic
def do_link_tracker(
    shipment: Shipment, tracker_id: str, *, update: TrackingUpdate | None = None, refused: str = ""
) -> CarrierTracker | None:
    """Remember the shipment's tracker (once) and store what the service already knows."""
    try:
        with transaction.atomic():
            link = CarrierTracker.objects.create(
                shipment=shipment,
                system=EASYPOST,
                tracker_id=tracker_id,
                status=CarrierTracker.Status.REFUSED if refused else CarrierTracker.Status.ACTIVE,
                last_error=refused[:500],
            )
    except IntegrityError:
        return None  # a concurrent handler linked it first
    if update is not None:
        do_record_tracking(shipment, update, actor="easypost")
    return link


def do_follow_shipment(shipment_id: int) -> str:
    """Create the shipment's tracker once; what happened as one word.

    An outage (TrackingUnavailable) raises: the task fails and the sweep tries again. A number
    the service refuses is kept with why (not retried); a revoked key marks the connection
    broken (the team is told) and nothing is retried until it is reconnected."""
    shipment = Shipment.objects.filter(pk=shipment_id).select_related("order").first()
    if shipment is None or not shipment.tracking_number:
        return "no_tracking_number"
    if CarrierTracker.objects.filter(shipment=shipment).exists():
        return "already_followed"
    found = adapter_for(shipment.order.store_id)
    if found is None:
        return "not_connected"
    connection, adapter = found
    try:
        created = adapter.create_tracker(shipment.tracking_number, shipment.carrier)
    except TrackingNotAuthorised as error:
        do_mark_broken(connection, f"EasyPost refused the API key: {error}", actor="easypost")
        return "not_authorised"
    except TrackingRefused as error:
        do_link_tracker(shipment, "", refused=str(error))
        return "refused"
    do_link_tracker(shipment, created.tracker_id, update=created.update)
    return "followed"


def unfollowed_shipment_ids() -> list[int]:
    """Recent shipments with a tracking number and no tracker, in stores tracking parcels."""
    stores = Connection.objects.filter(system=EASYPOST, status=Connection.Status.ACTIVE).values(
        "store_id"
    )
    return list(
        Shipment.objects.filter(
            order__store_id__in=stores,
            carrier_tracker__isnull=True,
            shipped_at__gte=timezone.now() - FOLLOW_WITHIN,
        )
        .exclude(tracking_number="")
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
