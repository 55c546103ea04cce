"""The only writers of resolutions: ask for one, approve or decline it, carry it through the
gateway and the store's platform, expire what nobody decided, plan the care budget.

Exactly once, in three steps. (1) Under the order's row lock the resolution is written with its
idempotency key, and a refund's money is reserved as a pending commerce refund (so concurrent
requests can never refund more than was captured) — then committed. (2) The gateway is called
outside any transaction with a key derived from the resolution, the same on every retry. (3) The
result is recorded under the lock again: done only once the gateway confirmed; a final refusal
frees the reserved money; a timeout or 5xx leaves it processing, visible with its error, and the
retry task calls again with the same key. A crash between (2) and (3) is the same as a timeout.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit, record_audit_bulk
from storedesk.commerce.models import Order, Refund
from storedesk.commerce.services import (
    CancelRefused,
    CommerceError,
    do_cancel_order,
    do_fail_refund,
    do_record_refund,
    do_settle_refund,
    lock_order,
)
from storedesk.core.errors import ServiceError
from storedesk.core.events import record_event
from storedesk.core.money import currency_exponent, quantize
from storedesk.resolutions.gateways import (
    GatewayError,
    GatewayRefund,
    gateway_for,
    gateway_name_for,
)
from storedesk.resolutions.limits import (
    current_limits,
    do_save_limits,  # noqa: F401 - part of this module's API for the limits page
    evaluate,
    roles_of,
)
from storedesk.resolutions.models import (
    MONEY_KINDS,
    Approval,
    CareBudget,
    Kind,
    Reason,
    Resolution,
)
from storedesk.resolutions.platform import PlatformResult, platform_for
from storedesk.resolutions.queries import (
    default_amount,
    estimate_cost,
    is_flagged,
    order_money,
    rule_refusal,
    usage_for,
)

logger = logging.getLogger(__name__)
Status = Resolution.Status
APPROVE_PERMISSION = "resolutions.change_approval"
MAX_KEY_LENGTH = 120
MAX_NOTE_LENGTH = 2000
MAX_LINES = 100
# The commerce refund reason each resolution reason is reported under.
REFUND_REASONS = {
    Reason.NOT_RECEIVED: Refund.Reason.NOT_RECEIVED,
    Reason.DELIVERED_NOT_RECEIVED: Refund.Reason.NOT_RECEIVED,
    Reason.DAMAGED: Refund.Reason.DAMAGED,
    Reason.QUALITY: Refund.Reason.DAMAGED,
    Reason.WRONG_ITEM: Refund.Reason.WRONG_ITEM,
    Reason.WRONG_SIZE: Refund.Reason.WRONG_SIZE,
    Reason.LATE: Refund.Reason.LATE_DELIVERY,
    Reason.FRAUD: Refund.Reason.FRAUDULENT,
    Reason.DUPLICATE: Refund.Reason.DUPLICATE,
    Reason.CANCELLATION: Refund.Reason.REQUESTED_BY_CUSTOMER,
    Reason.GOODWILL: Refund.Reason.OTHER,
}
# The reply template (by name) each kind's customer message is written from.
CUSTOMER_TEMPLATES = {
    Kind.REFUND: "Refund confirmation",
    Kind.PARTIAL_REFUND: "Refund confirmation",
    Kind.CANCEL: "Cancellation confirmed",
    Kind.RESHIP: "Replacement on its way",
    Kind.COUPON: "A coupon for you",
    Kind.STORE_CREDIT: "Store credit added",
}


# --- Errors ------------------------------------------------------------------------------------


class ResolutionError(ServiceError):
    """A refused request; `code` is for the API, the message for people, `status` the HTTP
    answer the API gives it."""

    code = "resolution_error"

    def __init__(self, message, *, code: str = "", resolution=None, details=None) -> None:
        super().__init__(message, code, details=details)
        self.resolution = resolution

    def api_details(self):
        if self.resolution is None:
            return super().api_details()
        return {**self.details, "resolution_id": self.resolution.pk}


class InvalidResolution(ResolutionError):
    code = "invalid_resolution"
    status = 422


class NotAllowed(ResolutionError):
    code = "not_allowed"
    status = 403


class ResolutionRefused(ResolutionError):
    code = "refused"
    status = 409


class ApprovalClosed(ResolutionError):
    code = "approval_closed"
    status = 409


# --- Input -------------------------------------------------------------------------------------


def clean_amount(value, currency: str, *, what: str = "amount") -> Decimal | None:
    """A Decimal with no more places than the currency has, positive; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise InvalidResolution(_("The amount must be a decimal string such as 12.50."))
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidResolution(
            _("%(value)s is not an amount.") % {"value": str(value)[:40]}, code="invalid_amount"
        ) from None
    if not amount.is_finite():
        raise InvalidResolution(_("The amount must be a number."), code="invalid_amount")
    if amount <= 0:
        raise InvalidResolution(
            _("The %(what)s must be more than zero.") % {"what": what}, code="invalid_amount"
        )
    if amount != amount.quantize(Decimal(1).scaleb(-currency_exponent(currency))):
        raise InvalidResolution(
            _("%(amount)s has more decimal places than %(currency)s allows.")
            % {"amount": amount, "currency": currency},
            code="invalid_amount",
        )
    if amount >= Decimal("1e12"):
        raise InvalidResolution(_("The amount is too large."), code="invalid_amount")
    return amount


