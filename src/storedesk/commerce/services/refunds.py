"""Refunds: one at a time under the order's row lock (`do_record_refund`), or in bulk from a
connector (`do_ingest_refunds`); never more than was captured, exactly once per idempotency key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import batched

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.ingest import RefundIn, number_key
from storedesk.commerce.models import MONEY, Order, Payment, Refund, Store
from storedesk.commerce.services.common import (
    LIVE_REFUND_STATUSES,
    ORDERS_PER_TRANSACTION,
    ROWS_PER_INSERT,
    ZERO,
    IdempotencyKeyReusedError,
    OverRefundError,
    RefundAmountError,
    RefundCurrencyError,
    RefundIngestResult,
    RefundRefused,
    _currency,
    _decimal,
    actor_label,
)
from storedesk.commerce.services.orders import refresh_customer_aggregates
from storedesk.core.events import record_event, record_events_bulk
from storedesk.core.lookups import provider_keys_filter
from storedesk.core.money import Money, currency_exponent


def lock_order(order_id: int) -> Order:
    """The one way to lock an order row (money movements on an order are serialised by it)."""
    return Order.objects.select_for_update(of=("self",)).get(pk=order_id)


def _captured_total(order_id: int) -> Decimal:
    total = Payment.objects.filter(
        order_id=order_id, status=Payment.Status.SUCCEEDED, captured=True
    ).aggregate(total=Sum("amount"))["total"]
    return (total or ZERO).quantize(ZERO)


def _refund_totals(order_id: int) -> tuple[Decimal, Decimal]:
    """(live = pending + succeeded, succeeded) refunded amounts of an order."""
    totals = Refund.objects.filter(order_id=order_id).aggregate(
        live=Sum("amount", filter=Q(status__in=LIVE_REFUND_STATUSES)),
        succeeded=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED)),
    )
    return ((totals["live"] or ZERO).quantize(ZERO), (totals["succeeded"] or ZERO).quantize(ZERO))


def _financial_status_after_refund(current: str, refunded: Decimal, captured: Decimal) -> str:
    if refunded <= 0:
        return current
    if refunded >= captured:
        return Order.FinancialStatus.REFUNDED
    return Order.FinancialStatus.PARTIALLY_REFUNDED


def _refund_amount(amount, currency: str | None) -> tuple[Decimal, str]:
    if isinstance(amount, Money):
        if currency and _currency(currency) != amount.currency:
            raise RefundCurrencyError(f"amount is in {amount.currency}, not {currency}")
        amount, currency = amount.amount, amount.currency
    if currency is None:
        raise RefundCurrencyError("a refund needs a currency")
    value = _decimal(amount, "refund amount")
    currency = _currency(currency)
    if value <= 0:
        raise RefundAmountError("a refund amount must be positive")
    if value != value.quantize(Decimal(1).scaleb(-currency_exponent(currency))):
        raise RefundAmountError(f"{value} has more precision than {currency} allows")
    return value, currency


def _check_replay(existing: Refund, order: Order, amount: Decimal, currency: str) -> Refund:
    """A replay returns the first refund; a key reused for something else is refused."""
    if (existing.order_id, existing.amount, existing.currency) != (order.pk, amount, currency):
        raise IdempotencyKeyReusedError(
            f"idempotency key {existing.idempotency_key!r} was already used for "
            f"{existing.amount} {existing.currency} on order {existing.order_id}"
        )
    return existing


@transaction.atomic
def do_record_refund(
    order: Order,
    amount: Money | Decimal,
    currency: str | None = None,
    reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
    *,
    idempotency_key: str,
    actor=None,
    note: str = "",
    payment: Payment | None = None,
    provider_id: str = "",
    status: str = Refund.Status.SUCCEEDED,
    created_at: datetime | None = None,
) -> Refund:
    """Record a refund on an order exactly once per idempotency key.

    The order row is locked first, so concurrent refunds of one order are serialised; the
    refund is refused when it would take the live refunds above the captured total.
    """
    amount, currency = _refund_amount(amount, currency)
    if not idempotency_key:
        raise RefundRefused("a refund needs an idempotency key")
    if reason not in Refund.Reason.values:
        raise RefundRefused(f"unknown refund reason {reason!r}")
    locked = lock_order(order.pk)
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _check_replay(existing, locked, amount, currency)
    if currency != locked.currency:
        raise RefundCurrencyError(f"order {locked.number} is in {locked.currency}, not {currency}")
    if payment is not None and payment.order_id != locked.pk:
        raise RefundRefused("the payment belongs to another order")
    captured = _captured_total(locked.pk)
    live, _ = _refund_totals(locked.pk)
    if live + amount > captured:
        raise OverRefundError(
            f"refund of {amount} {currency} on {locked.number} exceeds what is left: "
            f"{captured - live} of {captured} captured"
        )
    refund = _insert_refund(
        locked,
        amount,
        currency,
        reason,
        idempotency_key=idempotency_key,
        actor=actor,
        note=note,
        payment=payment,
        provider_id=provider_id,
        status=status,
        created_at=created_at,
    )
    if refund.order_id != locked.pk or refund.amount != amount:
        return _check_replay(refund, locked, amount, currency)
    _after_refund(locked, refund, actor)
    return refund


def _insert_refund(
    order: Order,
    amount: Decimal,
    currency: str,
    reason: str,
    *,
    idempotency_key: str,
    actor,
    note: str,
    payment: Payment | None,
    provider_id: str,
    status: str,
    created_at: datetime | None,
) -> Refund:
    """Insert, or return the refund a concurrent caller just stored under the same key."""
    if payment is None:
        payment = (
            Payment.objects.filter(
                order_id=order.pk, status=Payment.Status.SUCCEEDED, captured=True
            )
            .order_by("-created_at", "-pk")
            .first()
        )
    try:
        with transaction.atomic():
            return Refund.objects.create(
                order=order,
                payment=payment,
                amount=amount,
                currency=currency,
                reason=reason,
                note=note,
                status=status,
                provider_id=provider_id,
                idempotency_key=idempotency_key,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=created_at or timezone.now(),
            )
    except IntegrityError:
        return Refund.objects.get(idempotency_key=idempotency_key)


def _after_refund(order: Order, refund: Refund, actor) -> None:
    """Bring the order's refunded total and status, the customer's aggregates, audit and
    events up to date with a new refund. A pending refund changes none of the totals (they
    count succeeded refunds): only its audit entry and event are written."""
    before = order.financial_status
    if refund.status != Refund.Status.PENDING:
        captured = _captured_total(order.pk)
        _, succeeded = _refund_totals(order.pk)
        order.total_refunded = succeeded
        order.financial_status = _financial_status_after_refund(before, succeeded, captured)
        order.save(update_fields=["total_refunded", "financial_status"])
        if order.customer_id:
            refresh_customer_aggregates([order.customer_id])
    record_audit(
        actor=actor,
        action="refund.recorded",
        obj=refund,
        changes={
            "order": order.number,
            "amount": refund.amount,
            "currency": refund.currency,
            "reason": refund.reason,
            "status": refund.status,
            "financial_status": [before, order.financial_status],
        },
    )
    record_event(
        "refund_recorded",
        refund_id=refund.pk,
        order_id=order.pk,
        amount=str(refund.amount),
        currency=refund.currency,
        reason=refund.reason,
    )


@transaction.atomic
def do_settle_refund(refund: Refund, *, provider_id: str = "", actor=None) -> Refund:
    """A pending refund the gateway confirmed: succeeded, with the gateway's reference; the
    order's refunded total and status follow. Settling twice changes nothing."""
    order = lock_order(refund.order_id)
    locked = Refund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    if locked.status == Refund.Status.SUCCEEDED:
        return locked
    if locked.status != Refund.Status.PENDING:
        raise RefundRefused(f"refund {locked.pk} is {locked.status}, not pending")
    locked.status = Refund.Status.SUCCEEDED
    locked.provider_id = provider_id or locked.provider_id
    locked.save(update_fields=["status", "provider_id"])
    _after_refund(order, locked, actor)
    return locked


