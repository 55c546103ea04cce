"""POST /webhooks/paypal/: signatures checked with the certificate PayPal names (fetched from a
local server standing in for PayPal's host, chain checked up to our test root), events stored
once and applied: captures, refunds, reversals and disputes."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from werkzeug import Response

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import do_ingest_orders
from storedesk.disputes.models import Dispute
from storedesk.integrations.connections.models import InboundDelivery
from storedesk.integrations.connections.services import do_apply_delivery
from storedesk.integrations.paypal.signature import clear_certificate_cache
from tests.commerce.builders import order_in
from tests.factories import StoreFactory
from tests.integrations.paypal.helpers import (
    CERT_PATH,
    URL,
    Signer,
    body_of,
    capture,
    connect,
    dispute,
    event,
    refund,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signer():
    return Signer.create()


@pytest.fixture
def paypal(settings, httpserver, signer, tmp_path):
    """PayPal's certificate host played by a local server; our test root trusted."""
    roots = tmp_path / "roots.pem"
    roots.write_bytes(
        signer.root.public_bytes(
            __import__("cryptography").hazmat.primitives.serialization.Encoding.PEM
        )
    )
    settings.PAYPAL_CERT_TRUST_ROOTS = str(roots)
    settings.PAYPAL_CERT_URL_PREFIXES = (httpserver.url_for("/v1/notifications/certs/"),)
    settings.PAYPAL_WEBHOOK_VERIFICATION = "certificate"
    httpserver.expect_request(CERT_PATH).respond_with_data(
        signer.chain_pem, content_type="application/x-pem-file"
    )
    clear_certificate_cache()
    yield httpserver.url_for(CERT_PATH)
    clear_certificate_cache()


@pytest.fixture
def store():
    store = StoreFactory()
    connect(store)
    return store


@pytest.fixture
def paid_order(store):
    """An order paid with PayPal; its capture id is the payment's provider id."""
    do_ingest_orders(store, [order_in(1, gateway="paypal", total=Decimal("89.00"))])
    return Order.objects.get(store=store)


def capture_id_of(order) -> str:
    return order.payments.get().provider_id


def post(client, signer, cert_url, payload, **header_changes):
    body = payload if isinstance(payload, bytes) else body_of(payload)
    headers = signer.headers(body, cert_url)
    headers.update(header_changes)
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def apply_all():
    for pk in InboundDelivery.objects.order_by("pk").values_list("pk", flat=True):
        do_apply_delivery(pk)


def test_signed_dispute_is_stored_once_and_becomes_a_dispute(client, signer, paypal, paid_order):
    payload = event("CUSTOMER.DISPUTE.CREATED", dispute(capture_id_of(paid_order)))

    first = post(client, signer, paypal, payload)
    again = post(client, signer, paypal, payload)

    assert first.status_code == 200
    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    delivery = InboundDelivery.objects.get()
    assert (delivery.system, delivery.topic) == ("paypal", "CUSTOMER.DISPUTE.CREATED")
    assert delivery.object_key == f"capture:{capture_id_of(paid_order)}"
    apply_all()
    stored = Dispute.objects.get()
    assert (stored.gateway, stored.provider_id, stored.order_id) == (
        "paypal",
        "PP-D-27803",
        paid_order.pk,
    )
    assert (stored.kind, stored.stage, stored.status) == (
        "claim",
        "chargeback",
        "WAITING_FOR_SELLER_RESPONSE",
    )
    assert stored.amount == Decimal("89.00")
    assert stored.evidence_due_by == datetime(2026, 3, 14, 18, 13, 42, tzinfo=UTC)


def test_the_certificate_is_fetched_once_and_cached(client, signer, paypal, paid_order, httpserver):
    for n in range(3):
        payload = event(
            "CUSTOMER.DISPUTE.UPDATED", dispute(capture_id_of(paid_order)), event_id=f"WH-{n}"
        )
        assert post(client, signer, paypal, payload).status_code == 200
    assert [entry[0].path for entry in httpserver.log] == [CERT_PATH]


