"""Evidence for Shopify Payments disputes, through `do_submit_evidence`, against a local server
answering as Shopify's Admin GraphQL API does (`dispute`, `disputeEvidenceUpdate` with and
without userErrors, THROTTLED, 5xx), and the documents checked against Shopify's schema."""

import functools
import gzip
import json

import pytest
from graphql import build_client_schema, parse, validate
from graphql.utilities import validate_input_value

from storedesk.audit.models import AuditEntry
from storedesk.disputes.errors import GatewayRefused, GatewayUnavailable
from storedesk.disputes.evidence import TRIM_MARKER
from storedesk.disputes.models import DisputeSubmission
from storedesk.disputes.services import (
    SHOPIFY_NO_FILES,
    do_accept_dispute,
    do_submit_evidence,
    do_update_evidence,
)
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.shopify import disputes_client
from storedesk.integrations.shopify.client import AdminClient
from tests.disputes.builders import disputed_order
from tests.integrations.shopify.fake_admin import FakeAdmin, data, server_error, throttled
from tests.integrations.shopify.helpers import connect
from tests.shared_data import shared_path

pytestmark = pytest.mark.django_db

DISPUTE_ID = "1052608616"
DISPUTE_GID = f"gid://shopify/ShopifyPaymentsDispute/{DISPUTE_ID}"
EVIDENCE_GID = f"gid://shopify/ShopifyPaymentsDisputeEvidence/{DISPUTE_ID}"
REBUTTAL = "The ring was delivered and signed for by the cardholder."


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def admin(httpserver, settings, monkeypatch):
    settings.SHOPIFY_RESOLUTION_ATTEMPTS = 2
    sleeps = Sleeps()
    monkeypatch.setattr(
        disputes_client, "AdminClient", functools.partial(AdminClient, sleep=sleeps)
    )
    fake = FakeAdmin(httpserver)
    fake.sleeps = sleeps
    return fake


@pytest.fixture
def dispute(admin):
    """A Shopify Payments chargeback on an order of a store connected to Shopify."""
    found = disputed_order(gateway="shopify_payments")
    found.provider_id = DISPUTE_ID
    found.save(update_fields=["provider_id"])
    connect(found.order.store, api_base_url=admin.base_url)
    do_update_evidence(found, actor="specialist", rebuttal=REBUTTAL)
    return found


def dispute_evidence(evidence_sent_on=None, status="NEEDS_RESPONSE"):
    return data(
        {
            "disputeEvidence": {
                "id": EVIDENCE_GID,
                "submitted": evidence_sent_on is not None,
                "dispute": {
                    "id": DISPUTE_GID,
                    "status": status,
                    "evidenceSentOn": evidence_sent_on,
                },
            }
        }
    )


def evidence_updated(user_errors=(), status="UNDER_REVIEW"):
    evidence = (
        None
        if user_errors
        else {
            "id": EVIDENCE_GID,
            "dispute": {"id": DISPUTE_GID, "status": status, "evidenceSentOn": "2026-01-06"},
        }
    )
    return data(
        {"disputeEvidenceUpdate": {"disputeEvidence": evidence, "userErrors": list(user_errors)}}
    )


def _schema():
    path = shared_path("fixtures/shopify/graphql/admin_schema_2025-01.json.gz")
    raw = json.loads(gzip.decompress(path.read_bytes()))
    introspection = raw.get("data", raw)
    for kind in introspection["__schema"]["types"]:
        for field in kind.get("fields") or ():
            field["isDeprecated"], field["deprecationReason"] = False, None
    return build_client_schema(introspection)


def test_the_documents_and_the_input_are_valid_against_shopify_s_schema():
    schema = _schema()
    for document in (disputes_client.DISPUTE_EVIDENCE, disputes_client.SUBMIT_EVIDENCE):
        assert validate(schema, parse(document)) == []
    shopify_input = disputes_client.evidence_input(
        {
            "customer_name": "Olivia Bennett",
            "customer_email_address": "olivia@mail.example",
            "refund_policy_disclosure": "Returns within 30 days",
            "shipping_tracking_number": "9400111899",
            "uncategorized_text": REBUTTAL + TRIM_MARKER.format(count=1200),
        },
        {"first_name": "Olivia", "address1": "1 Main St", "city": "Austin", "country_code": "us"},
    )
    errors = []
    validate_input_value(
        shopify_input,
        schema.get_type("ShopifyPaymentsDisputeEvidenceUpdateInput"),
        lambda error, path: errors.append((path, str(error))),
    )
    assert errors == []
    assert shopify_input["shippingAddress"]["countryCode"] == "US"
    assert "Tracking number: 9400111899" in shopify_input["uncategorizedText"]
    # A trimmed text does not point Shopify's reviewer at a PDF that was not sent.
    assert "1200 characters trimmed" in shopify_input["uncategorizedText"]
    assert "attached PDF" not in shopify_input["uncategorizedText"]