@transaction.atomic
def do_fail_refund(refund: Refund, *, error: str = "", actor=None) -> Refund:
    """A pending refund the gateway refused: failed, so its amount is refundable again."""
    order = lock_order(refund.order_id)
    locked = Refund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    if locked.status != Refund.Status.PENDING:
        return locked
    locked.status = Refund.Status.FAILED
    locked.save(update_fields=["status"])
    record_audit(
        actor=actor,
        action="refund.failed",
        obj=locked,
        changes={"order": order.number, "amount": locked.amount, "error": error[:500]},
    )
    record_event("refund_failed", refund_id=locked.pk, order_id=order.pk)
    return locked


def do_ingest_refunds(
    store: Store,
    refunds: Iterable[RefundIn],
    *,
    actor=None,
    batch_size: int = ORDERS_PER_TRANSACTION,
    dispatch_events: bool = True,
) -> RefundIngestResult:
    """Store refunds reported by a gateway or an import, set-based and idempotent by key.

    The same rules as `do_record_refund` hold (locked orders, no over-refund, the order's
    currency); refused refunds are returned with their error code instead of stopping the load.
    """
    result = RefundIngestResult()
    for batch in batched(refunds, batch_size):
        with transaction.atomic():
            result.add(_ingest_refund_batch(store, batch, actor, dispatch_events))
    return result


