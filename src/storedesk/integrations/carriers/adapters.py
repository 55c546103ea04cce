"""One interface for carrier-tracking services; EasyPost is the first implementation.

An adapter creates a tracker for a tracking number, checks a webhook's signature and turns the
service's tracker object into a `commerce.tracking.TrackingUpdate`. Nothing else in the desk
imports a carrier SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storedesk.commerce.services.tracking import TrackingUpdate


@dataclass(frozen=True)
class TrackerCreated:
    tracker_id: str
    tracking_code: str
    update: TrackingUpdate


class TrackingRefused(Exception):
    """The service will not track this number (422): not retried."""


class TrackingUnavailable(Exception):
    """429/5xx/network: try again later."""


class TrackingNotAuthorised(Exception):
    """401/403: the API key is revoked; the connection is broken."""


class CarrierTracking(Protocol):
    def create_tracker(self, tracking_code: str, carrier: str = "") -> TrackerCreated: ...

    def verify_webhook(self, body: bytes, headers) -> dict: ...

    def tracking_update(self, tracker: dict) -> TrackingUpdate: ...