def _clean_key(key: str) -> str:
    key = (key or "").strip()
    if not key:
        raise InvalidResolution(
            _("An Idempotency-Key is required, so a retry never acts twice."),
            code="idempotency_key_required",
        )
    if len(key) > MAX_KEY_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidResolution(
            _("The idempotency key must be printable and at most %(n)s characters.")
            % {"n": MAX_KEY_LENGTH},
            code="invalid_idempotency_key",
        )
    return key


def _clean_lines(order: Order, kind: str, lines) -> list[dict]:
    """Line items ({"line_item", "quantity"}) of this order and/or {"shipping": true}."""
    lines = list(lines or ())
    if len(lines) > MAX_LINES:
        raise InvalidResolution(_("Too many lines."), code="invalid_lines")
    if not lines:
        return []
    items = {item.pk: item for item in order.line_items.all()}
    cleaned = []
    for line in lines:
        if not isinstance(line, dict):
            raise InvalidResolution(_("Each line is an object."), code="invalid_lines")
        if line.get("shipping"):
            cleaned.append({"shipping": True})
            continue
        item = items.get(line.get("line_item")) if isinstance(line.get("line_item"), int) else None
        if item is None:
            raise InvalidResolution(
                _("Line %(line)s is not an item of order %(number)s.")
                % {"line": str(line.get("line_item"))[:20], "number": order.number},
                code="invalid_lines",
            )
        quantity = line.get("quantity", item.quantity)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not (1 <= quantity <= item.quantity)
        ):
            raise InvalidResolution(
                _("Quantity of %(title)s must be between 1 and %(n)s.")
                % {"title": item.title, "n": item.quantity},
                code="invalid_lines",
            )
        row = {"line_item": item.pk, "quantity": quantity, "title": item.title}
        for extra in ("variant", "size", "note"):
            if extra in line and line[extra] not in (None, ""):
                row[extra] = str(line[extra])[:200]
        cleaned.append(row)
    return cleaned


def gateway_key(resolution: Resolution) -> str:
    """The idempotency key sent to the gateway/platform: the same on every retry, unique to
    this resolution even if a database restore reuses its id."""
    digest = hashlib.sha256(resolution.idempotency_key.encode()).hexdigest()[:24]
    return f"storedesk-{resolution.pk}-{digest}"


def _label(actor) -> str:
    return (
        str(actor)
        if getattr(actor, "pk", None)
        else (actor if isinstance(actor, str) else "system")
    )


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- Asking ------------------------------------------------------------------------------------


def do_request_resolution(
    *,
    actor,
    order: Order,
    kind: str,
    amount,
    currency: str,
    reason: str,
    lines=(),
    note: str = "",
    ticket=None,
    idempotency_key: str,
) -> Resolution:
    """Ask for a resolution. Within the actor's limits it is carried out at once (money moved,
    message sent); above them it waits for an approval (status pending_approval). Raises
    InvalidResolution (bad input), NotAllowed (the role may not), ResolutionRefused (a rule:
    open chargeback, over-refund, shipped, cancelled). The same key again returns the first
    outcome; the same key for something else is refused."""
    key = _clean_key(idempotency_key)
    existing = Resolution.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, order, kind)
    try:
        resolution, start = _record_request(
            actor=actor,
            order=order,
            kind=kind,
            amount=amount,
            currency=currency,
            reason=reason,
            lines=lines,
            note=note,
            ticket=ticket,
            key=key,
        )
    except ResolutionError as error:
        _audit_attempt(actor, order, kind, amount, error)
        raise
    if resolution.status == Status.REFUSED:
        raise ResolutionRefused(
            resolution.error,
            code=resolution.error_code,
            resolution=resolution,
            details=resolution.cost_breakdown.get("refusal", {}),
        )
    if start:
        return do_execute_resolution(resolution.pk)
    return resolution


@transaction.atomic
def do_start_resolution(
    *,
    actor,
    order: Order,
    kind: str,
    reason: str,
    amount=None,
    note: str = "",
    ticket=None,
    idempotency_key: str,
) -> Resolution:
    """Inside a caller's transaction (a risk review's cancel): record and start a resolution
    the caller has already authorized, with the rules applied but not the limits; the gateway
    is called by a task once the caller's transaction commits. Raises like
    `do_request_resolution` (a refused rule leaves no row behind: the caller's transaction
    decides)."""
    key = _clean_key(idempotency_key)
    resolution, start = _record_request(
        actor=actor,
        order=order,
        kind=kind,
        amount=amount,
        currency=order.currency,
        reason=reason,
        lines=(),
        note=(note or "")[:MAX_NOTE_LENGTH],
        ticket=ticket,
        key=key,
        skip_limits=True,
    )
    if resolution.status == Status.REFUSED:
        raise ResolutionRefused(resolution.error, code=resolution.error_code)
    if start:  # its task is queued by the handler of this event (see tasks.py)
        record_event("resolution_to_execute", resolution_id=resolution.pk)
    return resolution


