"""The Resolve panel on the ticket and the order page: the form, its cost preview, and the
outcome that replaces it. htmx swaps the panel in place; without htmx the same URLs answer
with the panel alone, so nothing depends on JavaScript to be correct."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from storedesk.commerce.models import Order
from storedesk.core.permissions import permission_required
from storedesk.desk.models import Ticket
from storedesk.resolutions import page_queries, queries, services
from storedesk.resolutions.forms import ResolutionForm, new_idempotency_key
from storedesk.resolutions.models import Resolution

PANEL = "resolutions/_panel.html"
REQUEST_PERMISSION = "resolutions.add_resolution"


def _order_or_404(pk: int) -> Order:
    try:
        return page_queries.order_for_panel(pk)
    except Order.DoesNotExist as missing:
        raise Http404 from missing


def _ticket_number(value) -> int | None:
    """The ticket the panel was opened from (a query or form value), when it exists."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and Ticket.objects.filter(number=number).exists() else None


def _panel(request, order: Order, *, form=None, preview=None, result=None, status=200):
    ticket_number = form["ticket"].value() if form is not None else None
    if form is None:
        ticket_number = _ticket_number(request.GET.get("ticket"))
        form = ResolutionForm(
            order=order,
            initial={"idempotency_key": new_idempotency_key(), "ticket": ticket_number},
        )
    context = {
        "order": order,
        "form": form,
        "preview": preview,
        "result": result,
        "ticket_number": ticket_number,
        "history": page_queries.resolutions_of_order(order),
    }
    return render(request, PANEL, context, status=status)


def _request_arguments(form: ResolutionForm, order: Order) -> dict:
    """What the services take from a valid form."""
    data = form.cleaned_data
    ticket = None
    if data.get("ticket"):
        ticket = Ticket.objects.filter(number=data["ticket"]).first()
    return {
        "order": order,
        "kind": data["kind"],
        "amount": data.get("amount"),
        "currency": order.currency,
        "reason": data["reason"],
        "lines": form.chosen_lines(),
        "note": data.get("note", ""),
        "ticket": ticket,
    }


@require_GET
@permission_required("commerce.view_order", REQUEST_PERMISSION)
def panel(request, order_pk: int):
    """The empty form, with a new idempotency key (each opening of the panel is one action)."""
    return _panel(request, _order_or_404(order_pk))


@require_POST
@permission_required("commerce.view_order", REQUEST_PERMISSION)
def preview(request, order_pk: int):
    """What the chosen action would cost and whether it is within the viewer's limits; asked
    for as the agent fills the form, so nothing is written."""
    order = _order_or_404(order_pk)
    form = ResolutionForm(request.POST, order=order)
    if not form.is_valid():
        return render(
            request, "resolutions/_preview.html", {"form": form, "order": order}, status=400
        )
    data = form.cleaned_data
    the_preview = queries.preview_resolution(
        actor=request.user,
        order=order,
        kind=data["kind"],
        amount=data.get("amount"),
        lines=form.chosen_lines(),
    )
    return render(
        request,
        "resolutions/_preview.html",
        {"form": form, "order": order, "preview": the_preview},
    )


@require_POST
@permission_required("commerce.view_order", REQUEST_PERMISSION)
def resolve(request, order_pk: int):
    """Do the action, or ask for approval when it is over the actor's limits. The form's
    idempotency key makes a second click (or a retried request) return the first outcome."""
    order = _order_or_404(order_pk)
    form = ResolutionForm(request.POST, order=order)
    if not form.is_valid():
        return _panel(request, order, form=form, status=400)
    arguments = _request_arguments(form, order)
    try:
        result = services.do_request_resolution(
            actor=request.user,
            idempotency_key=form.cleaned_data["idempotency_key"],
            approval_reason=form.cleaned_data.get("approval_reason", ""),
            **arguments,
        )
    except ValidationError as problem:
        form.add_error(None, problem.messages[0])
        return _panel(request, order, form=form, status=400)
    status = 409 if result.status == Resolution.Status.REFUSED else 200
    return _panel(request, order, form=form, result=result, status=status)


@require_POST
@permission_required("commerce.view_order", REQUEST_PERMISSION)
def retry(request, pk: int):
    """Try a failed gateway call again with the same idempotency key: the gateway answers the
    first call's outcome if it did go through, so the money still moves once."""
    resolution = page_queries.resolution_for_page(pk)
    if resolution is None:
        raise Http404
    order = _order_or_404(resolution.order_id)
    try:
        result = services.do_retry_resolution(actor=request.user, resolution=resolution)
    except ValidationError as problem:
        form = ResolutionForm(order=order, initial={"idempotency_key": new_idempotency_key()})
        form.add_error(None, problem.messages[0])
        return _panel(request, order, form=form, status=409)
    form = ResolutionForm(order=order, initial={"idempotency_key": new_idempotency_key()})
    return _panel(request, order, form=form, result=result)
