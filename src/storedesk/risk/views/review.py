"""Risk review pages: the queue of orders in review and one order's review, where a reviewer
decides. Views validate and call `risk.review` services; reads come from `risk.queries`."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from storedesk.commerce import extensions
from storedesk.commerce import queries as commerce_queries
from storedesk.commerce.models import Order, OrderTask
from storedesk.commerce.services import cancel_check
from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.risk import queries, review
from storedesk.risk.forms import DecisionForm, QueueFilters, TaskDoneForm
from storedesk.risk.models import OrderRisk, RiskDecision
from storedesk.risk.reference import ip_source_label

PAGE_SIZE = 50
VIEW = "risk.view_orderrisk"
DECIDE = "risk.review_order"
PAYMENT_DETAILS = "commerce.view_payment_details"
Kind = RiskDecision.Kind


def _stage_tabs() -> list[tuple[str, str, int]]:
    """The review stages an order can wait in, with how many orders wait there."""
    counts = queries.queue_stage_counts()
    return [
        (value, label, counts.get(value, 0))
        for value, label in OrderRisk.Stage.choices
        if value != OrderRisk.Stage.DONE
    ]


@permission_required(VIEW)
def review_queue(request):
    """Orders in review, riskiest and largest first; filters never 500 on bad input."""
    filters = QueueFilters(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    queue = queries.review_queue(
        stage=chosen.get("stage") or None,
        action=chosen.get("action") or None,
        min_score=chosen.get("min_score"),
    )
    page = paginate(request, queue, PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "risk/review_queue.html",
        {
            "store": commerce_queries.current_store(),
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "stage_tabs": _stage_tabs(),
        },
    )


DONE_MESSAGES = {
    Kind.APPROVE: _("Order approved; fulfillment is released."),
    Kind.CANCEL: _("Order cancelled."),
    Kind.CANCEL_FRAUD: _("Order cancelled and reported as fraud; its details are blocked."),
    Kind.CONTACT: _(
        "Verification request emailed to the customer on ticket %(ticket)s; their answer "
        "will show on this review."
    ),
    Kind.STAGE: _("Stage updated."),
    Kind.NOTE: _("Note added."),
}


def _decision_fields(form: DecisionForm) -> dict:
    data = form.cleaned_data
    return {key: data.get(key) or "" for key in ("reason", "stage", "template", "message")}


def _order_risk(order_pk: int) -> OrderRisk:
    try:
        return queries.order_risk_of(order_pk)
    except OrderRisk.DoesNotExist as missing:
        raise Http404 from missing


def _review_context(request, order_pk: int, form: DecisionForm | None = None) -> dict:
    user = request.user
    try:
        order = commerce_queries.order_for_page(
            order_pk, extra_prefetches=extensions.order_prefetches(user)
        )
    except Order.DoesNotExist as missing:
        raise Http404 from missing
    order_risk = getattr(order, "risk", None)
    if order_risk is None:
        raise Http404
    details = user.has_perm(PAYMENT_DETAILS)
    template_key = (form.data.get("template") if form else "") or "billing_address"
    if template_key not in review.VERIFICATION_TEMPLATES:
        template_key = "billing_address"
    subject, body = review.render_verification(order, template_key)
    decisions = queries.decisions_of(order_risk)
    in_review = order_risk.status == OrderRisk.Status.IN_REVIEW
    return {
        "store": order.store,
        "order": order,
        "risk": order_risk,
        "reasons": [r for r in order_risk.score_reasons or [] if r["points"]],
        "signal_groups": queries.grouped_signals(order_risk, payment_details=details),
        "velocity": queries.velocity_rows(order_risk),
        "ip_source": ip_source_label(),
        "windows": list(queries.VELOCITY_WINDOWS),
        "rules": queries.rule_rows(order_risk, payment_details=details),
        "history": queries.customer_history(order),
        "warnings": queries.early_fraud_warnings(order),
        "tickets": queries.open_tickets(order) if user.has_perm("desk.view_ticket") else [],
        "decisions": decisions,
        "answers": (
            queries.verification_answers(decisions) if user.has_perm("desk.view_ticket") else []
        ),
        "cancel_check": cancel_check(order) if in_review else None,
        "stages": OrderRisk.Stage.choices,
        "stage_index": review.STAGE_ORDER.index(order_risk.stage),
        "templates": review.VERIFICATION_TEMPLATES.values(),
        "template_key": template_key,
        "preview_subject": subject,
        "preview_body": body,
        "form": form,
        "can_decide": user.has_perm(DECIDE),
        "in_review": in_review,
    }


@permission_required(VIEW)
def order_review(request, order_pk: int):
    """Everything needed to decide on one order, on one screen."""
    return render(request, "risk/review_order.html", _review_context(request, order_pk))


@require_POST
@permission_required(DECIDE)
def decide(request, order_pk: int):
    """Apply one decision; a bad form or a refused decision re-renders the page with the
    reviewer's input kept and the reason shown."""
    order_risk = _order_risk(order_pk)
    form, status = DecisionForm(request.POST), 400
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            decision = review.do_decide(order_risk, request.user, kind, **_decision_fields(form))
        except review.ReviewError as refused:
            form.add_error(None, str(refused))
            status = refused.status
        else:
            ticket = decision.details.get("ticket_token", "")
            messages.success(request, DONE_MESSAGES[kind] % {"ticket": ticket})
            if decision.details.get("warning"):
                messages.warning(request, decision.details["warning"])
            return redirect("risk:order", order_pk=order_pk)
    return render(
        request, "risk/review_order.html", _review_context(request, order_pk, form), status=status
    )


@permission_required(VIEW)
def verification_preview(request, order_pk: int):
    """The message a verification template makes for this order (htmx swaps it in)."""
    order = queries.order_for_verification(order_pk)
    if order is None:
        raise Http404
    key = request.GET.get("template", "")
    if key not in review.VERIFICATION_TEMPLATES:
        key = "billing_address"
    subject, body = review.render_verification(order, key)
    return render(
        request,
        "risk/review_order.html#verification-preview",
        {"preview_subject": subject, "preview_body": body, "order": order},
    )


@require_POST
@permission_required("commerce.change_ordertask")
def complete_task(request, pk: int):
    """Mark an order task done (e.g. the refund was made at the gateway), then go back."""
    task = get_object_or_404(OrderTask, pk=pk)
    form = TaskDoneForm(request.POST)
    form.is_valid()  # every field is optional: nothing to refuse
    review.do_complete_task(task, request.user, form.cleaned_data.get("note", ""))
    messages.success(request, _("%(task)s: marked done.") % {"task": task.get_kind_display()})
    back = form.cleaned_data.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("commerce:order", pk=task.order_id)


urlpatterns = [
    path("review/", review_queue, name="review"),
    path("orders/<int:order_pk>/", order_review, name="order"),
    path("orders/<int:order_pk>/decide/", decide, name="decide"),
    path(
        "orders/<int:order_pk>/verification-preview/",
        verification_preview,
        name="verification_preview",
    ),
    path("tasks/<int:pk>/done/", complete_task, name="task_done"),
]
