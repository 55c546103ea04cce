"""Writes of self-service order tracking: a problem reported from the tracking page becomes a
structured ticket, and a parcel in trouble is told to its customer before they ask.

`do_report_from_tracking` opens the ticket through the desk's own services (the same path as
the contact form), with the order linked, the customer's chosen situation declared as the
message's intent (triage ranks it like any such ticket) and the photos stored as the
message's attachments. `do_record_shipping_problem` records a stuck parcel or a carrier
exception once per shipment and problem and, unless notices are off, sends the customer the
seeded template on a ticket of its own, so their reply threads there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order, Shipment
from storedesk.commerce.services import lock_order
from storedesk.core.events import record_event
from storedesk.desk.models import Channel, ReplyTemplate, Ticket
from storedesk.desk.replies import render_reply
from storedesk.desk.services import (
    AttachmentIn,
    InboundMessage,
    do_open_ticket,
    do_receive_message,
    do_reply,
    do_set_tags,
    text_to_html,
)
from storedesk.experience.models import ShippingProblem, TrackingReport
from storedesk.experience.queries import tracking_page
from storedesk.triage.intents import Intent

# The triage intent each report declares (a size exchange is a fit problem).
REPORT_INTENTS = {
    TrackingReport.Kind.NOT_RECEIVED: Intent.NOT_RECEIVED,
    TrackingReport.Kind.DELIVERED_NOT_RECEIVED: Intent.DELIVERED_NOT_RECEIVED,
    TrackingReport.Kind.WRONG_ITEM: Intent.WRONG_ITEM,
    TrackingReport.Kind.DAMAGED: Intent.DAMAGED,
    TrackingReport.Kind.SIZE_EXCHANGE: Intent.WRONG_SIZE,
}
# What the customer's e-mail and the desk call each report (US English: customers read it).
REPORT_SUBJECTS = {
    TrackingReport.Kind.NOT_RECEIVED: "Order not received",
    TrackingReport.Kind.DELIVERED_NOT_RECEIVED: "Tracking says delivered, but not received",
    TrackingReport.Kind.WRONG_ITEM: "Wrong item received",
    TrackingReport.Kind.DAMAGED: "Damaged item received",
    TrackingReport.Kind.SIZE_EXCHANGE: "Size exchange request",
}
# The seeded reply templates (desk/default_templates) each problem is told with.
PROBLEM_TEMPLATES = {
    ShippingProblem.Kind.STUCK: "Your parcel is delayed",
    ShippingProblem.Kind.EXCEPTION: "A problem with your parcel at the carrier",
}
SIGNATURE = "The Care team"
EXCEPTION_STATUSES = frozenset({Shipment.Status.EXCEPTION, Shipment.Status.FAILURE})


@dataclass(frozen=True)
class TrackingReportIn:
    kind: str
    form_key: str
    message: str = ""
    photos: Sequence[AttachmentIn] = field(default_factory=tuple)
    line_item_id: int | None = None
    new_size: str = ""
    ip: str = ""
    user_agent: str = ""


def _parcel_lines(page) -> list[str]:
    lines = []
    for item in page.shipments:
        shipment = item.shipment
        line = f"- {shipment.carrier} {shipment.tracking_number}: {item.headline}".rstrip()
        if item.detail:
            line += f" — {item.detail}"
        if item.expected:
            line += f" (expected {item.expected})"
        lines.append(line)
    return lines or ["- not shipped yet"]


def report_summary(page, report: TrackingReportIn) -> str:
    """The structured text of the ticket's first message: what, which order, which parcel."""
    order = page.order
    kind = TrackingReport.Kind(report.kind)
    lines = [
        "Reported from the order tracking page.",
        f"Problem: {kind.label}",
        f"Order: {order.number}",
        "Parcels:",
        *_parcel_lines(page),
    ]
    items = list(order.line_items.all())
    chosen = next((item for item in items if item.pk == report.line_item_id), None)
    if chosen is not None:
        variant = f" ({chosen.variant_title})" if chosen.variant_title else ""
        lines.append(f"Item: {chosen.title}{variant}, SKU {chosen.sku or '-'}")
    if report.new_size:
        lines.append(f"Size wanted instead: {report.new_size}")
    if report.photos:
        lines.append(f"Photos attached: {len(report.photos)}")
    text = report.message.replace("\x00", "").strip()
    if text:
        lines += ["", "In the customer's words:", text]
    return "\n".join(lines)


