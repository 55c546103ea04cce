"""Decisions on orders in risk review, the S2 payment-risk SOP: detect → check → contact the
customer → decide → work with the gateway → done.

Each `do_*` is one transaction that locks the order, then its assessment (the order first, as
every money movement on an order does, so the two never deadlock), writes the review's
timeline (`RiskDecision`), the audit trail and a domain event, and is harmless to repeat: a
second click or a retried request returns the decision the first one made.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order, OrderTask, Payment, Refund
from storedesk.commerce.services import (
    LIVE_REFUND_STATUSES,
    CancelRefused,
    do_cancel_order,
    do_complete_order_task,
    do_open_refund_task,
    do_set_cancel_reason,
    lock_order,
    shipped_at_by_order,
)
from storedesk.core.errors import ServiceError
from storedesk.core.events import handles, record_event
from storedesk.core.money import quantize
from storedesk.risk.extensions import refund_starter
from storedesk.risk.facts import address_key
from storedesk.risk.models import OrderRisk, RiskDecision, RiskList
from storedesk.risk.services import DEFAULT_LISTS, do_add_to_list

Kind = RiskDecision.Kind
Stage = OrderRisk.Stage
Status = OrderRisk.Status
REASON_MAX_LENGTH = 2000
MESSAGE_MAX_LENGTH = 5000
# Shopify's order cancel_reason values for what a risk review cancels.
CANCEL_REASON_FRAUD = "fraud"
CANCEL_REASON_OTHER = "other"
# What "cancel and report fraud" adds to the block lists, per list.
BLOCK_LISTS = ("blocked_emails", "blocked_cards", "blocked_addresses", "blocked_ips")
STAGE_ORDER = [stage.value for stage in Stage]


class ReviewError(ServiceError):
    """A decision that cannot be taken; `code` is for the API, the message for people."""

    code = "review_error"
    status = 409


class ReasonRequired(ReviewError):
    code = "reason_required"
    status = 422


class NotInReview(ReviewError):
    code = "not_in_review"


class AlreadyDecided(ReviewError):
    code = "already_decided"


class StageRefused(ReviewError):
    code = "stage_refused"
    status = 422


class CannotContact(ReviewError):
    code = "cannot_contact"
    status = 422


class CannotCancel(ReviewError):
    """The facts forbid cancelling (the order shipped): the message says what to do instead."""

    code = "cannot_cancel"
    status = 422


def _reason(reason: str, what: str = "") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(what or _("Say why: a reason is required for every decision."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ReasonRequired(
            _("Keep the reason under %(limit)s characters.") % {"limit": REASON_MAX_LENGTH}
        )
    return reason


def _lock(order_risk: OrderRisk) -> tuple[Order, OrderRisk]:
    """The order row, then its assessment: the one lock order of every review decision."""
    order = lock_order(order_risk.order_id)
    locked = OrderRisk.objects.select_for_update(of=("self",)).get(pk=order_risk.pk)
    return order, locked


def _require_review(order_risk: OrderRisk) -> None:
    if order_risk.status == Status.CLEAR:
        raise NotInReview(_("This order is not in review: its risk check cleared it."))
    if order_risk.status == Status.OVERTAKEN:
        raise AlreadyDecided(_("This review was closed: events overtook it (see its timeline)."))
    if order_risk.status in (Status.APPROVED, Status.CANCELLED):
        raise AlreadyDecided(
            _("This order was already %(status)s.")
            % {"status": order_risk.get_status_display().lower()}
        )


def _last(order_risk: OrderRisk, *kinds: str) -> RiskDecision | None:
    return (
        RiskDecision.objects.filter(order_risk=order_risk, kind__in=kinds)
        .order_by("-created_at", "-pk")
        .first()
    )


def _decide(
    order_risk: OrderRisk, order: Order, kind: str, actor, reason: str, details: dict, event: str
) -> RiskDecision:
    """The timeline row, the audit entry on the order and the domain event of one decision."""
    decision = RiskDecision.objects.create(
        order_risk=order_risk,
        kind=kind,
        stage=order_risk.stage,
        reason=reason,
        details=details,
        actor=actor if getattr(actor, "pk", None) else None,
        created_at=timezone.now(),
    )
    record_audit(
        actor=actor,
        action=f"risk.{kind}",
        obj=order,
        changes={
            "status": order_risk.status,
            "stage": order_risk.stage,
            "fulfillment_held": order_risk.fulfillment_held,
            "reason": reason,
            **details,
        },
    )
    record_event(event, order_id=order.pk, decision_id=decision.pk, kind=kind, **details)
    return decision


# --- Opening a review on request ----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRequested:
    """What asking for a review of one order did: `opened`, `in_review` (an open review was
    reused), `decided` (a person already decided; the request is noted on its timeline, not
    overturned) or `already_requested` (this ticket asked before: nothing new)."""

    order_id: int
    number: str
    outcome: str
    decision: RiskDecision


@transaction.atomic
def do_open_review_for_ticket(ticket, *, reason: str, actor=None) -> list[ReviewRequested]:
    """Open (or reuse) a risk review on each order the ticket is about, e.g. for a triage rule
    whose customer threatens a chargeback. Each order's review timeline, the audit log and
    the ticket's timeline say so; asking again for the same ticket changes nothing. A review
    opened this way stays open when a re-score finds nothing: a person asked for it."""
    from storedesk.desk.services import do_add_timeline_event
    from storedesk.risk.services import do_score_orders

    reason = (reason or "").strip()[:REASON_MAX_LENGTH]
    orders = list(ticket.orders.order_by("pk").values_list("pk", "number"))
    if not orders:
        return []
    scored = set(
        OrderRisk.objects.filter(order_id__in=[pk for pk, _ in orders]).values_list(
            "order_id", flat=True
        )
    )
    unscored = [pk for pk, _ in orders if pk not in scored]
    if unscored:
        do_score_orders(unscored, actor=actor)
    details = {"ticket_id": ticket.pk, "ticket_number": ticket.number}
    results = []
    for order_id, number in orders:  # pk order: the same lock order as every other writer
        order = lock_order(order_id)
        locked = OrderRisk.objects.select_for_update(of=("self",)).get(order_id=order_id)
        asked = (
            RiskDecision.objects.filter(
                order_risk=locked, kind__in=(Kind.OPENED, Kind.NOTE), details__ticket_id=ticket.pk
            )
            .order_by("pk")
            .first()
        )
        if asked is not None:
            results.append(ReviewRequested(order_id, number, "already_requested", asked))
            continue
        if locked.status == Status.CLEAR:
            locked.status, locked.stage = Status.IN_REVIEW, Stage.CHECK
            locked.save(update_fields=["status", "stage"])
            decision = _decide(
                locked, order, Kind.OPENED, actor, reason, details, "order_risk_review_opened"
            )
            record_event("order_flagged", order_id=order_id)
            outcome = "opened"
        else:
            outcome = "in_review" if locked.status == Status.IN_REVIEW else "decided"
            decision = _decide(
                locked,
                order,
                Kind.NOTE,
                actor,
                reason or str(_("A review was asked for from a ticket.")),
                details | {"request": outcome},
                "order_risk_note_added",
            )
        results.append(ReviewRequested(order_id, number, outcome, decision))
    if any(result.outcome != "already_requested" for result in results):
        do_add_timeline_event(
            ticket,
            "risk_review_opened",
            actor=actor,
            reason=reason,
            reviews=[{"order": r.number, "outcome": r.outcome} for r in results],
        )
    return results


# --- Approve and cancel -------------------------------------------------------------------------


@transaction.atomic
def do_approve(order_risk: OrderRisk, actor, reason: str) -> RiskDecision:
    """A good order: fulfillment released, review done; the model learns it as "good"."""
    reason = _reason(reason)
    order, locked = _lock(order_risk)
    if locked.status == Status.APPROVED:
        existing = _last(locked, Kind.APPROVE)
        if existing is not None:
            return existing
    _require_review(locked)
    locked.status, locked.stage, locked.fulfillment_held = Status.APPROVED, Stage.DONE, False
    locked.save(update_fields=["status", "stage", "fulfillment_held"])
    return _decide(
        locked, order, Kind.APPROVE, actor, reason, {"label": "good"}, "order_risk_approved"
    )


def refund_due(order: Order) -> Decimal:
    """What the customer paid that is not on its way back yet: captured minus live refunds."""
    captured = Payment.objects.filter(
        order=order, status=Payment.Status.SUCCEEDED, captured=True, currency=order.currency
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    refunded = Refund.objects.filter(
        order=order, status__in=LIVE_REFUND_STATUSES, currency=order.currency
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return quantize(max(captured - refunded, Decimal("0")), order.currency)


def fraud_keys(order: Order) -> dict[str, str]:
    """The identity keys "report fraud" blocks, in the forms the scoring facts use."""
    payment = (
        Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED)
        .order_by("-created_at", "-pk")
        .first()
    )
    card = ""
    if payment is not None:
        card = payment.card_fingerprint or (
            f"paypal:{payment.payer_id}" if payment.payer_id else ""
        )
    return {
        "blocked_emails": (order.email or "").strip().lower(),
        "blocked_cards": card,
        "blocked_addresses": address_key(order.shipping_address or {}),
        "blocked_ips": order.browser_ip or "",
    }


def _report_fraud(order: Order, actor, reason: str) -> dict[str, str]:
    keys = {name: value for name, value in fraud_keys(order).items() if value}
    for name in keys:
        RiskList.objects.get_or_create(name=name, defaults={"description": DEFAULT_LISTS[name]})
    for name, value in keys.items():
        do_add_to_list(name, [value], actor=actor, note=f"order {order.number}: {reason}"[:200])
    return keys


@transaction.atomic
def do_cancel(
    order_risk: OrderRisk, actor, reason: str, report_fraud: bool = False
) -> RiskDecision:
    """Cancel the order and refund what was captured through the gateway that took it (the
    resolutions path: exactly once, after commit, retried with the same key). A refund a rule
    refuses (an open chargeback: the bank already took the money) is said on the decision; one
    the gateway refuses leaves a visible "refund needed" task. Reporting fraud also blocks the
    order's email, card, shipping address and IP for future orders."""
    reason = _reason(reason)
    order, locked = _lock(order_risk)
    if locked.status == Status.CANCELLED:
        existing = _last(locked, Kind.CANCEL, Kind.CANCEL_FRAUD)
        if existing is not None and (existing.kind == Kind.CANCEL_FRAUD or not report_fraud):
            return existing
        if existing is not None:
            return _report_later(locked, order, actor, reason)
    _require_review(locked)
    before = {"cancelled_at": order.cancelled_at, "cancel_reason": order.cancel_reason}
    try:
        check = do_cancel_order(
            order,
            reason=CANCEL_REASON_FRAUD if report_fraud else CANCEL_REASON_OTHER,
            actor=actor,
        )
    except CancelRefused as refused:
        raise CannotCancel(str(refused)) from None
    due = refund_due(order)
    refund = _refund_through_gateway(locked, order, due, actor, reason, report_fraud)
    blocked = _report_fraud(order, actor, reason) if report_fraud else {}
    locked.status, locked.fulfillment_held = Status.CANCELLED, True
    locked.stage = Stage.GATEWAY if refund.get("resolution_id") else Stage.DONE
    locked.save(update_fields=["status", "stage", "fulfillment_held"])
    details = {
        "cancel_reason": order.cancel_reason,
        "order_was_cancelled": before["cancelled_at"] is not None,
        "refund_due": str(due),
        "currency": order.currency,
        "blocked": sorted(blocked),
        **refund,
    }
    if check.warning:
        details |= {"warning": check.warning, "already_refunded": str(check.refunded)}
    if report_fraud:
        details["label"] = "fraud"
    kind = Kind.CANCEL_FRAUD if report_fraud else Kind.CANCEL
    return _decide(locked, order, kind, actor, reason, details, "order_risk_cancelled")