def _ingest_refund_batch(
    store: Store, batch: Sequence[RefundIn], actor, dispatch_events: bool
) -> RefundIngestResult:
    result = RefundIngestResult()
    seen = set(
        Refund.objects.filter(idempotency_key__in=[r.idempotency_key for r in batch]).values_list(
            "idempotency_key", flat=True
        )
    )
    keys = list({number_key(r.order_number) for r in batch})
    orders = {
        key: (pk, currency)
        for key, pk, currency in Order.objects.select_for_update(of=("self",))
        .filter(store=store, number_key__in=keys)
        .order_by("pk")
        .values_list("number_key", "pk", "currency")
    }
    order_ids = [pk for pk, _ in orders.values()]
    room = _refund_room(order_ids)
    payments = _payment_ids(
        {(r.gateway, r.payment_provider_id) for r in batch if r.gateway and r.payment_provider_id}
    )
    rows = []
    for refund_in in batch:
        error = _refund_in_error(refund_in, seen, orders, room)
        if error == "replay":
            result.skipped += 1
            continue
        if error:
            result.rejected.append((refund_in.idempotency_key, error))
            continue
        order_id, _ = orders[number_key(refund_in.order_number)]
        seen.add(refund_in.idempotency_key)
        if refund_in.status in LIVE_REFUND_STATUSES:
            room[order_id] -= refund_in.amount
        rows.append(
            Refund(
                order_id=order_id,
                payment_id=payments.get((refund_in.gateway, refund_in.payment_provider_id)),
                amount=refund_in.amount,
                currency=_currency(refund_in.currency),
                reason=refund_in.reason,
                note=refund_in.note,
                status=refund_in.status,
                provider_id=refund_in.provider_id,
                idempotency_key=refund_in.idempotency_key,
                created_at=refund_in.created_at,
            )
        )
    Refund.objects.bulk_create(rows, batch_size=ROWS_PER_INSERT)
    result.created = len(rows)
    if rows:
        _settle_refunded_orders({row.order_id for row in rows})
        record_audit_bulk(
            actor_label=actor_label(actor),
            action="refund.recorded",
            objects=rows,
            changes_for=lambda refund: {
                "amount": refund.amount,
                "currency": refund.currency,
                "reason": refund.reason,
                "status": refund.status,
            },
        )
        record_events_bulk(
            "refund_recorded",
            [
                {
                    "refund_id": row.pk,
                    "order_id": row.order_id,
                    "amount": str(row.amount),
                    "currency": row.currency,
                    "reason": row.reason,
                }
                for row in rows
            ],
            dispatch=dispatch_events,
        )
    return result