def start_refund_for_review(*, order, actor, reason: str, fraud: bool, idempotency_key: str):
    """The refund a risk review's cancel starts (registered with risk.extensions): what is
    left, through the gateway, after commit; a rule that refuses it is said, not raised."""
    try:
        resolution = do_start_resolution(
            actor=actor,
            order=order,
            kind=Kind.REFUND,
            reason=Reason.FRAUD if fraud else Reason.CANCELLATION,
            note=reason,
            idempotency_key=idempotency_key,
        )
    except ResolutionError as refused:
        return {"refund_refused": refused.message}
    return {
        "resolution_id": resolution.pk,
        "refund_status": resolution.status,
        "gateway": resolution.gateway,
    }


DISPUTE_FAMILY_REASONS = {
    "fraud": Reason.FRAUD,
    "not_received": Reason.NOT_RECEIVED,
    "not_as_described": Reason.QUALITY,
    "duplicate": Reason.DUPLICATE,
    "credit_not_processed": Reason.CANCELLATION,
    "subscription": Reason.CANCELLATION,
}


def refund_for_dispute(*, dispute, amount, actor, note: str, idempotency_key: str) -> dict:
    """The refund of a dispute the specialist accepts (registered with disputes.responders):
    a resolution started and carried out at once (the disputes permission authorized it; the
    rules still apply); the same key again returns the first one. Call outside a transaction."""
    order = Order.objects.get(pk=dispute.order_id)
    whole = quantize(Decimal(amount), dispute.currency) >= order.total_price - order.total_refunded
    try:
        resolution = do_start_resolution(
            actor=actor,
            order=order,
            kind=Kind.REFUND if whole else Kind.PARTIAL_REFUND,
            amount=None if whole else amount,
            reason=DISPUTE_FAMILY_REASONS.get(dispute.family, Reason.GOODWILL),
            note=f"Dispute {dispute.provider_id} accepted. {note}"[:MAX_NOTE_LENGTH],
            idempotency_key=idempotency_key,
        )
    except ResolutionError as refused:
        return {"refused": refused.message}
    # The refund is called now, so the dispute is closed after the money moved (the task the
    # event queued finds it finished, or leased, and leaves it be).
    resolution = do_execute_resolution(resolution.pk)
    if resolution.status == Status.FAILED:
        return {"refused": resolution.error, "resolution_id": resolution.pk}
    return {
        "resolution_id": resolution.pk,
        "status": resolution.status,
        "amount": str(resolution.amount),
        "currency": resolution.currency,
    }


def _replay(existing: Resolution, order: Order, kind: str) -> Resolution:
    if existing.order_id != order.pk or existing.kind != kind:
        raise InvalidResolution(
            _("This idempotency key was already used for another action."),
            code="idempotency_key_reused",
        )
    if existing.status == Status.REFUSED:
        raise ResolutionRefused(existing.error, code=existing.error_code, resolution=existing)
    return existing


def _audit_attempt(actor, order: Order, kind: str, amount, error: ResolutionError) -> None:
    """A refused attempt leaves a trace of who tried what, even though nothing was written."""
    with transaction.atomic():
        record_audit(
            actor=actor,
            action="resolution.attempt_refused",
            obj=order,
            changes={
                "kind": str(kind)[:32],
                "amount": str(amount)[:40] if amount is not None else None,
                "code": error.code,
                "message": error.message[:500],
            },
        )