def _refund_through_gateway(
    order_risk: OrderRisk, order: Order, due: Decimal, actor, reason: str, fraud: bool
) -> dict:
    """Start the refund of what is due (carried out after commit by resolutions, when it is
    installed; otherwise a "refund needed" task); what the decision records about it."""
    if due <= 0:
        return {}
    starter = refund_starter()
    if starter is None:
        task = do_open_refund_task(order, due, actor=actor, reason=reason)
        return {"refund_task_id": task.pk}
    return starter(
        order=order,
        actor=actor,
        reason=reason,
        fraud=fraud,
        idempotency_key=f"risk-review-{order_risk.pk}-refund",
    )


def _report_later(order_risk: OrderRisk, order: Order, actor, reason: str) -> RiskDecision:
    """A cancelled order found to be fraud afterwards: block its keys and label it fraud."""
    blocked = _report_fraud(order, actor, reason)
    do_set_cancel_reason(order, CANCEL_REASON_FRAUD, actor=actor)
    details = {"cancel_reason": CANCEL_REASON_FRAUD, "blocked": sorted(blocked), "label": "fraud"}
    return _decide(
        order_risk, order, Kind.CANCEL_FRAUD, actor, reason, details, "order_risk_cancelled"
    )


# --- Contacting the customer --------------------------------------------------------------------