def test_dispute_stages_and_resolution_update_the_dispute(client, signer, paypal, paid_order):
    capture_id = capture_id_of(paid_order)
    post(
        client,
        signer,
        paypal,
        event(
            "CUSTOMER.DISPUTE.CREATED",
            dispute(capture_id, dispute_life_cycle_stage="INQUIRY", status="OPEN"),
        ),
    )
    post(
        client,
        signer,
        paypal,
        event(
            "CUSTOMER.DISPUTE.UPDATED",
            dispute(capture_id, dispute_life_cycle_stage="PRE_ARBITRATION", status="UNDER_REVIEW"),
        ),
    )
    post(
        client,
        signer,
        paypal,
        event(
            "CUSTOMER.DISPUTE.RESOLVED",
            dispute(
                capture_id,
                dispute_life_cycle_stage="ARBITRATION",
                status="RESOLVED",
                update_time="2026-04-01T09:00:00.000Z",
                dispute_outcome={"outcome_code": "RESOLVED_SELLER_FAVOUR"},
            ),
        ),
    )

    apply_all()

    stored = Dispute.objects.get()
    assert (stored.stage, stored.status) == ("arbitration", "RESOLVED")
    assert stored.closed_at == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert list(InboundDelivery.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "created",
        "updated",
        "updated",
    ]


