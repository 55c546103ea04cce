"""How WooCommerce deliveries are applied: orders stored, or brought up to date when newer
(`do_upsert_order` compares `date_modified_gmt`: an older delivery never wins)."""

from __future__ import annotations

import json

from storedesk.commerce.services.order_updates import do_upsert_order
from storedesk.integrations.connections.services import DeliveryFailed, register_applier
from storedesk.integrations.connections.systems import WOOCOMMERCE
from storedesk.integrations.woocommerce import mappers

ACTOR = "woocommerce-webhook"
TOPICS = ("order.created", "order.updated", "order.restored", "order.deleted")


def apply_order(connection, order: dict, *, actor=ACTOR) -> str:
    try:
        order_in = mappers.order_in(order)
    except mappers.MappingError as error:
        raise DeliveryFailed(str(error), retryable=False) from None
    return do_upsert_order(connection.store, order_in, actor=actor).outcome


def apply(delivery, body: str) -> str:
    payload = json.loads(body)
    if delivery.topic == "order.deleted":
        return "ignored"  # the desk keeps the order and its tickets; WooCommerce trashed it
    return apply_order(delivery.connection, payload)


register_applier(WOOCOMMERCE, TOPICS, apply)