@transaction.atomic
def _record_request(
    *, actor, order, kind, amount, currency, reason, lines, note, ticket, key, skip_limits=False
) -> tuple[Resolution, bool]:
    if kind not in Kind.values:
        raise InvalidResolution(_("Unknown action: %(kind)s.") % {"kind": str(kind)[:40]})
    if reason not in Reason.values:
        raise InvalidResolution(
            _("A reason is required: one of %(reasons)s.") % {"reasons": ", ".join(Reason.values)},
            code="invalid_reason",
        )
    currency = (currency or order.currency or "").strip().upper()
    if currency != order.currency:
        raise InvalidResolution(
            _("Order %(number)s is in %(currency)s, not %(given)s.")
            % {"number": order.number, "currency": order.currency, "given": currency[:8]},
            code="wrong_currency",
        )
    amount = clean_amount(amount, currency)
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidResolution(_("Keep the note under %(n)s characters.") % {"n": MAX_NOTE_LENGTH})
    if ticket is not None and getattr(ticket, "store_id", order.store_id) not in (
        None,
        order.store_id,
    ):
        raise InvalidResolution(_("The ticket belongs to another store."), code="invalid_ticket")
    locked = lock_order(order.pk)
    existing = Resolution.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing, False
    lines = _clean_lines(locked, kind, lines)
    money = order_money(locked)
    amount = default_amount(locked, kind, amount, lines, money)
    if kind in (Kind.PARTIAL_REFUND, Kind.COUPON, Kind.STORE_CREDIT) and amount <= 0:
        raise InvalidResolution(_("Give an amount (or lines) to refund."), code="invalid_amount")
    if kind in MONEY_KINDS and amount > money.captured:
        raise InvalidResolution(
            _("%(amount)s %(currency)s is more than order %(number)s's captured %(captured)s.")
            % {
                "amount": amount,
                "currency": currency,
                "number": locked.number,
                "captured": money.captured,
            },
            code="more_than_refundable",
        )
    if kind == Kind.REFUND and 0 < amount < money.refundable:
        raise InvalidResolution(
            _("A full refund is the %(left)s %(currency)s left; ask for a partial refund for less.")
            % {"left": money.refundable, "currency": currency},
            code="not_full_amount",
        )
    cost, breakdown = estimate_cost(locked, kind, amount, lines, money=money)
    flagged = kind in MONEY_KINDS and is_flagged(locked)
    verdict = evaluate(
        current_limits(),
        roles_of(actor),
        kind,
        amount if kind != Kind.RESHIP else cost,
        order_total=locked.total_price,
        usage=usage_for(locked, kind),
        flagged=flagged,
    )
    if skip_limits:
        verdict.allowed, verdict.within = True, True
    if not verdict.allowed:
        raise NotAllowed(
            _("Your role may not do this (%(kind)s).") % {"kind": Kind(kind).label},
            code="role_not_allowed",
        )
    now = timezone.now()
    resolution = Resolution(
        store_id=locked.store_id,
        order=locked,
        ticket=ticket,
        customer_id=locked.customer_id,
        kind=kind,
        reason=reason,
        amount=amount,
        currency=currency,
        lines=lines,
        cost=cost,
        cost_breakdown=breakdown,
        idempotency_key=key,
        actor=_user(actor),
        actor_label=_label(actor),
        note=note,
        created_at=now,
        updated_at=now,
    )
    code, refusal, link = rule_refusal(locked, kind, amount, money)
    if code:
        resolution.status, resolution.error, resolution.error_code = Status.REFUSED, refusal, code
        resolution.cost_breakdown = breakdown | {"refusal": {"dispute_url": link}}
        _save_new(resolution)
        record_audit(
            actor=actor,
            action="resolution.refused",
            obj=resolution,
            changes={"order": locked.number, "kind": kind, "amount": amount, "code": code},
        )
        return resolution, False
    if not verdict.within:
        return _ask_approval(resolution, locked, actor, verdict), False
    if kind == Kind.NO_COMPENSATION:
        resolution.status, resolution.done_at = Status.DONE, now
        _save_new(resolution)
        _announce(resolution, "resolution_done", actor)
        return resolution, False
    resolution.status = Status.PROCESSING
    _save_new(resolution)
    _start(resolution, locked, money, actor)
    return resolution, True


def _save_new(resolution: Resolution) -> None:
    """Insert; a concurrent request with the same key that committed first wins (the caller
    then gets its resolution as a replay)."""
    try:
        with transaction.atomic():
            resolution.save(force_insert=True)
    except IntegrityError:
        raise InvalidResolution(
            _("This idempotency key is being used by another request; retry it."),
            code="idempotency_key_in_use",
        ) from None


def _start(resolution: Resolution, order: Order, money, actor) -> None:
    """Everything that happens under the order lock before an outside call: cancel the order,
    reserve the refund as a pending commerce refund; leave the call to `do_execute_resolution`
    (a lease of `RESOLUTIONS_STUCK_AFTER_SECONDS` before the retry task takes it over)."""
    now = timezone.now()
    if resolution.kind == Kind.CANCEL:
        try:
            do_cancel_order(
                order,
                reason="fraud" if resolution.reason == Reason.FRAUD else "customer",
                actor=actor,
            )
        except CancelRefused as refused:
            raise ResolutionRefused(str(refused), code="shipped") from None
    if resolution.kind in MONEY_KINDS and resolution.amount > 0:
        resolution.gateway = gateway_name_for(order.store, money.payment)
        try:
            resolution.refund = do_record_refund(
                order,
                resolution.amount,
                resolution.currency,
                REFUND_REASONS[resolution.reason],
                idempotency_key=f"resolution-{resolution.pk}",
                actor=actor,
                note=resolution.note[:500],
                payment=money.payment,
                status=Refund.Status.PENDING,
            )
        except CommerceError as error:
            raise ResolutionRefused(str(error), code=getattr(error, "code", "refused")) from None
    resolution.status = Status.PROCESSING
    resolution.next_attempt_at = now + timedelta(seconds=settings.RESOLUTIONS_STUCK_AFTER_SECONDS)
    resolution.updated_at = now
    resolution.save(
        update_fields=["status", "gateway", "refund", "next_attempt_at", "updated_at", "amount"]
    )
    _announce(resolution, "resolution_started", actor)


