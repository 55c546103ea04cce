"""The only writers of commerce data: orders and what hangs off them, refunds, policies.

Connectors, the API and the demo all call these functions with the dataclasses of
`storedesk.commerce.ingest`. One module per feature: `catalog` (stores, products), `orders`
(bulk ingest), `refunds`, `fulfilment` (shipments, voids, cancellations), `order_tasks` (work
owed on an order) and `policies`; `common` holds the errors and results they share. Import
from this package: the names below are its public surface. Every change is audited and
announced as a domain event in its transaction.
"""

from storedesk.commerce.services.catalog import do_create_store, do_upsert_catalog
from storedesk.commerce.services.common import (
    LIVE_REFUND_STATUSES,
    ORDERS_PER_TRANSACTION,
    ROWS_PER_INSERT,
    SPENT_STATUSES,
    ZERO,
    CancelRefused,
    CommerceError,
    IdempotencyKeyReusedError,
    IngestResult,
    OverRefundError,
    PolicyError,
    RefundAmountError,
    RefundCurrencyError,
    RefundIngestResult,
    RefundRefused,
    actor_label,
)
from storedesk.commerce.services.fulfilment import (
    LEFT_STATUSES,
    CancelCheck,
    cancel_check,
    do_cancel_order,
    do_record_shipment,
    do_record_void,
    shipped_at_by_order,
)
from storedesk.commerce.services.order_tasks import (
    do_complete_order_task,
    do_open_refund_task,
    do_set_cancel_reason,
)
from storedesk.commerce.services.orders import do_ingest_orders, refresh_customer_aggregates
from storedesk.commerce.services.policies import do_publish_policy
from storedesk.commerce.services.refunds import (
    do_fail_refund,
    do_ingest_refunds,
    do_record_refund,
    do_settle_refund,
    lock_order,
)

# Moved to the outbox, where it belongs; kept here for callers of the old path.
from storedesk.core.events import record_events_bulk

__all__ = [
    "LEFT_STATUSES",
    "LIVE_REFUND_STATUSES",
    "ORDERS_PER_TRANSACTION",
    "ROWS_PER_INSERT",
    "SPENT_STATUSES",
    "ZERO",
    "CancelCheck",
    "CancelRefused",
    "CommerceError",
    "IdempotencyKeyReusedError",
    "IngestResult",
    "OverRefundError",
    "PolicyError",
    "RefundAmountError",
    "RefundCurrencyError",
    "RefundIngestResult",
    "RefundRefused",
    "actor_label",
    "cancel_check",
    "do_cancel_order",
    "do_complete_order_task",
    "do_create_store",
    "do_ingest_orders",
    "do_ingest_refunds",
    "do_open_refund_task",
    "do_publish_policy",
    "do_fail_refund",
    "do_record_refund",
    "do_settle_refund",
    "do_record_shipment",
    "do_record_void",
    "do_set_cancel_reason",
    "do_upsert_catalog",
    "lock_order",
    "record_events_bulk",
    "refresh_customer_aggregates",
    "shipped_at_by_order",
]
