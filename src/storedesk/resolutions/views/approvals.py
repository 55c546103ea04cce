"""The approvals queue: requests over someone's limits, decided by another person (a lead, or
the payments specialist for disputed and risk-flagged orders)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from storedesk.commerce.queries import current_store, customer_standing
from storedesk.core.permissions import permission_required
from storedesk.resolutions import page_queries, services
from storedesk.resolutions.forms import ApproveForm, DeclineForm
from storedesk.resolutions.models import Approval

APPROVE_PERMISSION = "resolutions.change_approval"
PAGE_SIZE = 25


@require_GET
@permission_required(APPROVE_PERMISSION)
def approval_list(request):
    """Pending requests, oldest first, each with what the approver needs to decide."""
    store = current_store()
    page = None
    if store is not None:
        page = Paginator(page_queries.pending_approvals(store), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        approvals = page_queries.attach_customer_histories(list(page.object_list))
        for approval in approvals:
            customer = approval.resolution.order.customer
            approval.standing = customer_standing(customer) if customer else None
            approval.is_own = approval.requested_by_id == request.user.pk
        page.object_list = approvals
    return render(
        request,
        "resolutions/approval_list.html",
        {
            "store": store,
            "page": page,
            "approve_form": ApproveForm(),
            "decline_form": DeclineForm(),
        },
    )


@require_GET
@permission_required(APPROVE_PERMISSION)
def approvals_count(request):
    """The navigation's badge: how many requests wait (fetched by htmx after the page)."""
    count = page_queries.pending_approvals_count(current_store())
    return HttpResponse(str(count) if count else "", content_type="text/plain; charset=utf-8")


def _approval_or_404(pk: int) -> Approval:
    approval = Approval.objects.select_related("resolution__order").filter(pk=pk).first()
    if approval is None:
        raise Http404(_("There is no such approval request."))
    return approval


def _back():
    return redirect("resolutions:approvals")


@require_POST
@permission_required(APPROVE_PERMISSION)
def approve(request, pk: int):
    """Approve as asked, or a lower amount; the service refuses one's own request, an expired
    or already decided one, and a higher amount."""
    approval = _approval_or_404(pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors["amount"]))
        return _back()
    try:
        services.do_approve(
            actor=request.user, approval=approval, amount=form.cleaned_data["amount"]
        )
    except services.ResolutionError as problem:
        messages.error(request, problem.message)
        return _back()
    messages.success(
        request,
        _("Approved: %(kind)s on order %(order)s.")
        % {
            "kind": approval.resolution.get_kind_display(),
            "order": approval.resolution.order.number,
        },
    )
    return _back()


@require_POST
@permission_required(APPROVE_PERMISSION)
def decline(request, pk: int):
    approval = _approval_or_404(pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return _back()
    try:
        services.do_decline(
            actor=request.user, approval=approval, reason=form.cleaned_data["reason"]
        )
    except services.ResolutionError as problem:
        messages.error(request, problem.message)
        return _back()
    messages.success(
        request,
        _("Declined: %(kind)s on order %(order)s.")
        % {
            "kind": approval.resolution.get_kind_display(),
            "order": approval.resolution.order.number,
        },
    )
    return _back()
