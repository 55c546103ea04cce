"""Responding to Shopify Payments disputes through the Admin GraphQL API.

Submitting evidence is `disputeEvidenceUpdate` on the dispute's evidence object (read first, to
refuse evidence Shopify already has) with `submitEvidence: true`. The pack's evidence arrives in the
Stripe-shaped hash the disputes app builds; the fields Shopify has a place for are sent as
such, the rest (product, shipment, billing address, purchase IP) are written into
`uncategorizedText`, after the rebuttal and the conversation. Files are not sent: Shopify
takes them as separate dispute file uploads, so the text of the pack goes in the text fields
(already trimmed by the pack to the 150,000 characters Stripe, which runs Shopify Payments,
allows in all text fields together).

Shopify has no mutation that accepts a dispute: a merchant accepts one by not responding
before the due date (or in the Shopify admin), so `accept_dispute` refuses with that
explanation and nothing is sent.

`userErrors` (evidence already submitted, past due, a bad field) are a `GatewayRefused` with
Shopify's message; throttling, 429, 5xx and the network, after the client's own retries, a
`GatewayUnavailable`; a refused token marks the connection broken.
"""

from __future__ import annotations

from django.conf import settings

from storedesk.disputes.errors import GatewayRefused, GatewayUnavailable
from storedesk.integrations.connections.credentials import NotConnected, credentials_for
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_mark_broken
from storedesk.integrations.shopify.client import (
    AdminClient,
    ShopifyAuthError,
    ShopifyError,
    user_errors,
)

SYSTEM = "shopify"

# A dispute has one evidence object, with the dispute's own id (REST `dispute_evidences`:
# `id` == `payments_dispute_id`); it is read by that id (the dispute's `disputeEvidence` field
# only exists from later API versions).
DISPUTE_EVIDENCE = """
query DisputeEvidenceOf($id: ID!) {
  disputeEvidence(id: $id) {
    id
    submitted
    dispute { id status evidenceSentOn }
  }
}
"""

SUBMIT_EVIDENCE = """
mutation DisputeEvidenceSubmit($id: ID!, $input: ShopifyPaymentsDisputeEvidenceUpdateInput!) {
  disputeEvidenceUpdate(id: $id, input: $input) {
    disputeEvidence { id dispute { id status evidenceSentOn } }
    userErrors { field message code }
  }
}
"""

# Stripe-shaped evidence fields and their place in ShopifyPaymentsDisputeEvidenceUpdateInput.
DIRECT_FIELDS = {
    "customer_email_address": "customerEmailAddress",
    "access_activity_log": "accessActivityLog",
    "cancellation_policy_disclosure": "cancellationPolicyDisclosure",
    "cancellation_rebuttal": "cancellationRebuttal",
    "refund_policy_disclosure": "refundPolicyDisclosure",
    "refund_refusal_explanation": "refundRefusalExplanation",
}
# Fields Shopify's input has no place for: written into uncategorizedText, labelled.
TEXT_ONLY_FIELDS = (
    ("product_description", "Products"),
    ("shipping_carrier", "Carrier"),
    ("shipping_tracking_number", "Tracking number"),
    ("shipping_date", "Shipped on"),
    ("service_date", "Service date"),
    ("duplicate_charge_explanation", "Duplicate charge"),
    ("duplicate_charge_id", "Other charge"),
    ("billing_address", "Billing address"),
    ("customer_purchase_ip", "Purchase IP"),
)
ADDRESS_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "company": "company",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "province_code": "provinceCode",
    "zip": "zip",
    "country_code": "countryCode",
    "phone": "phone",
}


def evidence_gid(provider_id: str) -> str:
    """The dispute's evidence object: the dispute's numeric id under the evidence type."""
    number = str(provider_id).rsplit("/", 1)[-1]
    return f"gid://shopify/ShopifyPaymentsDisputeEvidence/{number}"


def mailing_address(address: dict | None) -> dict:
    """An order's stored address (Shopify's REST shape) as a `MailingAddressInput`."""
    found = {
        name: str(address[key]).strip()
        for key, name in ADDRESS_FIELDS.items()
        if (address or {}).get(key) and str(address[key]).strip()
    }
    if "countryCode" in found:
        found["countryCode"] = found["countryCode"].upper()
    return found if found.get("address1") else {}