def _ask_approval(resolution: Resolution, order: Order, actor, verdict) -> Resolution:
    resolution.status = Status.PENDING_APPROVAL
    _save_new(resolution)
    now = timezone.now()
    approval = Approval.objects.create(
        resolution=resolution,
        store_id=order.store_id,
        requested_by=_user(actor),
        reason=resolution.note,
        why_needed=[str(reason) for reason in verdict.over],
        approver_role=verdict.approver_role,
        requested_amount=resolution.amount,
        created_at=now,
        expires_at=now + timedelta(hours=settings.RESOLUTIONS_APPROVAL_HOURS),
    )
    record_audit(
        actor=actor,
        action="resolution.approval_requested",
        obj=resolution,
        changes={
            "order": order.number,
            "kind": resolution.kind,
            "amount": resolution.amount,
            "why": approval.why_needed,
            "approval": approval.pk,
        },
    )
    record_event(
        "approval_requested",
        approval_id=approval.pk,
        resolution_id=resolution.pk,
        order_id=order.pk,
    )
    _timeline(
        resolution, actor, "approval_requested", approval=approval.pk, why=approval.why_needed
    )
    return resolution


def _announce(resolution: Resolution, event: str, actor, **extra) -> None:
    """Audit entry, outbox event and ticket timeline entry of a resolution's step."""
    record_audit(
        actor=actor,
        action=f"resolution.{event.removeprefix('resolution_')}",
        obj=resolution,
        changes={
            "order_id": resolution.order_id,
            "kind": resolution.kind,
            "reason": resolution.reason,
            "amount": resolution.amount,
            "currency": resolution.currency,
            "status": resolution.status,
            "cost": resolution.cost,
            "gateway": resolution.gateway,
            "gateway_reference": resolution.gateway_reference,
            **extra,
        },
    )
    record_event(
        event,
        resolution_id=resolution.pk,
        order_id=resolution.order_id,
        kind=resolution.kind,
        status=resolution.status,
        amount=str(resolution.amount),
        currency=resolution.currency,
    )
    _timeline(resolution, actor, event, **extra)


def _timeline(resolution: Resolution, actor, event: str, **data) -> None:
    if resolution.ticket_id is None:
        return
    from storedesk.desk.services import do_add_timeline_event

    do_add_timeline_event(
        resolution.ticket,
        "resolution",
        actor=actor,
        step=event,
        resolution=resolution.pk,
        action=resolution.kind,
        reason=resolution.reason,
        status=resolution.status,
        amount=str(resolution.amount),
        currency=resolution.currency,
        gateway=resolution.gateway,
        demo=resolution.is_demo,
        **{key: value for key, value in data.items() if value not in (None, "", [])},
    )


# --- Carrying out ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    refund: GatewayRefund | None = None
    platform: PlatformResult | None = None


def do_execute_resolution(resolution_id: int, *, force: bool = False) -> Resolution:
    """Call the gateway and the platform for a processing resolution, then record the result.
    Safe to run any number of times, at once or after a crash: the same keys are sent, and a
    resolution already finished, or being called by another worker (its lease), is left be."""
    resolution, claimed = _claim(resolution_id, force=force)
    if not claimed:
        return resolution
    try:
        outcome = _call_outside(resolution)
    except GatewayError as error:
        return _record_failure(resolution_id, error)
    except Exception as error:  # a bug or an unforeseen network failure: visible, retried
        logger.exception("Resolution %s: outside call failed", resolution_id)
        return _record_failure(
            resolution_id,
            GatewayError("unexpected_error", f"{type(error).__name__}: {error}", retryable=True),
        )
    return _finish(resolution_id, outcome)


@transaction.atomic
def _claim(resolution_id: int, *, force: bool) -> tuple[Resolution, bool]:
    resolution = Resolution.objects.select_for_update(of=("self",)).get(pk=resolution_id)
    if resolution.status != Status.PROCESSING:
        return resolution, False
    now = timezone.now()
    leased = resolution.next_attempt_at is not None and resolution.next_attempt_at > now
    if resolution.attempts > 0 and leased and not force:
        return resolution, False
    resolution.attempts += 1
    resolution.next_attempt_at = now + timedelta(seconds=settings.RESOLUTIONS_STUCK_AFTER_SECONDS)
    resolution.updated_at = now
    resolution.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    return resolution, True


def _call_outside(resolution: Resolution) -> _Outcome:
    order = Order.objects.select_related("store").get(pk=resolution.order_id)
    platform = platform_for(order.store)
    key = gateway_key(resolution)
    outcome = _Outcome()
    if resolution.kind == Kind.RESHIP:
        outcome.platform = platform.reship(order, resolution.lines, key)
    elif resolution.kind == Kind.COUPON:
        outcome.platform = platform.create_coupon(
            order, resolution.amount, resolution.currency, key
        )
    elif resolution.kind == Kind.STORE_CREDIT:
        outcome.platform = platform.grant_store_credit(
            order, resolution.amount, resolution.currency, key
        )
    elif resolution.kind == Kind.CANCEL:
        outcome.platform = platform.cancel_order(order, key)
    if resolution.kind in MONEY_KINDS and resolution.refund_id is not None:
        refund = Refund.objects.select_related("payment").get(pk=resolution.refund_id)
        if refund.payment is None:
            raise GatewayError("no_payment", _("The order has no captured payment to refund."))
        gateway = gateway_for(order.store, refund.payment)
        outcome.refund = gateway.refund(refund.payment, refund.amount, refund.currency, key)
        if outcome.refund.amount != refund.amount:
            raise GatewayError(
                "amount_mismatch",
                _("The gateway refunded %(got)s, not %(asked)s: check it in its dashboard.")
                % {"got": outcome.refund.amount, "asked": refund.amount},
            )
    return outcome