# Customer-facing text: always US English whatever the reviewer's language, so not translated.
# Placeholders: {greeting_name} {order_number} {store_name} {card_phrase} {full_name}.
_OPENING = (
    "Hi {greeting_name},\n\n"
    "Thank you for your order {order_number} with {store_name}! Before we ship it, we need to "
    "confirm a few details. We do this for some orders to protect our customers from card "
    "fraud, and we appreciate your help.\n\n"
)
_CLOSING = (
    "\n\nYou can simply reply to this email. As soon as we hear back, we'll get your order on "
    "its way. If you have any questions, just let us know.\n\n"
    "Thank you,\nThe {store_name} team"
)


@dataclass(frozen=True)
class VerificationTemplate:
    key: str
    label: object  # lazy translation: the reviewer sees it in their language
    subject: str
    request: str

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        body = _OPENING + self.request + _CLOSING
        return self.subject.format_map(values), body.format_map(values)


VERIFICATION_TEMPLATES = {
    template.key: template
    for template in [
        VerificationTemplate(
            "billing_address",
            _("Confirm the billing address"),
            "Quick check on your order {order_number}",
            "Could you please reply with the billing address your card issuer has on file for "
            "{card_phrase} (street address, city and ZIP code)?",
        ),
        VerificationTemplate(
            "card_photo",
            _("Photo of the card, last 4 digits only"),
            "Please confirm your card for order {order_number}",
            "Could you please reply with a photo of the front of {card_phrase}, showing the "
            "cardholder's name and the last four digits only? Please cover all the other "
            "digits. We will never ask for your full card number or the security code on "
            "the back.",
        ),
        VerificationTemplate(
            "photo_id",
            _("ID matching the name on the order"),
            "Please confirm your identity for order {order_number}",
            "Could you please reply with a photo of a government-issued photo ID (such as a "
            "driver's license) that shows the name {full_name}? Feel free to cover the ID "
            "number and your address; we only need to see the name and photo.",
        ),
    ]
}


