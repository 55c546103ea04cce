"""EasyPost through its official `easypost` package: trackers, webhook signatures, mapping.

EasyPost statuses (Tracker.status): unknown, pre_transit, in_transit, out_for_delivery,
delivered, available_for_pickup, return_to_sender, failure, cancelled, error; `status_detail`
says why (arrived_at_facility, weather_delay, address_not_found …).
"""

from __future__ import annotations

import easypost
from django.utils.dateparse import parse_datetime
from easypost.errors import (
    ApiError,
    ForbiddenError,
    InvalidRequestError,
    SignatureVerificationError,
    UnauthorizedError,
)
from easypost.util import validate_webhook

from storedesk.commerce.ingest import ShipmentEventIn
from storedesk.commerce.models import Shipment
from storedesk.commerce.services.tracking import TrackingUpdate
from storedesk.integrations.carriers.adapters import (
    TrackerCreated,
    TrackingNotAuthorised,
    TrackingRefused,
    TrackingUnavailable,
)

DEFAULT_API_BASE = "https://api.easypost.com/v2"
STATUSES = {
    "pre_transit": Shipment.Status.LABEL_PRINTED,
    "in_transit": Shipment.Status.IN_TRANSIT,
    "out_for_delivery": Shipment.Status.OUT_FOR_DELIVERY,
    "delivered": Shipment.Status.DELIVERED,
    "available_for_pickup": Shipment.Status.ATTEMPTED_DELIVERY,
    "return_to_sender": Shipment.Status.RETURNED_TO_SENDER,
    "failure": Shipment.Status.FAILURE,
    "cancelled": Shipment.Status.EXCEPTION,
    "error": Shipment.Status.EXCEPTION,
}
# status_detail values that make an in-transit parcel an exception the team should see.
EXCEPTION_DETAILS = frozenset(
    {
        "address_not_found",
        "damaged",
        "delayed",
        "held",
        "incorrect_address",
        "lost",
        "weather_delay",
        "delivery_exception",
    }
)


class InvalidSignature(Exception):
    pass


def _when(value):
    parsed = parse_datetime(str(value or ""))
    return parsed if parsed and parsed.tzinfo else None


def status_of(status: str, detail: str = "") -> str | None:
    mapped = STATUSES.get(status)
    if mapped == Shipment.Status.IN_TRANSIT and detail in EXCEPTION_DETAILS:
        return Shipment.Status.EXCEPTION
    return mapped


class EasyPostTracking:
    def __init__(self, api_key: str, webhook_secret: str = "", api_base: str = ""):
        self.client = easypost.EasyPostClient(api_key, api_base=api_base or DEFAULT_API_BASE)
        self.webhook_secret = webhook_secret

    def create_tracker(self, tracking_code: str, carrier: str = "") -> TrackerCreated:
        params = {"tracking_code": tracking_code}
        if carrier:
            params["carrier"] = carrier
        try:
            tracker = self.client.tracker.create(**params)
        except (UnauthorizedError, ForbiddenError) as error:
            raise TrackingNotAuthorised(str(error)) from None
        except InvalidRequestError as error:
            raise TrackingRefused(str(error)) from None
        except ApiError as error:  # 404, 429, 5xx, timeouts, connection errors
            if getattr(error, "http_status", None) == 404:  # noqa: PLR2004
                raise TrackingRefused(str(error)) from None
            raise TrackingUnavailable(str(error)) from None
        payload = tracker.to_dict()
        return TrackerCreated(
            payload["id"], payload.get("tracking_code", ""), self.tracking_update(payload)
        )

    def verify_webhook(self, body: bytes, headers) -> dict:
        """The event, once `X-Hmac-Signature` holds (the SDK's own check, NFKD secret)."""
        if not self.webhook_secret:
            raise InvalidSignature("no webhook secret")
        try:
            return validate_webhook(
                body, {"X-Hmac-Signature": headers.get("X-Hmac-Signature", "")}, self.webhook_secret
            )
        except SignatureVerificationError as error:
            raise InvalidSignature(str(error)) from None

    def tracking_update(self, tracker: dict) -> TrackingUpdate:
        events = []
        for detail in tracker.get("tracking_details") or []:
            status = status_of(
                str(detail.get("status") or ""), str(detail.get("status_detail") or "")
            )
            happened = _when(detail.get("datetime"))
            if status is None or happened is None:
                continue
            place = detail.get("tracking_location") or {}
            events.append(
                ShipmentEventIn(
                    happened_at=happened,
                    status=status,
                    message=str(detail.get("message") or detail.get("description") or ""),
                    city=str(place.get("city") or ""),
                    province=str(place.get("state") or ""),
                    country=str(place.get("country") or "")[:2],
                    zip=str(place.get("zip") or ""),
                )
            )
        status = status_of(
            str(tracker.get("status") or ""), str(tracker.get("status_detail") or "")
        )
        delivered_at = None
        if status == Shipment.Status.DELIVERED:
            delivered = [e.happened_at for e in events if e.status == Shipment.Status.DELIVERED]
            delivered_at = max(delivered) if delivered else _when(tracker.get("updated_at"))
        carrier_detail = tracker.get("carrier_detail") or {}
        return TrackingUpdate(
            status=status or Shipment.Status.CONFIRMED,
            events=tuple(events),
            estimated_delivery_at=_when(tracker.get("est_delivery_date")),
            delivered_at=delivered_at,
            signed_by=str(tracker.get("signed_by") or ""),
            proof_of_delivery_url=str(tracker.get("public_url") or "") if delivered_at else "",
            tracking_url=str(tracker.get("public_url") or ""),
            service=str(carrier_detail.get("service") or ""),
        )
