"""EasyPost: the X-Hmac-Signature vector, tracker webhooks stored once and applied as scans,
trackers created for new tracking numbers against a local server answering as EasyPost."""

import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from storedesk.commerce.ingest import ShipmentIn
from storedesk.commerce.models import Order, Shipment, ShipmentEvent
from storedesk.commerce.services import do_ingest_orders, do_record_shipment
from storedesk.integrations.carriers.easypost_tracking import EasyPostTracking, InvalidSignature
from storedesk.integrations.carriers.models import CarrierTracker
from storedesk.integrations.carriers.services import do_follow_shipment
from storedesk.integrations.connections.models import Connection, InboundDelivery
from storedesk.integrations.connections.services import do_apply_delivery, do_connect
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.shared_data import shared_json, shared_path

pytestmark = pytest.mark.django_db

URL = "/webhooks/easypost/"
SECRET = "whsec-easypost-test"


def vector():
    return shared_json("fixtures/easypost/webhook-hmac-test-vector.json")


def vector_body() -> bytes:
    path = shared_path("fixtures/easypost/" + vector()["body_file"])
    return path.read_bytes().removesuffix(b"\n")


def sign(body: bytes, secret: str = SECRET) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def event_body(**tracker_changes) -> dict:
    """EasyPost's own tracker.updated body (FedEx, tracking code "1"), changed as asked."""
    body = json.loads(vector_body())
    body["result"].update(tracker_changes)
    return body


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def easypost(store, httpserver):
    return do_connect(
        store,
        "easypost",
        config={"api_base_url": httpserver.url_for("/v2")},
        secrets={"api_key": "EZAKtest123", "webhook_secret": SECRET},
    )


@pytest.fixture
def shipment(store):
    """An order shipped with FedEx under EasyPost's fixture tracking code."""
    do_ingest_orders(store, [order_in(1, total=Decimal("89.00"))])
    order = Order.objects.get()
    Shipment.objects.filter(order=order).delete()
    return do_record_shipment(
        order,
        ShipmentIn(
            carrier="FedEx",
            tracking_number="1",
            status="in_transit",
            shipped_at=datetime(2024, 7, 31, 15, tzinfo=UTC),
        ),
    )


def post(client, payload, secret=SECRET, **headers):
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, separators=(",", ":")).encode()
    )
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Hmac-Signature": sign(body, secret), **headers},
    )


def test_easypost_s_own_vector_verifies_with_the_sdk():
    data = vector()
    adapter = EasyPostTracking("key", webhook_secret=data["webhook_secret"])
    body = vector_body()
    assert sign(body, data["webhook_secret"]) == data["expected_header_value"]
    event = adapter.verify_webhook(body, {"X-Hmac-Signature": data["expected_header_value"]})
    assert event["description"] == "tracker.updated"
    with pytest.raises(InvalidSignature):
        adapter.verify_webhook(body + b" ", {"X-Hmac-Signature": data["expected_header_value"]})
    with pytest.raises(InvalidSignature):
        adapter.verify_webhook(body, {})


def test_tracker_updated_is_stored_once_and_becomes_scans(client, easypost, shipment):
    payload = event_body()

    first = post(client, payload)
    again = post(client, payload)

    assert first.status_code == 200
    assert again.json()["duplicate"] is True
    delivery = InboundDelivery.objects.get()
    assert (delivery.topic, delivery.object_key) == ("tracker.updated", "tracking:1")
    assert do_apply_delivery(delivery.pk) == "updated"
    shipment.refresh_from_db()
    assert shipment.status == "in_transit"
    assert shipment.estimated_delivery_at == datetime(2024, 8, 5, tzinfo=UTC)
    scans = list(ShipmentEvent.objects.filter(shipment=shipment))
    assert len(scans) == len(payload["result"]["tracking_details"])
    assert (scans[0].status, scans[0].message, scans[0].zip) == (
        "label_printed",
        "Shipment information sent to FedEx",
        "32837",
    )
    assert (scans[1].city, scans[1].province, scans[1].country) == ("ORLANDO", "FL", "US")


def test_delivery_with_signature_keeps_the_proof(client, easypost, shipment):
    payload = event_body(
        status="delivered",
        status_detail="arrived_at_destination",
        signed_by="J. SMITH",
        public_url="https://track.easypost.com/djE6dHJrXzE",
    )
    payload["result"]["tracking_details"].append(
        {
            "object": "TrackingDetail",
            "message": "Delivered",
            "status": "delivered",
            "status_detail": "arrived_at_destination",
            "datetime": "2024-08-05T15:02:00Z",
            "tracking_location": {"city": "NEWARK", "state": "NJ", "country": "US", "zip": "07102"},
        }
    )
    post(client, payload)
    do_apply_delivery(InboundDelivery.objects.get().pk)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.signed_by) == ("delivered", "J. SMITH")
    assert shipment.delivered_at == datetime(2024, 8, 5, 15, 2, tzinfo=UTC)
    assert shipment.proof_of_delivery_url == "https://track.easypost.com/djE6dHJrXzE"


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("return_to_sender", "return", "returned_to_sender"),
        ("in_transit", "weather_delay", "exception"),
        ("failure", "address_not_found", "failure"),
        ("out_for_delivery", "out_for_delivery", "out_for_delivery"),
    ],
)
def test_carrier_states_map_to_shipment_states(
    client, easypost, shipment, status, detail, expected
):
    post(client, event_body(status=status, status_detail=detail))
    do_apply_delivery(InboundDelivery.objects.get().pk)
    shipment.refresh_from_db()
    assert shipment.status == expected