def verification_values(order: Order) -> dict[str, str]:
    """What the templates fill in, from the order (payments and customer loaded or fetched)."""
    customer = order.customer
    address = order.billing_address or order.shipping_address or {}
    first_name = (customer.first_name if customer else "") or address.get("first_name") or ""
    last_name = (customer.last_name if customer else "") or address.get("last_name") or ""
    succeeded = [p for p in order.payments.all() if p.status == Payment.Status.SUCCEEDED]
    card = max(succeeded, key=lambda p: p.created_at) if succeeded else None
    if card is not None and card.method == Payment.Method.CARD and card.card_last4:
        card_phrase = f"the card ending in {card.card_last4}"
    else:
        card_phrase = "the card you used"
    return {
        "greeting_name": first_name.strip() or "there",
        "order_number": order.number,
        "store_name": order.store.name,
        "card_phrase": card_phrase,
        "full_name": f"{first_name} {last_name}".strip() or "on the order",
    }


def render_verification(order: Order, template_key: str) -> tuple[str, str]:
    """(subject, body) of a verification template for this order; KeyError for an unknown key."""
    return VERIFICATION_TEMPLATES[template_key].render(verification_values(order))


VERIFICATION_KEY = "risk-verification-{decision}"


def _verification_ticket(order_risk: OrderRisk, order: Order, subject: str, actor):
    """The desk ticket the request goes out on: the one an earlier request used, else an open
    ticket of this customer about this order, else a new one linked to the order. Replies
    to the email thread into it by its headers, like any customer's answer."""
    from storedesk.desk.models import Ticket
    from storedesk.desk.services import do_link_orders, do_open_ticket

    email = order.email.strip().lower()
    earlier = [
        decision.details.get("ticket_id")
        for decision in RiskDecision.objects.filter(order_risk=order_risk, kind=Kind.CONTACT)
        .order_by("-created_at", "-pk")
        .only("details")
    ]
    open_tickets = Ticket.objects.filter(
        status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True, requester_email=email
    )
    ticket = (
        open_tickets.filter(pk__in=[pk for pk in earlier if pk]).order_by("-pk").first()
        or open_tickets.filter(orders=order).order_by("-pk").first()
    )
    if ticket is None:
        customer = order.customer
        name = f"{customer.first_name} {customer.last_name}".strip() if customer else ""
        return do_open_ticket(
            channel="email",
            requester_email=email,
            requester_name=name,
            subject=subject,
            store=order.store,
            customer=customer,
            orders=[order],
            actor=actor,
        )
    do_link_orders(ticket, [order], actor=actor)
    return ticket


