"""A stable fingerprint of the demo store's data, to prove two loads are identical.

Rows are identified by what the outside world knows them by (order numbers, provider ids,
tracking numbers, idempotency keys), never by autoincrement ids or load times, and read in a
fixed order, streamed, so the digest of a million orders needs little memory.
"""

import hashlib

from storedesk.commerce.models import (
    Customer,
    LineItem,
    Order,
    Payment,
    Policy,
    Refund,
    Shipment,
    ShipmentEvent,
    Store,
)
from storedesk.demo.models import GroundTruth
from storedesk.desk.models import Message, Ticket
from storedesk.disputes.models import Dispute


def _sections(store: Store):
    """(name, queryset of value tuples) in a fixed order."""
    orders = Order.objects.filter(store=store)
    yield (
        "customers",
        (
            Customer.objects.filter(store=store)
            .order_by("email")
            .values_list(
                "email",
                "name_key",
                "phone",
                "timezone",
                "is_vip",
                "orders_count",
                "total_spent",
                "first_order_at",
                "last_order_at",
            )
        ),
    )
    yield (
        "orders",
        orders.order_by("number_key").values_list(
            "number_key",
            "provider_id",
            "email",
            "name_key",
            "created_at",
            "cancelled_at",
            "subtotal_price",
            "total_discounts",
            "total_shipping",
            "total_price",
            "total_refunded",
            "financial_status",
            "fulfillment_status",
            "shipping_method_code",
            "billing_address",
            "shipping_address",
            "browser_ip",
            "tags",
            "note",
        ),
    )
    yield (
        "line_items",
        LineItem.objects.filter(order__store=store)
        .order_by("order__number_key", "provider_id")
        .values_list("order__number_key", "provider_id", "sku", "quantity", "price"),
    )
    yield (
        "payments",
        Payment.objects.filter(order__store=store)
        .order_by("gateway", "provider_id")
        .values_list(
            "gateway",
            "provider_id",
            "order__number_key",
            "amount",
            "currency",
            "status",
            "created_at",
            "card_brand",
            "card_last4",
            "card_country",
            "card_fingerprint",
            "avs_line1_check",
            "avs_postal_check",
            "cvc_check",
            "three_d_secure_result",
            "outcome_type",
            "outcome_reason",
            "risk_level",
            "risk_score",
            "payer_id",
            "seller_protection",
            "failure_code",
        ),
    )
    yield (
        "refunds",
        Refund.objects.filter(order__store=store)
        .order_by("idempotency_key")
        .values_list(
            "idempotency_key",
            "order__number_key",
            "amount",
            "currency",
            "reason",
            "status",
            "provider_id",
            "created_at",
        ),
    )
    yield (
        "shipments",
        Shipment.objects.filter(order__store=store)
        .order_by("tracking_number", "order__number_key")
        .values_list(
            "tracking_number",
            "order__number_key",
            "carrier",
            "service",
            "status",
            "shipped_at",
            "delivered_at",
            "signed_by",
            "delivery_location",
        ),
    )
    yield (
        "shipment_events",
        ShipmentEvent.objects.filter(shipment__order__store=store)
        .order_by("shipment__tracking_number", "happened_at", "status")
        .values_list(
            "shipment__tracking_number", "happened_at", "status", "message", "city", "zip"
        ),
    )
    yield (
        "disputes",
        Dispute.objects.filter(order__store=store)
        .order_by("gateway", "provider_id")
        .values_list(
            "gateway",
            "provider_id",
            "order__number_key",
            "payment__provider_id",
            "kind",
            "reason",
            "network_reason_code",
            "status",
            "amount",
            "opened_at",
            "evidence_due_by",
            "closed_at",
        ),
    )
    yield (
        "ground_truth",
        GroundTruth.objects.filter(order__store=store)
        .order_by("order__number_key")
        .values_list(
            "order__number_key",
            "is_fraud",
            "fraud_pattern",
            "parcel_lost",
            "delivered_not_received",
            "friendly_fraud",
        ),
    )
    tickets = Ticket.objects.filter(store=store)
    yield (
        "tickets",
        tickets.order_by("number").values_list(
            "number",
            "subject",
            "requester_email",
            "customer__email",
            "channel",
            "status",
            "priority",
            "assignee__username",
            "team__slug",
            "created_at",
            "last_message_at",
            "first_response_at",
            "solved_at",
            "closed_at",
            "message_count",
        ),
    )
    yield (
        "ticket_links",
        Ticket.orders.through.objects.filter(ticket__store=store)
        .order_by("ticket__number", "order__number_key")
        .values_list("ticket__number", "order__number_key"),
    )
    yield (
        "ticket_tags",
        Ticket.tags.through.objects.filter(ticket__store=store)
        .order_by("ticket__number", "tag__name")
        .values_list("ticket__number", "tag__name"),
    )
    # Our own Message-IDs are random (uuid4) on the live path: left out, like row ids.
    yield (
        "messages",
        Message.objects.filter(ticket__store=store)
        .order_by("ticket__number", "created_at", "kind", "pk")
        .values_list(
            "ticket__number",
            "kind",
            "channel",
            "from_email",
            "subject",
            "new_text",
            "template__name",
            "created_at",
        ),
    )
    yield (
        "policies",
        Policy.objects.filter(store=store)
        .order_by("kind", "version")
        .values_list("kind", "version", "title", "body", "effective_from"),
    )


def _encode(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return repr(sorted((str(k), _encode(v)) for k, v in value.items()))
    if isinstance(value, list):
        return repr([_encode(item) for item in value])
    return repr(value)


def demo_digest(store: Store) -> str:
    """sha256 over the store's business data, independent of ids and load time."""
    digest = hashlib.sha256()
    for name, rows in _sections(store):
        digest.update(f"[{name}]".encode())
        for row in rows.iterator(chunk_size=5000):
            digest.update("\x1f".join(_encode(value) for value in row).encode())
            digest.update(b"\x1e")
    return digest.hexdigest()
