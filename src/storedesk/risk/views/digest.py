"""The daily payment digest page and the order lists behind its figures."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from storedesk.commerce.queries import current_store, store_today
from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.risk.digest import (
    DigestDayError,
    DigestFilterError,
    build_digest,
    digest_for,
    digest_orders,
    may_see_dispute_reasons,
    parse_day,
)

VIEW = "risk.view_orderrisk"
PAGE_SIZE = 50


def _day(request, store):
    """The asked-for store day (yesterday by default), the store's today, and any error."""
    today = store_today(store, timezone.now())
    raw = request.GET.get("date", "").strip()
    if not raw:
        return today - timedelta(days=1), today, ""
    try:
        return parse_day(raw, today), today, ""
    except DigestDayError as error:
        return None, today, str(error)


@permission_required(VIEW)
def digest(request):
    """One store day of payments, risk decisions, refunds, disputes and anomalies."""
    store = current_store()
    if store is None:
        return render(request, "risk/digest.html", {"store": None})
    day, today, error = _day(request, store)
    context = {"store": store, "today": today, "error": error, "asked": request.GET.get("date")}
    if error:
        return render(request, "risk/digest.html", context, status=400)
    context["digest"] = digest_for(request.user, build_digest(store, day, now=timezone.now()))
    context["next_day"] = day + timedelta(days=1) if day < today else None
    return render(request, "risk/digest.html", context)


@permission_required(VIEW)
def digest_order_list(request):
    """The orders behind one digest figure, paginated."""
    store = current_store()
    if store is None:
        return render(request, "risk/digest.html", {"store": None})
    day, today, error = _day(request, store)
    name = request.GET.get("filter", "orders")[:40]
    if name == "dispute" and not may_see_dispute_reasons(request.user):
        raise PermissionDenied
    value, key = request.GET.get("value", "")[:80], request.GET.get("key", "")[:200]
    context = {"store": store, "day": day, "today": today, "name": name, "value": value}
    if not error:
        try:
            orders, title = digest_orders(store, day, name, value, key)
        except DigestFilterError as problem:
            error = str(problem)
    if error:
        context["error"] = error
        return render(request, "risk/digest_orders.html", context, status=400)
    query = request.GET.copy()
    query.pop("page", None)
    context |= {
        "title": title,
        "key": key,
        "page": paginate(request, orders, PAGE_SIZE),
        "query": query.urlencode(),
    }
    return render(request, "risk/digest_orders.html", context)


urlpatterns = [
    path("digest/", digest, name="digest"),
    path("digest/orders/", digest_order_list, name="digest_orders"),
]