@transaction.atomic
def do_request_verification(
    order_risk: OrderRisk, actor, *, template: str, reason: str, message: str = ""
) -> RiskDecision:
    """Ask the customer to verify: the message (a template, or the reviewer's edit of it) is
    sent by the desk as a reply on a ticket of this customer about this order (a real email,
    with its Message-ID, through the outgoing mail queue), and the ticket is linked to the
    review, so the customer's answer threads into it and shows on the review. Repeating the
    same request sends nothing twice."""
    from storedesk.desk.services import do_reply

    reason = _reason(reason)
    if template not in VERIFICATION_TEMPLATES:
        raise CannotContact(_("Unknown verification template: %(key)s.") % {"key": template})
    order, locked = _lock(order_risk)
    _require_review(locked)
    if not order.email:
        raise CannotContact(_("The order has no email address to write to."))
    subject, body = render_verification(order, template)
    message = (message or "").strip() or body
    if len(message) > MESSAGE_MAX_LENGTH:
        raise CannotContact(
            _("Keep the message under %(limit)s characters.") % {"limit": MESSAGE_MAX_LENGTH}
        )
    last = _last(locked, Kind.CONTACT)
    if (
        last is not None
        and locked.stage == Stage.CONTACT
        and last.details.get("message") == message
    ):
        return last
    ticket = _verification_ticket(locked, order, subject, actor)
    sent = do_reply(
        ticket,
        author=actor if getattr(actor, "pk", None) else None,
        text=message,
        idempotency_key=VERIFICATION_KEY.format(
            decision=f"{locked.pk}-{RiskDecision.objects.filter(order_risk=locked).count()}"
        ),
    )
    locked.stage = Stage.CONTACT
    locked.save(update_fields=["stage"])
    details = {
        "template": template,
        "to": order.email,
        "subject": subject,
        "email_subject": sent.subject,
        "message": message,
        "sent": True,
        "ticket_id": ticket.pk,
        "ticket_number": ticket.number,
        "ticket_token": ticket.token,
        "message_id": sent.pk,
        "email_message_id": sent.message_id,
    }
    return _decide(
        locked, order, Kind.CONTACT, actor, reason, details, "risk_verification_requested"
    )