@transaction.atomic
def do_report_from_tracking(order_id: int, report: TrackingReportIn) -> TrackingReport:
    """Open the structured ticket for a problem reported on the tracking page; the same form
    submitted twice (its one-time key) returns the first report."""
    if report.kind not in REPORT_INTENTS:
        raise ValidationError("unknown report")
    existing = TrackingReport.objects.filter(form_key=report.form_key).first()
    if existing is not None:
        return existing
    lock_order(order_id)
    existing = TrackingReport.objects.filter(form_key=report.form_key).first()
    if existing is not None:
        return existing
    page = tracking_page(order_id)
    if page is None:
        raise ValidationError("order not found")
    if report.kind not in page.offered:
        raise ValidationError("That option isn't available for this order yet.", code="not_offered")
    order: Order = page.order
    customer = order.customer
    email = (customer.email if customer else "") or order.email
    name = customer.full_name if customer else ""
    subject = f"{REPORT_SUBJECTS[report.kind]} (order {order.number})"
    text = report_summary(page, report)
    ticket = do_open_ticket(
        channel=Channel.FORM,
        requester_email=email,
        requester_name=name,
        subject=subject,
        store=order.store,
        customer=customer,
        orders=[order],
    )
    do_receive_message(
        ticket,
        InboundMessage(
            channel=Channel.FORM,
            from_email=email,
            from_name=name,
            subject=subject,
            text=text,
            html=text_to_html(text),
            new_text=text,
            headers={
                "declared_intent": str(REPORT_INTENTS[report.kind]),
                "tracking_report": report.kind,
                "form_order_number": order.number,
                "form_order_matched": True,
                "form_ip": report.ip[:45],
                "form_user_agent": report.user_agent[:400],
            },
            attachments=report.photos,
        ),
    )
    do_set_tags(ticket, ["tracking-page", f"reason-{report.kind}"], actor=None)
    try:
        with transaction.atomic():
            saved = TrackingReport.objects.create(
                order=order,
                ticket=ticket,
                kind=report.kind,
                form_key=report.form_key[:64],
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same form, stored by another process a moment ago
        transaction.set_rollback(True)
        return TrackingReport.objects.get(form_key=report.form_key)
    record_audit(
        actor=None,
        action="experience.tracking_report_made",
        obj=saved,
        changes={"kind": report.kind, "ticket": ticket.number, "photos": len(report.photos)},
    )
    record_event("tracking_report_made", order_id=order.pk, ticket_id=ticket.pk, kind=report.kind)
    return saved


# --- problems told before they are asked -----------------------------------------------------


def _skip_reason(order: Order, notify: bool) -> str:
    """Why no notice should go out ('' when one should)."""
    if not notify:
        return "proactive notices are off"
    customer = order.customer
    if not ((customer.email if customer else "") or order.email):
        return "no e-mail address for the customer"
    if order.cancelled_at:
        return "the order was cancelled"
    asked = (
        Ticket.objects.filter(orders=order.pk)
        .exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
        .exists()
    )
    if asked:
        return "the customer already has an open ticket about this order"
    return ""


def _send_notice(
    problem: ShippingProblem, order: Order, template: ReplyTemplate, at: datetime
) -> Ticket:
    customer = order.customer
    email = (customer.email if customer else "") or order.email
    ticket = do_open_ticket(
        channel=Channel.EMAIL,
        requester_email=email,
        requester_name=customer.full_name if customer else "",
        subject=f"An update on your order {order.number}",
        store=order.store,
        customer=customer,
        orders=[order],
        created_at=at,
    )
    rendered = render_reply(template, ticket, extra={"agent_name": SIGNATURE})
    if rendered.missing:
        raise ValidationError(f"the template lacks: {', '.join(rendered.missing)}")
    if rendered.subject:
        Ticket.objects.filter(pk=ticket.pk).update(subject=rendered.subject[:250])
        ticket.subject = rendered.subject[:250]
    do_reply(
        ticket,
        author=None,
        text=rendered.text,
        html=rendered.html,
        template=template,
        status=Ticket.Status.SOLVED,
        idempotency_key=f"shipping-problem-{problem.pk}",
        at=at,
    )
    do_set_tags(ticket, ["proactive-notice", f"shipping-{problem.kind}"], actor=None)
    return ticket


@transaction.atomic
def do_record_shipping_problem(
    shipment_id: int, kind: str, *, now: datetime | None = None, notify: bool | None = None
) -> ShippingProblem | None:
    """Record a parcel's problem once (a replayed event or the next sweep finds it recorded)
    and tell the customer with the problem's template, unless a reason not to is recorded.
    `notify` overrides TRACKING_PROACTIVE_NOTICES (the demo's week without notices)."""
    if kind not in ShippingProblem.Kind.values:
        raise ValueError(f"unknown shipping problem {kind!r}")
    shipment = Shipment.objects.filter(pk=shipment_id).only("pk", "order_id").first()
    if shipment is None:
        return None
    lock_order(shipment.order_id)
    existing = ShippingProblem.objects.filter(shipment_id=shipment_id, kind=kind).first()
    if existing is not None:
        return existing
    order = Order.objects.select_related("store", "customer").get(pk=shipment.order_id)
    now = now or timezone.now()
    problem = ShippingProblem.objects.create(
        shipment_id=shipment_id,
        order=order,
        customer=order.customer,
        kind=kind,
        detected_at=now,
    )
    reason = _skip_reason(order, settings.TRACKING_PROACTIVE_NOTICES if notify is None else notify)
    template = None
    if not reason:
        template = ReplyTemplate.objects.filter(
            name=PROBLEM_TEMPLATES[kind], is_active=True
        ).first()
        if template is None:
            reason = f"the template “{PROBLEM_TEMPLATES[kind]}” is missing or inactive"
    if not reason:
        try:
            with transaction.atomic():
                ticket = _send_notice(problem, order, template, now)
        except ValidationError as refused:
            reason = " ".join(refused.messages)[:200]
        else:
            problem.notified_at = now
            problem.ticket = ticket
            problem.template_name = template.name
    problem.skipped_reason = reason[:200]
    problem.save(update_fields=["notified_at", "ticket", "template_name", "skipped_reason"])
    record_audit(
        actor=None,
        action="experience.shipping_problem_recorded",
        obj=problem,
        changes={"kind": kind, "notified": problem.notified_at is not None, "skipped": reason},
    )
    record_event(
        "shipping_problem_recorded",
        order_id=order.pk,
        shipment_id=shipment_id,
        kind=kind,
        ticket_id=problem.ticket_id,
    )
    return problem