def _money_by_order(rows) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, amount in rows:
        totals[order_id] += amount
    return totals


def _captured_by_order(order_ids) -> dict[int, Decimal]:
    """Captured payments per order, read by the order index alone and filtered here: a status
    condition in SQL lets a planner without fresh statistics walk the status index instead,
    which turns every batch of a big load into a scan of all payments."""
    rows = Payment.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "amount", "status", "captured"
    )
    return _money_by_order(
        (order_id, amount)
        for order_id, amount, status, captured in rows
        if status == Payment.Status.SUCCEEDED and captured
    )


def _refunded_by_order(order_ids, statuses) -> dict[int, Decimal]:
    """Refunds in `statuses` per order, read by the order index alone (see above)."""
    rows = Refund.objects.filter(order_id__in=order_ids).values_list("order_id", "amount", "status")
    return _money_by_order(
        (order_id, amount) for order_id, amount, status in rows if status in statuses
    )


def _refund_room(order_ids: list[int]) -> dict[int, Decimal]:
    """How much each order may still refund: captured minus live refunds."""
    captured = _captured_by_order(order_ids)
    refunded = _refunded_by_order(order_ids, LIVE_REFUND_STATUSES)
    return {pk: (captured[pk] - refunded[pk]).quantize(ZERO) for pk in order_ids}


def _payment_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    condition = provider_keys_filter(keys)
    return {
        (gateway, provider_id): pk
        for gateway, provider_id, pk in Payment.objects.filter(condition).values_list(
            "gateway", "provider_id", "pk"
        )
    }


def _refund_in_error(
    refund_in: RefundIn, seen: set[str], orders: dict, room: dict[int, Decimal]
) -> str:
    """'' when the refund may be stored, 'replay' for a known key, else an error code."""
    if refund_in.idempotency_key in seen:
        return "replay"
    if not refund_in.idempotency_key:
        return RefundRefused.code
    found = orders.get(number_key(refund_in.order_number))
    if found is None:
        return "unknown_order"
    if not isinstance(refund_in.amount, Decimal) or refund_in.amount <= 0:
        return RefundAmountError.code
    if refund_in.reason not in Refund.Reason.values:
        return "unknown_reason"
    order_id, currency = found
    if refund_in.currency.upper() != currency:
        return RefundCurrencyError.code
    if refund_in.status in LIVE_REFUND_STATUSES and refund_in.amount > room[order_id]:
        return OverRefundError.code
    return ""


def _settle_refunded_orders(order_ids: set[int]) -> None:
    """Set total_refunded and financial_status of orders from their refunds: totals summed
    here, written with one prepared UPDATE run for every order (a 1,000-branch CASE costs
    Django more to build than the database to run)."""
    ids = sorted(order_ids)
    ops, table = connection.ops, Order._meta.db_table
    sql = (
        f"UPDATE {ops.quote_name(table)} SET total_refunded = %s, financial_status = %s "  # noqa: S608 - our table name, bound values
        "WHERE id = %s"
    )
    for chunk in batched(ids, ROWS_PER_INSERT):
        captured = _captured_by_order(chunk)
        refunded = _refunded_by_order(chunk, {Refund.Status.SUCCEEDED})
        statuses = dict(Order.objects.filter(pk__in=chunk).values_list("pk", "financial_status"))
        rows = []
        for pk in chunk:
            total = refunded[pk]
            if total <= 0:
                status = statuses[pk]
            elif total >= captured[pk]:
                status = Order.FinancialStatus.REFUNDED
            else:
                status = Order.FinancialStatus.PARTIALLY_REFUNDED
            rows.append((ops.adapt_decimalfield_value(total, **MONEY), status, pk))
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    refresh_customer_aggregates(
        set(
            Order.objects.filter(pk__in=ids)
            .exclude(customer=None)
            .values_list("customer_id", flat=True)
        )
    )
