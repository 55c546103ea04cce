"""The care budget page: the month's plan per category against what the resolutions spent,
by reason, by agent and by product; a lead edits the plan."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.commerce.queries import current_store, store_today
from storedesk.core.permissions import permission_required
from storedesk.resolutions import page_queries, services
from storedesk.resolutions.forms import BudgetMonthForm, BudgetPlanForm

CHANGE_PERMISSION = "resolutions.change_carebudget"


@permission_required("resolutions.view_carebudget")
def budget(request):
    store = current_store()
    if store is None:
        return render(request, "resolutions/budget.html", {"store": None})
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    status = 200
    plan_form = None
    if request.method == "POST":
        if not can_change:
            return render(request, "error.html", status=403)
        plan_form = BudgetPlanForm(request.POST)
        if plan_form.is_valid():
            data = plan_form.cleaned_data
            try:
                services.do_set_budget(
                    actor=request.user,
                    store=store,
                    month=data["month"],
                    **{key: data[key] for key in page_queries.BUDGET_CATEGORIES},
                )
            except services.ResolutionError as problem:
                plan_form.add_error(None, problem.message)
            else:
                messages.success(
                    request, _("Plan for %(month)s saved.") % {"month": f"{data['month']:%Y-%m}"}
                )
                return redirect(f"{request.path}?month={data['month']:%Y-%m}")
        status = 400
        month = plan_form.cleaned_data.get("month") or store_today(store, timezone.now())
    else:
        month_form = BudgetMonthForm(request.GET)
        month = (month_form.is_valid() and month_form.cleaned_data["month"]) or store_today(
            store, timezone.now()
        )
    month = month.replace(day=1)
    figures = page_queries.budget_month(store, month, details=True)
    if plan_form is None:
        plan_form = BudgetPlanForm(
            initial={
                "month": f"{month:%Y-%m}",
                **{line.key: line.plan for line in figures.lines},
            }
        )
    return render(
        request,
        "resolutions/budget.html",
        {
            "store": store,
            "figures": figures,
            "plan_form": plan_form,
            "can_change": can_change,
            "previous_month": month - timedelta(days=1),
            "next_month": page_queries.month_bounds(month)[1],
        },
        status=status,
    )