@transaction.atomic
def _finish(resolution_id: int, outcome: _Outcome) -> Resolution:
    order_id = Resolution.objects.values_list("order_id", flat=True).get(pk=resolution_id)
    lock_order(order_id)
    resolution = (
        Resolution.objects.select_for_update(of=("self",))
        .select_related("ticket", "actor", "refund")
        .get(pk=resolution_id)
    )
    if resolution.status != Status.PROCESSING:
        return resolution
    if resolution.refund is not None and outcome.refund is not None:
        do_settle_refund(resolution.refund, provider_id=outcome.refund.reference[:64])
        resolution.gateway_reference = outcome.refund.reference[:128]
    if outcome.platform is not None:
        resolution.platform_reference = outcome.platform.reference[:128]
        if outcome.platform.note:
            resolution.cost_breakdown = resolution.cost_breakdown | {
                "platform": outcome.platform.platform,
                "platform_note": outcome.platform.note,
            }
    now = timezone.now()
    resolution.status, resolution.done_at, resolution.updated_at = Status.DONE, now, now
    resolution.error, resolution.error_code, resolution.next_attempt_at = "", "", None
    resolution.save()
    actor = resolution.actor or resolution.actor_label
    _announce(
        resolution,
        "resolution_done",
        actor,
        gateway_reference=resolution.gateway_reference,
        platform_reference=resolution.platform_reference,
    )
    _message_customer(resolution)
    return resolution


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@transaction.atomic
def _record_failure(resolution_id: int, error: GatewayError) -> Resolution:
    order_id = Resolution.objects.values_list("order_id", flat=True).get(pk=resolution_id)
    lock_order(order_id)
    resolution = (
        Resolution.objects.select_for_update(of=("self",))
        .select_related("ticket", "actor", "refund")
        .get(pk=resolution_id)
    )
    if resolution.status != Status.PROCESSING:
        return resolution
    now = timezone.now()
    resolution.error, resolution.error_code = str(error.message)[:2000], error.code[:64]
    resolution.updated_at = now
    actor = resolution.actor or resolution.actor_label
    if error.retryable and resolution.attempts < settings.RESOLUTIONS_MAX_ATTEMPTS:
        resolution.next_attempt_at = now + _backoff(resolution.attempts)
        resolution.save(update_fields=["error", "error_code", "next_attempt_at", "updated_at"])
        record_audit(
            actor=actor,
            action="resolution.gateway_retry_scheduled",
            obj=resolution,
            changes={
                "code": error.code,
                "error": resolution.error[:500],
                "attempts": resolution.attempts,
                "next_attempt_at": resolution.next_attempt_at,
            },
        )
        return resolution
    resolution.status, resolution.next_attempt_at = Status.FAILED, None
    resolution.save(
        update_fields=["status", "error", "error_code", "next_attempt_at", "updated_at"]
    )
    if resolution.refund is not None:
        do_fail_refund(resolution.refund, error=resolution.error)
    _announce(resolution, "resolution_failed", actor, error=resolution.error, code=error.code)
    return resolution