# --- Stages and notes ---------------------------------------------------------------------------


@transaction.atomic
def do_move_stage(order_risk: OrderRisk, actor, stage: str, reason: str = "") -> RiskDecision:
    """Move a review along S2's stages. Finishing ("done") is approving or cancelling; a
    decided review only moves between working with the gateway and done."""
    if stage not in STAGE_ORDER:
        raise StageRefused(_("Unknown stage: %(stage)s.") % {"stage": stage})
    reason = (reason or "").strip()[:REASON_MAX_LENGTH]
    order, locked = _lock(order_risk)
    if locked.status == Status.CLEAR:
        raise NotInReview(_("This order is not in review: its risk check cleared it."))
    if locked.stage == stage:
        existing = _last(locked, Kind.STAGE)
        if existing is not None and existing.stage == stage:
            return existing
    decided = locked.status in (Status.APPROVED, Status.CANCELLED)
    if decided and stage not in (Stage.GATEWAY, Stage.DONE):
        raise StageRefused(
            _("This order was already %(status)s; its review can only move to the gateway or done.")
            % {"status": locked.get_status_display().lower()}
        )
    if not decided and stage == Stage.DONE:
        raise StageRefused(_("Approve or cancel the order to finish its review."))
    before = locked.stage
    locked.stage = stage
    locked.save(update_fields=["stage"])
    return _decide(
        locked,
        order,
        Kind.STAGE,
        actor,
        reason,
        {"from": before, "to": stage},
        "order_risk_stage_moved",
    )


@transaction.atomic
def do_add_note(order_risk: OrderRisk, actor, text: str) -> RiskDecision:
    """A note on the review's timeline (any status); the same note twice in a row is kept once."""
    text = _reason(text, _("Write the note first."))
    order, locked = _lock(order_risk)
    last = _last(locked, Kind.NOTE)
    if last is not None and last.reason == text and last.actor_id == getattr(actor, "pk", None):
        return last
    return _decide(locked, order, Kind.NOTE, actor, text, {}, "order_risk_note_added")


def do_decide(
    order_risk: OrderRisk,
    actor,
    kind: str,
    *,
    reason: str = "",
    stage: str = "",
    template: str = "",
    message: str = "",
) -> RiskDecision:
    """Run the decision a kind names; the review page and the API both come through here."""
    if kind == Kind.APPROVE:
        return do_approve(order_risk, actor, reason)
    if kind in (Kind.CANCEL, Kind.CANCEL_FRAUD):
        return do_cancel(order_risk, actor, reason, report_fraud=kind == Kind.CANCEL_FRAUD)
    if kind == Kind.CONTACT:
        return do_request_verification(
            order_risk, actor, template=template, reason=reason, message=message
        )
    if kind == Kind.STAGE:
        return do_move_stage(order_risk, actor, stage, reason)
    if kind == Kind.NOTE:
        return do_add_note(order_risk, actor, reason)
    raise ReviewError(_("Unknown decision: %(kind)s.") % {"kind": kind})


# --- Order tasks --------------------------------------------------------------------------------


