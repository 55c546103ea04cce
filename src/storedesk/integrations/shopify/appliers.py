"""How each Shopify webhook topic is applied to the desk's data (run by the delivery task).

Orders are stored or brought up to date (`do_upsert_order`: an older `updated_at` never wins);
refunds go through `do_record_refund` (its guards hold); fulfilments through
`do_apply_shipment`; disputes into the disputes app. A refund, fulfilment or dispute for an
order not stored yet is parked on that order and applied as soon as it arrives.
app/uninstalled marks the connection broken: the team is told and nothing calls Shopify again.
"""

from __future__ import annotations

import json

from storedesk.commerce.models import Order, Payment, Refund
from storedesk.commerce.services import OverRefundError, RefundRefused, do_record_refund
from storedesk.commerce.services.order_updates import (
    do_apply_shipment,
    do_update_customer,
    do_upsert_order,
    order_by_provider_id,
)
from storedesk.disputes.services import do_ingest_disputes
from storedesk.integrations.connections.models import InboundDelivery
from storedesk.integrations.connections.services import (
    DeliveryFailed,
    DeliveryParked,
    do_mark_broken,
    register_applier,
    wake_parked,
)
from storedesk.integrations.connections.systems import SHOPIFY
from storedesk.integrations.shopify import mappers

ACTOR = "shopify-webhook"
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/paid")
TOPICS = (
    *ORDER_TOPICS,
    "refunds/create",
    "fulfillments/create",
    "fulfillments/update",
    "customers/update",
    "disputes/create",
    "disputes/update",
    "app/uninstalled",
)


def order_key(order_id) -> str:
    return f"order:{mappers.numeric_id(order_id)}"


def payments_key(order_id) -> str:
    return f"payments:{mappers.numeric_id(order_id)}"


def apply_order(connection, order: dict, *, actor=ACTOR) -> str:
    """Store or update one order from its REST shape; wake what waited for it."""
    try:
        order_in = mappers.order_from_rest(order)
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    result = do_upsert_order(connection.store, order_in, actor=actor)
    woken = []
    if result.outcome == "created":
        woken.append(order_key(order.get("id")))
    if result.outcome == "created" and order_in.payments or result.payments_added:
        woken.append(payments_key(order.get("id")))
    wake_parked(connection.pk, woken)
    return result.outcome


def _order_or_park(connection, order_id) -> Order:
    order = order_by_provider_id(connection.store_id, mappers.numeric_id(order_id))
    if order is None:
        raise DeliveryParked(
            f"order {mappers.numeric_id(order_id)} is not stored yet", order_key(order_id)
        )
    return order


def apply_refund(connection, refund: dict) -> str:
    order = _order_or_park(connection, refund.get("order_id"))
    amount, currency = mappers.refund_amount(refund)
    if amount <= 0:
        return "ignored"  # a restock without money back
    try:
        do_record_refund(
            order,
            amount,
            currency or order.currency,
            Refund.Reason.OTHER,
            idempotency_key=mappers.refund_key(refund["id"]),
            actor=ACTOR,
            note=mappers.text(refund.get("note"))[:500],
            provider_id=mappers.numeric_id(refund["id"]),
            created_at=mappers.when(refund.get("created_at")),
        )
    except OverRefundError as error:
        # Shopify refunded money we have not seen taken yet (its payment not stored):
        # wait for the payments of this order (a reconcile or the order's update brings them).
        raise DeliveryParked(str(error), payments_key(refund.get("order_id"))) from None
    except RefundRefused as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    return "created"


def apply_fulfillment(connection, fulfillment: dict) -> str:
    order = _order_or_park(connection, fulfillment.get("order_id"))
    return do_apply_shipment(order, mappers.shipment_from_rest(fulfillment), actor=ACTOR).outcome


def apply_customer(connection, customer: dict) -> str:
    customer_in = mappers.customer_from_rest(customer)
    if customer_in is None:
        return "ignored"
    outcome = do_update_customer(connection.store, customer_in, actor=ACTOR)
    return "ignored" if outcome == "unknown_customer" else outcome


def apply_dispute(connection, dispute: dict) -> str:
    order = _order_or_park(connection, dispute.get("order_id"))
    payment = (
        Payment.objects.filter(order=order, gateway=mappers.GATEWAY, captured=True)
        .order_by("created_at", "pk")
        .values_list("provider_id", flat=True)
        .first()
    )
    if payment is None:
        raise DeliveryParked(
            f"order {order.number} has no Shopify payment stored yet",
            payments_key(dispute.get("order_id")),
        )
    result = do_ingest_disputes([mappers.dispute_from_rest(dispute, payment)], actor=ACTOR)
    if result.rejected:
        raise DeliveryFailed(f"dispute refused: {result.rejected[0][1]}", retryable=False)
    if result.created:
        return "created"
    return "updated" if result.updated else "unchanged"


def apply_uninstalled(connection, shop: dict) -> str:
    do_mark_broken(connection, "The Storedesk app was uninstalled from the shop (app/uninstalled).")
    return "connection_broken"


def apply(delivery: InboundDelivery, body: str) -> str:
    payload = json.loads(body)
    connection, topic = delivery.connection, delivery.topic
    if topic in ORDER_TOPICS:
        return apply_order(connection, payload)
    handler = {
        "refunds/create": apply_refund,
        "fulfillments/create": apply_fulfillment,
        "fulfillments/update": apply_fulfillment,
        "customers/update": apply_customer,
        "disputes/create": apply_dispute,
        "disputes/update": apply_dispute,
        "app/uninstalled": apply_uninstalled,
    }[topic]
    try:
        return handler(connection, payload)
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None


register_applier(SHOPIFY, TOPICS, apply)
