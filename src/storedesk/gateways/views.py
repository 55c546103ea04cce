"""The account-health and ratio pages of the payments desk."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.commerce.queries import current_store, store_today
from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.gateways import queries
from storedesk.gateways.charts import ratio_bars
from storedesk.gateways.forms import AssignForm, ResolveForm, case_owners
from storedesk.gateways.ratios import (
    MonthError,
    month_ratios,
    next_month,
    parse_month,
    previous_month,
)
from storedesk.gateways.services import CaseRefused, do_assign_case, do_resolve_case

VIEW_CASES = "gateways.view_accounthealthcase"
CHANGE_CASES = "gateways.change_accounthealthcase"
VIEW_RATIOS = "gateways.view_monitoringthreshold"
PAGE_SIZE = 50


@permission_required(VIEW_CASES)
def health(request):
    """Open cases, soonest deadline first, each with its owner, documents and timeline."""
    page = paginate(request, queries.cases(), PAGE_SIZE)
    timelines = queries.timelines([case.pk for case in page.object_list])
    rows = [(case, timelines[case.pk]) for case in page.object_list]
    can_change = request.user.has_perm(CHANGE_CASES)
    owners = list(case_owners()) if can_change else []
    return render(
        request,
        "gateways/health.html",
        {"page": page, "rows": rows, "can_change": can_change, "owners": owners},
    )


def _done(request, action):
    try:
        action()
    except CaseRefused as error:
        messages.error(request, str(error))
    return redirect("gateways:health")


@require_POST
@permission_required(CHANGE_CASES)
def assign(request, pk: int):
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an owner from the list."))
        return redirect("gateways:health")
    owner = form.cleaned_data["owner"]
    messages.success(request, _("Owner saved."))
    return _done(request, lambda: do_assign_case(pk, owner, actor=request.user))


@require_POST
@permission_required(CHANGE_CASES)
def resolve(request, pk: int):
    form = ResolveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    messages.success(request, _("Case resolved."))
    return _done(request, lambda: do_resolve_case(pk, actor=request.user, note=note))


@permission_required(VIEW_RATIOS)
def ratios(request):
    """The month's dispute and fraud ratios per gateway and card network, with each
    program's projection against its early warning and threshold."""
    store = current_store()
    if store is None:
        return render(request, "gateways/ratios.html", {"store": None})
    now = timezone.now()
    this_month = store_today(store, now).replace(day=1)
    asked = request.GET.get("month", "").strip()[:20]
    try:
        month = parse_month(asked) if asked else this_month
    except MonthError as error:
        context = {"store": store, "error": str(error), "month": this_month}
        return render(request, "gateways/ratios.html", context, status=400)
    result = month_ratios(store, month, now=now)
    return render(
        request,
        "gateways/ratios.html",
        {
            "store": store,
            "month": month,
            "result": result,
            "bars": ratio_bars(result),
            "previous": previous_month(month),
            "next": next_month(month) if month < this_month else None,
            "elapsed_percent": round(result.elapsed * 100),
        },
    )


app_name = "gateways"
urlpatterns = [
    path("health/", health, name="health"),
    path("health/<int:pk>/assign/", assign, name="assign"),
    path("health/<int:pk>/resolve/", resolve, name="resolve"),
    path("ratios/", ratios, name="ratios"),
]