def evidence_input(evidence: dict, shipping_address: dict | None = None) -> dict:
    """The `input` of `disputeEvidenceUpdate`, submitting, from the pack's evidence hash."""
    shopify_input: dict = {
        name: str(evidence[key]) for key, name in DIRECT_FIELDS.items() if evidence.get(key)
    }
    first, _, last = str(evidence.get("customer_name") or "").strip().partition(" ")
    if first:
        shopify_input["customerFirstName"] = first
    if last.strip():
        shopify_input["customerLastName"] = last.strip()
    address = mailing_address(shipping_address)
    if address:
        shopify_input["shippingAddress"] = address
    extra = "\n".join(
        f"{label}: {evidence[key]}" for key, label in TEXT_ONLY_FIELDS if evidence.get(key)
    )
    if not address and evidence.get("shipping_address"):
        extra = f"Shipping address: {evidence['shipping_address']}\n{extra}".strip()
    text = "\n\n".join(p for p in (str(evidence.get("uncategorized_text") or ""), extra) if p)
    # The pack trims long text saying the whole is in the attached PDF; no PDF goes to Shopify.
    text = text.replace("the full text is in the attached PDF", "the full text is in our records")
    if text:
        shopify_input["uncategorizedText"] = text
    shopify_input["submitEvidence"] = True
    return shopify_input


def _execute(credentials, query: str, variables: dict) -> dict:
    try:
        return AdminClient(credentials, max_attempts=settings.SHOPIFY_RESOLUTION_ATTEMPTS).execute(
            query, variables
        )
    except ShopifyAuthError as error:
        connection = Connection.objects.filter(pk=credentials.connection_id).first()
        if connection is not None:
            do_mark_broken(connection, str(error))
        raise GatewayUnavailable(
            "Shopify refused the store's access token: reconnect Shopify, then retry",
            "connection_broken",
        ) from error
    except ShopifyError as error:
        if error.retryable:
            raise GatewayUnavailable(f"Shopify is unavailable: {error}", "unavailable") from error
        raise GatewayRefused(f"Shopify refused: {error}", "shopify_error") from error


def submit_evidence(
    store_id: int,
    dispute_id: str,
    evidence: dict,
    *,
    shipping_address: dict | None = None,
    idempotency_key: str = "",
) -> dict:
    """Send and submit the evidence of one dispute; Shopify's answer (the dispute's status and
    `evidenceSentOn`). Evidence already sent at Shopify is refused, not sent again."""
    try:
        credentials = credentials_for(store_id, SYSTEM)
    except NotConnected as error:
        raise GatewayRefused(
            f"Shopify is not connected for this store ({error}); nothing was sent",
            "not_connected",
        ) from error
    found = _execute(credentials, DISPUTE_EVIDENCE, {"id": evidence_gid(dispute_id)}).get(
        "disputeEvidence"
    )
    if not found or not found.get("id"):
        raise GatewayRefused(
            f"Shopify has no dispute {dispute_id} in this store; nothing was sent", "not_found"
        )
    sent_on = (found.get("dispute") or {}).get("evidenceSentOn")
    if found.get("submitted") or sent_on:
        raise GatewayRefused(
            f"Shopify already has evidence for this dispute (sent {sent_on or 'earlier'}); "
            "nothing was sent",
            "already_submitted",
        )
    answer = _execute(
        credentials,
        SUBMIT_EVIDENCE,
        {
            "id": found["id"],
            "input": evidence_input(evidence, shipping_address),
        },
    )
    payload = answer.get("disputeEvidenceUpdate") or {}
    problems = user_errors(payload)
    if problems:
        codes = [p.get("code") for p in payload.get("userErrors") or [] if p.get("code")]
        raise GatewayRefused(
            f"Shopify refused the evidence: {problems}",
            str(codes[0]).lower() if codes else "refused",
        )
    submitted = (payload.get("disputeEvidence") or {}).get("dispute") or {}
    return {
        "dispute": submitted.get("id") or (found.get("dispute") or {}).get("id") or "",
        "evidence": found["id"],
        "shopify_status": submitted.get("status") or "",
        "evidence_sent_on": submitted.get("evidenceSentOn") or "",
        "idempotency_key": idempotency_key,
    }


def accept_dispute(dispute_id: str, *, idempotency_key: str = "") -> dict:
    """Shopify's API has no way to accept a dispute; refuse, saying how it is done."""
    raise GatewayRefused(
        "Shopify Payments has no way to accept a dispute through its API: to accept it, do not "
        "submit evidence before the due date (or accept it in the Shopify admin); nothing was "
        "sent",
        "not_supported_by_gateway",
    )