@pytest.mark.parametrize("forgery", ["wrong_secret", "missing", "tampered"])
def test_forged_is_401_and_nothing_is_stored(client, easypost, shipment, forgery):
    body = json.dumps(event_body()).encode()
    headers = {"X-Hmac-Signature": sign(body, "other" if forgery == "wrong_secret" else SECRET)}
    if forgery == "missing":
        headers = {}
    if forgery == "tampered":
        body = body.replace(b"FedEx", b"FedEX")
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert not InboundDelivery.objects.exists()


def test_event_for_an_unknown_parcel_is_parked(client, easypost, store):
    post(client, event_body(tracking_code="9400111899223344556677"))
    delivery = InboundDelivery.objects.get()
    do_apply_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.object_key) == ("parked", "tracking:9400111899223344556677")


# --- trackers for new tracking numbers ---------------------------------------------------------


def tracker_response() -> dict:
    """The tracker EasyPost answered in its own recorded exchange (cassette test_tracker_create)."""
    import yaml

    cassette = yaml.safe_load(
        shared_path(
            "fixtures/easypost/EasyPost__easypost-python/tests/cassettes/test_tracker_create.yaml"
        ).read_text()
    )
    return json.loads(cassette["interactions"][0]["response"]["body"]["string"])


def easypost_error(status: int, code: str, message: str) -> Response:
    body = {"error": {"code": code, "message": message, "errors": []}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def recorded_shipment(store, tracking="EZ1000000001"):
    do_ingest_orders(store, [order_in(2, total=Decimal("89.00"))])
    order = Order.objects.get(number_key__endswith="2")
    return do_record_shipment(
        order, ShipmentIn(carrier="USPS", tracking_number=tracking, status="confirmed")
    )


def test_a_new_tracking_number_gets_a_tracker(
    easypost, store, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/v2/trackers", method="POST").respond_with_json(tracker_response())

    with django_capture_on_commit_callbacks(execute=True):
        shipment = recorded_shipment(store)

    link = CarrierTracker.objects.get(shipment=shipment)
    assert (link.tracker_id, link.status) == ("trk_e7e8f143f3eb40d38be9562e3767c36a", "active")
    sent = httpserver.log[0][0]
    assert sent.json == {"tracker": {"tracking_code": "EZ1000000001", "carrier": "USPS"}}
    shipment.refresh_from_db()
    assert shipment.status == "label_printed"
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 2
    assert do_follow_shipment(shipment.pk) == "already_followed"
    assert len(httpserver.log) == 1


def test_a_refused_number_is_kept_with_why(easypost, store, httpserver):
    httpserver.expect_request("/v2/trackers", method="POST").respond_with_response(
        easypost_error(
            422, "TRACKER.TRACKING_CODE.INVALID", "The tracking code provided is invalid."
        )
    )
    shipment = recorded_shipment(store, tracking="NOT-A-CODE")

    assert do_follow_shipment(shipment.pk) == "refused"
    link = CarrierTracker.objects.get(shipment=shipment)
    assert link.status == "refused"
    assert "invalid" in link.last_error


def test_a_revoked_key_breaks_the_connection(easypost, store, httpserver):
    httpserver.expect_request("/v2/trackers", method="POST").respond_with_response(
        easypost_error(401, "APIKEY.INACTIVE", "This api key is no longer active.")
    )
    shipment = recorded_shipment(store)

    assert do_follow_shipment(shipment.pk) == "not_authorised"
    assert Connection.objects.get(pk=easypost.pk).status == Connection.Status.BROKEN
    assert not CarrierTracker.objects.exists()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_outage_raises_so_the_sweep_tries_again(easypost, store, httpserver, status):
    from storedesk.integrations.carriers.adapters import TrackingUnavailable
    from storedesk.integrations.carriers.services import unfollowed_shipment_ids

    response = easypost_error(
        status, "RATE_LIMITED" if status == 429 else "INTERNAL_SERVER_ERROR", "try later"
    )
    if status == 429:
        response.headers["Retry-After"] = "30"
    httpserver.expect_request("/v2/trackers", method="POST").respond_with_response(response)
    shipment = recorded_shipment(store)
    Shipment.objects.filter(pk=shipment.pk).update(shipped_at=datetime.now(UTC))

    with pytest.raises(TrackingUnavailable):
        do_follow_shipment(shipment.pk)

    assert not CarrierTracker.objects.exists()
    assert unfollowed_shipment_ids() == [shipment.pk]
