"""The Resolve panel on the ticket and the order page: the form, its cost preview, and the
outcome that replaces it. htmx swaps the panel in place; without htmx the same URLs answer
with the panel alone, so nothing depends on JavaScript to be correct."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from storedesk.commerce.models import Order
from storedesk.core.permissions import permission_required
from storedesk.desk.models import Ticket, TicketEvent
from storedesk.resolutions import page_queries, queries, services
from storedesk.resolutions.forms import ResolutionForm, new_idempotency_key
from storedesk.resolutions.models import Resolution

PANEL = "resolutions/_panel.html"
REQUEST_PERMISSIONS = ("commerce.view_order", "resolutions.add_resolution")


def _order_or_404(pk: int) -> Order:
    try:
        return page_queries.order_for_panel(pk)
    except Order.DoesNotExist as missing:
        raise Http404(_("There is no such order.")) from missing


def _ticket_number(value) -> int | None:
    """The ticket the panel was opened from, when it exists (a stale or made-up number is
    dropped: the action is then recorded on the order alone)."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and Ticket.objects.filter(number=number).exists() else None


def _fresh_form(order: Order, ticket_number: int | None, initial: dict | None = None):
    """A form with a new idempotency key: each showing of the form is one action."""
    return ResolutionForm(
        order=order,
        initial={
            **(initial or {}),
            "idempotency_key": new_idempotency_key(),
            "ticket": ticket_number,
        },
    )


def _panel(
    request, order, form, *, result=None, refusal_link="", notice="", new_events=(), status=200
):
    context = {
        "new_events": new_events,
        "order": order,
        "form": form,
        "result": result,
        "dispute_url": refusal_link,
        "notice": notice,
        "history": page_queries.resolutions_of_order(order),
    }
    return render(request, PANEL, context, status=status)


def _preview(request, order: Order, form: ResolutionForm):
    data = form.cleaned_data
    return queries.preview_resolution(
        actor=request.user,
        order=order,
        kind=data["kind"],
        amount=form.service_amount(),
        lines=form.chosen_lines(),
    )


def _needs_a_reason(preview) -> bool:
    """An approval request must say why; a refusal needs no reason (it is refused anyway)."""
    return preview.needs_approval and preview.allowed and not preview.refused


@require_GET
@permission_required(*REQUEST_PERMISSIONS)
def panel(request, order_pk: int):
    order = _order_or_404(order_pk)
    return _panel(request, order, _fresh_form(order, _ticket_number(request.GET.get("ticket"))))


@require_POST
@permission_required(*REQUEST_PERMISSIONS)
def preview(request, order_pk: int):
    """What the chosen action would cost, what stays refundable, and whether it is within the
    viewer's limits; asked for as the agent fills the form, so nothing is written."""
    order = _order_or_404(order_pk)
    form = ResolutionForm(request.POST, order=order)
    if not form.is_valid():
        context = {"form": form, "order": order}
        return render(request, "resolutions/_preview.html", context, status=400)
    context = {"form": form, "order": order, "preview": _preview(request, order, form)}
    return render(request, "resolutions/_preview.html", context)


@require_POST
@permission_required(*REQUEST_PERMISSIONS)
def resolve(request, order_pk: int):
    """Do the action, or ask for approval when it is over the actor's limits (then the agent
    must say why, for the approver). The form's idempotency key makes a second click, or a
    retried request, return the first outcome instead of acting twice."""
    order = _order_or_404(order_pk)
    form = ResolutionForm(request.POST, order=order)
    if not form.is_valid():
        return _panel(request, order, form, status=400)
    data = form.cleaned_data
    if not data["note"].strip() and _needs_a_reason(_preview(request, order, form)):
        form.add_error("note", _("Over your limits: say why, for the approver."))
        return _panel(request, order, form, status=400)
    ticket_number = _ticket_number(data.get("ticket"))
    ticket = Ticket.objects.filter(number=ticket_number).first() if ticket_number else None
    seen_event = _last_event_pk(ticket)
    try:
        result = services.do_request_resolution(
            actor=request.user,
            order=order,
            kind=data["kind"],
            amount=form.service_amount(),
            currency=order.currency,
            reason=data["reason"],
            lines=form.chosen_lines(),
            note=form.service_note(),
            ticket=ticket,
            idempotency_key=data["idempotency_key"],
        )
    except services.ResolutionRefused as refused:
        link = (refused.details or {}).get("dispute_url", "")
        if not link and refused.code == "open_chargeback":
            link = reverse("commerce:order", args=[order.pk]) + "#disputes"
        if refused.resolution is not None and refused.resolution.pk:
            # Recorded as refused (with its reason): show it as the outcome.
            fresh = _fresh_form(order, ticket_number)
            return _panel(
                request, order, fresh, result=refused.resolution, refusal_link=link, status=409
            )
        form.add_error(None, refused.message)
        return _panel(request, order, form, status=409)
    except services.ResolutionError as problem:
        form.add_error(None, problem.message)
        return _panel(request, order, form, status=problem.status)
    return _panel(
        request,
        order,
        _fresh_form(order, ticket_number),
        result=result,
        new_events=_events_since(ticket, seen_event),
    )


def _last_event_pk(ticket: Ticket | None) -> int:
    if ticket is None:
        return 0
    last = TicketEvent.objects.filter(ticket=ticket).order_by("-pk").values_list("pk", flat=True)
    return last.first() or 0


def _events_since(ticket: Ticket | None, seen: int) -> list[TicketEvent]:
    """The timeline entries this action wrote, appended to the ticket page's timeline in the
    same response (htmx out-of-band), so the agent sees them without a reload."""
    if ticket is None:
        return []
    return list(
        TicketEvent.objects.filter(ticket=ticket, pk__gt=seen)
        .select_related("actor")
        .order_by("pk")
    )


@require_POST
@permission_required(*REQUEST_PERMISSIONS)
def retry(request, pk: int):
    """Call the gateway again for a resolution whose call failed and is waiting for its next
    try, with the same idempotency key: if the first call did go through, the gateway answers
    with that refund, so the money still moves once. A finally failed one is not called again
    (its reserved money was released); the panel offers the same action as a new request."""
    resolution = page_queries.resolution_for_page(pk)
    if resolution is None:
        raise Http404(_("There is no such resolution."))
    order = _order_or_404(resolution.order_id)
    ticket_number = resolution.ticket.number if resolution.ticket else None
    if resolution.status == Resolution.Status.PROCESSING:
        result = services.do_execute_resolution(resolution.pk, force=True)
        return _panel(request, order, _fresh_form(order, ticket_number), result=result)
    form = _fresh_form(
        order,
        ticket_number,
        initial={
            "kind": resolution.kind,
            "reason": resolution.reason,
            "amount": resolution.amount or None,
            "note": resolution.note,
        },
    )
    notice = ""
    if resolution.status == Resolution.Status.FAILED:
        notice = _(
            "The gateway refused it for good; nothing was refunded. Check and confirm again."
        )
    return _panel(request, order, form, notice=notice)