@transaction.atomic
def do_complete_task(task: OrderTask, actor, note: str = "") -> OrderTask:
    """Mark work owed on an order as done (e.g. the refund was made at the gateway). When it
    was the last open task of a cancelled review, the review is done too."""
    note = (note or "").strip()[:REASON_MAX_LENGTH]
    order, locked, completed = do_complete_order_task(task, actor=actor, note=note)
    if completed:
        _finish_review_after_task(order, actor, locked)
    return locked


def _finish_review_after_task(order: Order, actor, task: OrderTask) -> None:
    risk = (
        OrderRisk.objects.select_for_update(of=("self",))
        .filter(order=order, status=Status.CANCELLED, stage=Stage.GATEWAY)
        .first()
    )
    if risk is None or OrderTask.objects.filter(order=order, status=OrderTask.Status.OPEN).exists():
        return
    risk.stage = Stage.DONE
    risk.save(update_fields=["stage"])
    _decide(
        risk,
        order,
        Kind.STAGE,
        actor,
        str(_("%(task)s: done") % {"task": task.get_kind_display()}),
        {"from": Stage.GATEWAY, "to": Stage.DONE, "task_id": task.pk},
        "order_risk_stage_moved",
    )


@handles("resolution_done")
@handles("resolution_failed")
def follow_the_cancelled_reviews_refund(event) -> None:
    """The refund a cancelled review started: done finishes the review; failed leaves a
    "refund needed" task for a person (the gateway said why, on the resolution)."""
    order_id = event.payload.get("order_id")
    with transaction.atomic():
        order = lock_order(order_id)
        risk = (
            OrderRisk.objects.select_for_update(of=("self",))
            .filter(order=order, status=Status.CANCELLED, stage=Stage.GATEWAY)
            .first()
        )
        if risk is None:
            return
        started = _last(risk, Kind.CANCEL, Kind.CANCEL_FRAUD)
        resolution_id = started.details.get("resolution_id") if started else None
        if resolution_id != event.payload.get("resolution_id"):
            return
        if event.name == "resolution_failed":
            do_open_refund_task(order, refund_due(order), actor=None, reason=started.reason)
            return
        risk.stage = Stage.DONE
        risk.save(update_fields=["stage"])
        _decide(
            risk,
            order,
            Kind.STAGE,
            None,
            str(_("Refunded through the gateway")),
            {"from": Stage.GATEWAY, "to": Stage.DONE, "resolution_id": resolution_id},
            "order_risk_stage_moved",
        )


# --- Labels for the score model -----------------------------------------------------------------


def review_labels(order_ids=None) -> dict[int, int]:
    """Order id → 1 (a reviewer cancelled it as fraud) or 0 (a reviewer approved it); the
    latest such decision wins. Plain cancels say nothing about fraud and give no label."""
    decisions = RiskDecision.objects.filter(kind__in=[Kind.APPROVE, Kind.CANCEL_FRAUD])
    if order_ids is not None:
        decisions = decisions.filter(order_risk__order_id__in=list(order_ids))
    labels = {}
    for order_id, kind in decisions.order_by("created_at", "pk").values_list(
        "order_risk__order_id", "kind"
    ):
        labels[order_id] = 1 if kind == Kind.CANCEL_FRAUD else 0
    return labels


# --- Reviews that events overtook ---------------------------------------------------------------

# What closes an open review, first match wins; each reason names the fact and its date.
OVERTAKING_REASONS = {
    "cancelled": _("overtaken by events: cancelled on %(date)s"),
    "voided": _("overtaken by events: payment voided on %(date)s"),
    "refunded": _("overtaken by events: refunded in full on %(date)s"),
    "shipped": _("overtaken by events: shipped on %(date)s"),
}