def do_retry_due_resolutions(*, limit: int = 100) -> int:
    """Call again the processing resolutions that are due: retries after a timeout, 429 or 5xx,
    and those whose worker died mid-call (their lease ran out). Same keys, so at most once."""
    due = list(
        Resolution.objects.filter(status=Status.PROCESSING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for resolution_id in due:
        do_execute_resolution(resolution_id)
    return len(due)


def _message_customer(resolution: Resolution) -> None:
    """The customer's message from the kind's reply template, on the resolution's ticket. A
    template missing, or a value it needs, leaves a note on the timeline instead."""
    if resolution.ticket_id is None:
        return
    from storedesk.desk.models import ReplyTemplate
    from storedesk.desk.replies import render_reply
    from storedesk.desk.services import do_reply

    name = getattr(settings, "RESOLUTIONS_TEMPLATES", {}).get(resolution.kind) or (
        CUSTOMER_TEMPLATES.get(resolution.kind)
    )
    template = ReplyTemplate.objects.filter(name=name, is_active=True).first() if name else None
    if template is None:
        return
    order = resolution.order
    extra = {"order_number": order.number}
    if resolution.amount > 0:
        extra["refund_amount"] = _money_text(resolution.amount, resolution.currency)
    if resolution.kind == Kind.COUPON and resolution.platform_reference:
        extra["coupon_code"] = resolution.platform_reference
    author = resolution.actor
    rendered = render_reply(template, resolution.ticket, agent=author, extra=extra)
    if rendered.missing:
        _timeline(resolution, author, "message_not_sent", missing=rendered.missing)
        return
    try:
        do_reply(
            resolution.ticket,
            author=author,
            text=rendered.text,
            html=rendered.html,
            template=template,
            idempotency_key=f"resolution-{resolution.pk}",
        )
    except ValidationError as error:
        _timeline(resolution, author, "message_not_sent", error=" ".join(error.messages)[:300])


def _money_text(amount: Decimal, currency: str) -> str:
    value = quantize(amount, currency)
    return f"${value:,}" if currency == "USD" else f"{value:,} {currency}"


# --- Approvals ---------------------------------------------------------------------------------


def _lock_approval(approval: Approval) -> tuple[Order, Approval, Resolution]:
    """The order, then the approval, then its resolution: the lock order of every decision."""
    order_id = Resolution.objects.values_list("order_id", flat=True).get(pk=approval.resolution_id)
    order = lock_order(order_id)
    locked = Approval.objects.select_for_update(of=("self",)).get(pk=approval.pk)
    resolution = (
        Resolution.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .get(pk=approval.resolution_id)
    )
    return order, locked, resolution


def _check_decider(actor, approval: Approval) -> None:
    if getattr(actor, "pk", None) and approval.requested_by_id == actor.pk:
        raise NotAllowed(
            _("Nobody approves their own request: ask a colleague."), code="own_request"
        )
    if not getattr(actor, "pk", None) or not actor.has_perm(APPROVE_PERMISSION):
        raise NotAllowed(_("Your role may not decide approvals."))
    roles = roles_of(actor)
    if approval.approver_role and approval.approver_role not in roles and "admin" not in roles:
        raise NotAllowed(
            _("This request needs a %(role)s.") % {"role": approval.approver_role},
            code="approver_role_required",
        )


def _expire(approval: Approval, resolution: Resolution, actor=None) -> None:
    now = timezone.now()
    approval.status, approval.decided_at = Approval.Status.EXPIRED, now
    approval.save(update_fields=["status", "decided_at"])
    resolution.status, resolution.updated_at = Status.EXPIRED, now
    resolution.save(update_fields=["status", "updated_at"])
    _announce(resolution, "resolution_expired", actor, approval=approval.pk)


def do_approve(*, actor, approval: Approval, amount=None) -> Resolution:
    """Approve a pending request, optionally for less; it is then carried out at once.
    Nobody approves their own; an expired request is refused (and marked expired); an approver
    cannot approve beyond their own limits."""
    resolution, start = _approve(actor=actor, approval=approval, amount=amount)
    if start:
        return do_execute_resolution(resolution.pk)
    return resolution


def _approve(*, actor, approval: Approval, amount) -> tuple[Resolution, bool]:
    with transaction.atomic():
        order, locked, resolution = _lock_approval(approval)
        if locked.status == Approval.Status.APPROVED and locked.approver_id == getattr(
            actor, "pk", None
        ):
            return resolution, False
        _check_decider(actor, locked)
        if locked.status != Approval.Status.PENDING:
            raise ApprovalClosed(
                _("This request was already %(status)s.")
                % {"status": locked.get_status_display().lower()}
            )
        expired = locked.expires_at <= timezone.now()
        if expired:
            _expire(locked, resolution, actor)
    if expired:
        raise ApprovalClosed(_("This request expired before anyone decided."), code="expired")
    with transaction.atomic():
        order, locked, resolution = _lock_approval(approval)
        if locked.status != Approval.Status.PENDING:
            raise ApprovalClosed(_("This request was decided meanwhile."))
        new_amount = clean_amount(amount, resolution.currency) if amount is not None else None
        if new_amount is not None and new_amount > locked.requested_amount:
            raise InvalidResolution(
                _("An approval can lower the amount, not raise it (asked: %(asked)s).")
                % {"asked": locked.requested_amount},
                code="amount_above_request",
            )
        if new_amount is not None and resolution.kind == Kind.REFUND:
            resolution.kind = Kind.PARTIAL_REFUND  # less than the whole is a partial refund
        if new_amount is not None:
            resolution.amount = new_amount
        money = order_money(order)
        cost, breakdown = estimate_cost(
            order, resolution.kind, resolution.amount, resolution.lines, money=money
        )
        verdict = evaluate(
            current_limits(),
            roles_of(actor),
            resolution.kind,
            resolution.amount if resolution.kind != Kind.RESHIP else cost,
            order_total=order.total_price,
            usage=usage_for(order, resolution.kind),
            flagged=resolution.kind in MONEY_KINDS and is_flagged(order),
        )
        if not verdict.within:
            raise NotAllowed(
                _("This is over your own limits too (%(why)s): an administrator decides.")
                % {"why": "; ".join(str(reason) for reason in verdict.over)},
                code="over_approver_limits",
            )
        code, refusal, _link = rule_refusal(order, resolution.kind, resolution.amount, money)
        if code:
            raise ResolutionRefused(refusal, code=code, resolution=resolution)
        now = timezone.now()
        locked.status, locked.approver, locked.decided_at = Approval.Status.APPROVED, actor, now
        locked.approved_amount = resolution.amount
        locked.save(update_fields=["status", "approver", "decided_at", "approved_amount"])
        resolution.cost, resolution.cost_breakdown = cost, breakdown
        resolution.save(update_fields=["kind", "amount", "cost", "cost_breakdown"])
        record_event(
            "approval_decided", approval_id=locked.pk, resolution_id=resolution.pk, approved=True
        )
        _timeline(
            resolution,
            actor,
            "approval_approved",
            approval=locked.pk,
            requested_amount=str(locked.requested_amount),
        )
        if resolution.kind == Kind.NO_COMPENSATION:
            resolution.status, resolution.done_at = Status.DONE, now
            resolution.save(update_fields=["status", "done_at"])
            _announce(resolution, "resolution_done", actor)
            return resolution, False
        _start(resolution, order, money, actor)
        record_audit(
            actor=actor,
            action="resolution.approved",
            obj=resolution,
            changes={
                "approval": locked.pk,
                "requested_amount": locked.requested_amount,
                "approved_amount": resolution.amount,
            },
        )
        return resolution, True


@transaction.atomic
def do_decline(*, actor, approval: Approval, reason: str) -> Resolution:
    """Decline a pending request with a reason the requester and the timeline see."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidResolution(_("Say why the request is declined."), code="reason_required")
    if len(reason) > MAX_NOTE_LENGTH:
        raise InvalidResolution(
            _("Keep the reason under %(n)s characters.") % {"n": MAX_NOTE_LENGTH}
        )
    _order, locked, resolution = _lock_approval(approval)
    if locked.status == Approval.Status.DECLINED and locked.approver_id == getattr(
        actor, "pk", None
    ):
        return resolution
    _check_decider(actor, locked)
    if locked.status != Approval.Status.PENDING:
        raise ApprovalClosed(
            _("This request was already %(status)s.")
            % {"status": locked.get_status_display().lower()}
        )
    now = timezone.now()
    locked.status, locked.approver, locked.decided_at = Approval.Status.DECLINED, actor, now
    locked.decline_reason = reason
    locked.save(update_fields=["status", "approver", "decided_at", "decline_reason"])
    resolution.status, resolution.updated_at = Status.DECLINED, now
    resolution.save(update_fields=["status", "updated_at"])
    record_event(
        "approval_decided", approval_id=locked.pk, resolution_id=resolution.pk, approved=False
    )
    _announce(resolution, "resolution_declined", actor, approval=locked.pk, decline_reason=reason)
    return resolution


@transaction.atomic
def do_expire_approvals(*, now=None) -> int:
    """Requests nobody decided in time expire, set-based (their resolutions with them)."""
    now = now or timezone.now()
    due = list(
        Approval.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status=Approval.Status.PENDING, expires_at__lte=now)
        .order_by("pk")[:1000]
    )
    if not due:
        return 0
    ids = [approval.pk for approval in due]
    resolution_ids = [approval.resolution_id for approval in due]
    Approval.objects.filter(pk__in=ids).update(status=Approval.Status.EXPIRED, decided_at=now)
    Resolution.objects.filter(pk__in=resolution_ids, status=Status.PENDING_APPROVAL).update(
        status=Status.EXPIRED, updated_at=now
    )
    expired = list(Resolution.objects.filter(pk__in=resolution_ids).select_related("ticket"))
    record_audit_bulk(
        actor_label="system",
        action="resolution.expired",
        objects=expired,
        changes_for=lambda resolution: {"approval_expired_at": now.isoformat()},
    )
    for resolution in expired:
        record_event(
            "resolution_expired", resolution_id=resolution.pk, order_id=resolution.order_id
        )
        _timeline(resolution, None, "resolution_expired")
    return len(ids)


# --- Care budget -------------------------------------------------------------------------------


@transaction.atomic
def do_set_budget(
    *,
    actor,
    store,
    month: date,
    refunds=None,
    reships=None,
    coupons=None,
    gifts=None,
    currency: str = "",
) -> CareBudget:
    """Plan a month's care budget per category (amounts in the store's currency)."""
    month = month.replace(day=1)
    currency = (currency or store.currency).upper()
    values = {}
    for name, value in (
        ("refunds", refunds),
        ("reships", reships),
        ("coupons", coupons),
        ("gifts", gifts),
    ):
        if value in (None, ""):
            continue
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise InvalidResolution(_("%(name)s: not an amount.") % {"name": name}) from None
        if not amount.is_finite() or amount < 0 or amount != quantize(amount, currency):
            raise InvalidResolution(
                _("%(name)s: a positive amount with at most the currency's decimals.")
                % {"name": name}
            )
        values[name] = amount
    budget, _created = CareBudget.objects.select_for_update().get_or_create(
        store=store,
        month=month,
        defaults={"currency": currency, "updated_at": timezone.now(), "updated_by": _user(actor)},
    )
    before = {name: getattr(budget, name) for name in values}
    for name, amount in values.items():
        setattr(budget, name, amount)
    budget.updated_at, budget.updated_by = timezone.now(), _user(actor)
    budget.save()
    record_audit(
        actor=actor,
        action="resolutions.budget_set",
        obj=budget,
        changes={name: [before[name], values[name]] for name in values},
    )
    return budget