@pytest.mark.parametrize(
    "forgery",
    ["other_key", "tampered_body", "wrong_webhook_id", "stale", "missing_header", "not_base64"],
)
def test_a_forged_delivery_is_401_and_nothing_is_stored(
    client, signer, paypal, paid_order, forgery
):
    payload = event("CUSTOMER.DISPUTE.CREATED", dispute(capture_id_of(paid_order)))
    body = body_of(payload)
    if forgery == "other_key":
        headers = Signer.create().headers(body, paypal)  # a valid-looking chain PayPal never issued
    elif forgery == "wrong_webhook_id":
        headers = signer.headers(body, paypal, webhook_id="8PT597110X687430LKGECATA")
    elif forgery == "stale":
        headers = signer.headers(body, paypal, sent_at=datetime.now(UTC) - timedelta(days=4))
    else:
        headers = signer.headers(body, paypal)
    if forgery == "tampered_body":
        body = body.replace(b"89.00", b"8.90")
    if forgery == "missing_header":
        del headers["PAYPAL-TRANSMISSION-SIG"]
    if forgery == "not_base64":
        headers["PAYPAL-TRANSMISSION-SIG"] = "not base64!"

    response = client.post(URL, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert not InboundDelivery.objects.exists()


def test_a_certificate_from_another_host_is_never_fetched(
    client, signer, paypal, paid_order, httpserver
):
    payload = event("CUSTOMER.DISPUTE.CREATED", dispute(capture_id_of(paid_order)))
    elsewhere = paypal.replace("/v1/notifications/certs/", "/evil/certs/")

    response = post(client, signer, paypal, payload, **{"PAYPAL-CERT-URL": elsewhere})

    assert response.status_code == 401
    assert httpserver.log == []
    assert not InboundDelivery.objects.exists()


def test_a_certificate_for_another_name_is_refused(
    client, paypal, paid_order, httpserver, settings
):
    impostor = Signer.create(signer_name="evil.example.com")
    settings.PAYPAL_CERT_TRUST_ROOTS = str(write_root(impostor, settings))
    httpserver.clear()
    httpserver.expect_request(CERT_PATH).respond_with_data(impostor.chain_pem)
    payload = event("CUSTOMER.DISPUTE.CREATED", dispute(capture_id_of(paid_order)))

    response = post(client, impostor, paypal, payload)

    assert response.status_code == 401
    assert not InboundDelivery.objects.exists()


def write_root(signer, settings):
    path = Path(settings.PAYPAL_CERT_TRUST_ROOTS).with_name("impostor-root.pem")
    path.write_bytes(signer.root.public_bytes(Encoding.PEM))
    return path


def test_malformed_json_with_a_good_signature_is_400(client, signer, paypal, store):
    response = post(client, signer, paypal, b'{"id": "WH-1", "event_type": ')
    assert response.status_code == 400
    assert not InboundDelivery.objects.exists()


def test_no_paypal_connection_means_401(client, signer, paypal):
    response = post(client, signer, paypal, event("CUSTOMER.DISPUTE.CREATED", dispute("X")))
    assert response.status_code == 401


def test_refund_before_its_capture_is_parked_then_applied(client, signer, paypal, store):
    do_ingest_orders(store, [order_in(7, gateway="stripe", total=Decimal("89.00"))])
    order = Order.objects.get(store=store)
    # The order was paid at PayPal too (the card charge failed): the capture arrives later.
    post(
        client,
        signer,
        paypal,
        event("PAYMENT.CAPTURE.REFUNDED", refund("1JU08902781691411", "2GG279541U471931P")),
    )
    apply_all()
    parked = InboundDelivery.objects.get()
    assert (parked.status, parked.object_key) == ("parked", "capture:2GG279541U471931P")

    with_capture = event("PAYMENT.CAPTURE.COMPLETED", capture("2GG279541U471931P", order.number))
    post(client, signer, paypal, with_capture)
    do_apply_delivery(InboundDelivery.objects.get(topic="PAYMENT.CAPTURE.COMPLETED").pk)
    do_apply_delivery(parked.pk, now=datetime.now(UTC))

    payment = Payment.objects.get(gateway="paypal")
    assert (payment.order_id, payment.amount, payment.status, payment.seller_protection) == (
        order.pk,
        Decimal("89.00"),
        "succeeded",
        "ELIGIBLE",
    )
    stored = Refund.objects.get()
    assert (stored.amount, stored.payment_id, stored.idempotency_key) == (
        Decimal("20.00"),
        payment.pk,
        "paypal:refund:1JU08902781691411",
    )
    # Replayed by PayPal under a new event id: the idempotency key keeps it once.
    post(
        client,
        signer,
        paypal,
        event("PAYMENT.CAPTURE.REFUNDED", refund("1JU08902781691411", "2GG279541U471931P")),
    )
    apply_all()
    assert Refund.objects.count() == 1


def test_denied_capture_fails_the_payment(client, signer, paypal, paid_order):
    capture_id = capture_id_of(paid_order)
    post(
        client,
        signer,
        paypal,
        event("PAYMENT.CAPTURE.DENIED", capture(capture_id, paid_order.number, status="DECLINED")),
    )
    apply_all()
    payment = Payment.objects.get(provider_id=capture_id)
    assert (payment.status, payment.captured) == ("failed", False)


def test_reversal_is_recorded_as_money_gone_once(client, signer, paypal, paid_order):
    capture_id = capture_id_of(paid_order)
    reversal = refund("0X4829305M718472S", capture_id, value="89.00")
    post(client, signer, paypal, event("PAYMENT.CAPTURE.REVERSED", reversal))
    post(client, signer, paypal, event("PAYMENT.CAPTURE.REVERSED", reversal))
    apply_all()
    stored = Refund.objects.get()
    assert (stored.amount, stored.note) == (Decimal("89.00"), "PayPal reversed the capture")
    assert Order.objects.get().financial_status == "refunded"


def test_postback_verification_asks_paypal(client, signer, paid_order, settings, httpserver, store):
    from storedesk.integrations.connections.models import Connection

    settings.PAYPAL_WEBHOOK_VERIFICATION = "postback"
    Connection.objects.filter(system="paypal").update(
        config={
            "client_id": "id",
            "webhook_id": "1JE4291016473214C",
            "api_base_url": httpserver.url_for(""),
        }
    )
    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_json(
        {"access_token": "A21AAF", "token_type": "Bearer", "expires_in": 32400}
    )
    verdicts = iter(["SUCCESS", "FAILURE"])
    httpserver.expect_request(
        "/v1/notifications/verify-webhook-signature", method="POST"
    ).respond_with_handler(
        lambda request: Response(
            json.dumps({"verification_status": next(verdicts)}), content_type="application/json"
        )
    )
    payload = event("CUSTOMER.DISPUTE.CREATED", dispute(capture_id_of(paid_order)))

    accepted = post(
        client, signer, "https://api-m.paypal.com/v1/notifications/certs/CERT-1", payload
    )
    refused = post(
        client,
        signer,
        "https://api-m.paypal.com/v1/notifications/certs/CERT-1",
        {**payload, "id": "WH-2"},
    )

    assert accepted.status_code == 200
    assert refused.status_code == 401
    assert InboundDelivery.objects.count() == 1
    sent = [
        entry[0] for entry in httpserver.log if entry[0].path.endswith("verify-webhook-signature")
    ]
    assert sent[0].json["webhook_id"] == "1JE4291016473214C"
    assert sent[0].json["webhook_event"]["id"] == payload["id"]