def overtaking_facts(order_ids) -> dict[int, tuple[str, object]]:
    """Order id → (fact, when) for the orders whose review has nothing left to decide: the
    order was cancelled, its payment voided or refunded in full, or it shipped. Set-based:
    four queries whatever the count."""
    ids = list(order_ids)
    if not ids:
        return {}
    now = timezone.now()
    shipped = shipped_at_by_order(ids)
    rows = list(
        Order.objects.filter(pk__in=ids).values_list("pk", "cancelled_at", "financial_status")
    )
    refunded_ids = [pk for pk, _at, status in rows if status == Order.FinancialStatus.REFUNDED]
    last_refund = dict(
        Refund.objects.filter(order_id__in=refunded_ids, status=Refund.Status.SUCCEEDED)
        .values("order_id")
        .annotate(at=Max("created_at"))
        .values_list("order_id", "at")
    )
    facts = {}
    for pk, cancelled_at, status in rows:
        if cancelled_at is not None:
            facts[pk] = ("cancelled", cancelled_at)
        elif status == Order.FinancialStatus.VOIDED:
            facts[pk] = ("voided", now)
        elif status == Order.FinancialStatus.REFUNDED:
            facts[pk] = ("refunded", last_refund.get(pk) or now)
        elif pk in shipped:
            facts[pk] = ("shipped", shipped[pk])
    return facts


def _voided_on(order: Order, fallback):
    """When the void was recorded (its audit entry on the order), for the timeline's date."""
    from django.contrib.contenttypes.models import ContentType

    from storedesk.audit.models import AuditEntry

    entry = (
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Order),
            object_id=str(order.pk),
            action="order.voided",
        )
        .order_by("-pk")
        .values_list("created_at", flat=True)
        .first()
    )
    return entry or fallback


def do_close_overtaken_reviews(order_ids=None, *, actor=None) -> int:
    """Close the open reviews of these orders (all open reviews when None) that events have
    overtaken, each in its own transaction: status "overtaken by events", stage done, the
    reason with the fact and its date on the review's timeline and the order's audit history,
    and `order_risk_closed` for whatever follows (ticket priorities). A shipped order's hold
    is released, since it has nothing to hold. Idempotent; returns how many it closed."""
    open_reviews = OrderRisk.objects.filter(status=Status.IN_REVIEW)
    if order_ids is not None:
        open_reviews = open_reviews.filter(order_id__in=[pk for pk in order_ids if pk])
    candidates = list(open_reviews.order_by("order_id").values_list("order_id", flat=True))
    closed = 0
    for start in range(0, len(candidates), 500):
        facts = overtaking_facts(candidates[start : start + 500])
        for order_id in sorted(facts):
            with transaction.atomic():
                closed += _close_overtaken(order_id, actor)
    return closed


def _close_overtaken(order_id: int, actor) -> int:
    order = lock_order(order_id)
    locked = (
        OrderRisk.objects.select_for_update(of=("self",))
        .filter(order_id=order_id, status=Status.IN_REVIEW)
        .first()
    )
    fact = overtaking_facts([order_id]).get(order_id) if locked is not None else None
    if fact is None:
        return 0
    name, moment = fact
    if name == "voided":
        moment = _voided_on(order, moment)
    reason = str(OVERTAKING_REASONS[name] % {"date": moment.date().isoformat()})
    locked.status, locked.stage = Status.OVERTAKEN, Stage.DONE
    if name == "shipped":
        locked.fulfillment_held = False
    locked.save(update_fields=["status", "stage", "fulfillment_held"])
    details = {"fact": name, "on": moment.isoformat(), "outcome": reason}
    _decide(locked, order, Kind.OVERTAKEN, actor, reason, details, "order_risk_closed")
    return 1


@handles("refund_recorded")
@handles("order_cancelled")
@handles("order_voided")
@handles("order_shipped")
@handles("order_flagged")
def close_review_overtaken_by_events(event) -> None:
    """A refund, a cancel, a void or a shipment of an order in review closes its review; an
    order flagged when it had already shipped (a late import) is closed at once."""
    order_id = event.payload.get("order_id")
    if order_id:
        do_close_overtaken_reviews([order_id])