def test_evidence_is_sent_and_submitted_through_dispute_evidence_update(admin, dispute):
    admin.on("DisputeEvidenceOf", dispute_evidence())
    admin.on("DisputeEvidenceSubmit", evidence_updated())
    order = dispute.order
    shipment = order.shipments.get()

    submission = do_submit_evidence(dispute, actor="specialist", idempotency_key="shop-submit-1")
    again = do_submit_evidence(dispute, actor="specialist", idempotency_key="shop-submit-1")

    assert again.pk == submission.pk
    assert submission.status == DisputeSubmission.Status.SENT
    assert SHOPIFY_NO_FILES in submission.warnings
    assert submission.response["shopify_status"] == "UNDER_REVIEW"
    assert [r["operation"] for r in admin.requests] == [
        "DisputeEvidenceOf",
        "DisputeEvidenceSubmit",
    ]
    assert admin.requests[0]["variables"] == {"id": EVIDENCE_GID}
    mutation = admin.requests[1]
    assert "disputeEvidenceUpdate(id: $id, input: $input)" in mutation["query"]
    assert mutation["variables"]["id"] == EVIDENCE_GID
    sent = mutation["variables"]["input"]
    assert sent["submitEvidence"] is True
    assert sent["customerEmailAddress"] == order.customer.email
    assert (sent["customerFirstName"], sent["customerLastName"]) == ("Olivia", "Bennett")
    assert sent["refundPolicyDisclosure"].startswith("Returns within 30 days")
    assert sent["accessActivityLog"].startswith("Order placed")
    assert sent["uncategorizedText"].startswith(REBUTTAL)
    assert f"Tracking number: {shipment.tracking_number}" in sent["uncategorizedText"]
    assert "Customer conversation:" in sent["uncategorizedText"]
    assert sent["shippingAddress"]["address1"] == order.shipping_address["address1"]
    dispute.refresh_from_db()
    assert dispute.responded_at is not None
    assert AuditEntry.objects.filter(
        action="dispute.submit_sent", object_id=str(dispute.pk)
    ).exists()


def test_user_errors_are_a_refusal_with_shopify_s_message_and_nothing_is_submitted(admin, dispute):
    admin.on("DisputeEvidenceOf", dispute_evidence())
    admin.on(
        "DisputeEvidenceSubmit",
        evidence_updated(
            [
                {
                    "field": ["id"],
                    "message": "Dispute evidence is past due and can no longer be submitted",
                    "code": "EVIDENCE_PAST_DUE_DATE",
                }
            ]
        ),
    )

    with pytest.raises(GatewayRefused, match="past due and can no longer") as refused:
        do_submit_evidence(dispute, actor="specialist", idempotency_key="shop-submit-2")

    assert refused.value.code == "evidence_past_due_date"
    submission = DisputeSubmission.objects.get(idempotency_key="shop-submit-2")
    assert submission.status == DisputeSubmission.Status.FAILED
    assert "past due" in submission.error
    dispute.refresh_from_db()
    assert dispute.responded_at is None
    actions = set(
        AuditEntry.objects.filter(object_id=str(dispute.pk)).values_list("action", flat=True)
    )
    assert "dispute.submit_failed" in actions
    assert "dispute.submit_sent" not in actions


def test_evidence_shopify_already_has_is_refused_without_sending_it_again(admin, dispute):
    admin.on("DisputeEvidenceOf", dispute_evidence(evidence_sent_on="2026-01-05"))

    with pytest.raises(GatewayRefused, match="already has evidence") as refused:
        do_submit_evidence(dispute, actor="specialist", idempotency_key="shop-submit-3")

    assert refused.value.code == "already_submitted"
    assert admin.served("DisputeEvidenceSubmit") == []
    dispute.refresh_from_db()
    assert dispute.responded_at is None


@pytest.mark.parametrize("failure", ["5xx", "throttled"])
def test_a_failing_or_throttled_shopify_is_unavailable_and_nothing_is_submitted(
    admin, dispute, failure
):
    admin.on("DisputeEvidenceOf", dispute_evidence())
    admin.on("DisputeEvidenceSubmit", server_error(503) if failure == "5xx" else throttled())

    with pytest.raises(GatewayUnavailable, match="unavailable") as unavailable:
        do_submit_evidence(dispute, actor="specialist", idempotency_key=f"shop-{failure}")

    assert unavailable.value.code == "unavailable"
    assert len(admin.served("DisputeEvidenceSubmit")) == 2  # the client's attempts
    assert admin.sleeps  # it waited between them
    submission = DisputeSubmission.objects.get(idempotency_key=f"shop-{failure}")
    assert submission.status == DisputeSubmission.Status.FAILED
    dispute.refresh_from_db()
    assert dispute.responded_at is None


def test_a_store_not_connected_to_shopify_is_refused_before_anything_is_sent(admin, dispute):
    Connection.objects.filter(store=dispute.order.store).update(status=Connection.Status.BROKEN)

    with pytest.raises(GatewayRefused, match="not connected") as refused:
        do_submit_evidence(dispute, actor="specialist", idempotency_key="shop-submit-4")

    assert refused.value.code == "not_connected"
    assert admin.requests == []


def test_accepting_is_refused_because_shopify_has_no_accept_call(admin, dispute):
    with pytest.raises(GatewayRefused, match="do not submit evidence before the due date"):
        do_accept_dispute(dispute, actor="specialist", idempotency_key="shop-accept-1")

    assert admin.requests == []
    dispute.refresh_from_db()
    assert dispute.responded_at is None
    assert dispute.outcome != "accepted"
    assert (
        DisputeSubmission.objects.get(idempotency_key="shop-accept-1").status
        == DisputeSubmission.Status.FAILED
    )
