"""Commerce pages: thin views over `commerce.queries`; every page needs a commerce permission.

What the desk and disputes add to these pages comes through `commerce.extensions`.
"""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode

from storedesk.audit.queries import history_of
from storedesk.commerce import extensions, queries
from storedesk.commerce.forms import TaskFilterForm
from storedesk.commerce.models import Customer, Order, OrderTask
from storedesk.core.pagination import paginate, render_list
from storedesk.core.permissions import permission_required

PAGE_SIZE = 50
ORDER_HISTORY_SHOWN = 20


@permission_required("commerce.view_order")
def home(request):
    """What the care team has to do: open work by view and by team, what is overdue, the
    tasks waiting; then the store's day, 'today' meaning today on the viewer's own clock.
    Every figure links to the list it counts."""
    store = queries.current_store()
    now = timezone.now()
    context = {"store": store, "overview": None, "now": now}
    context |= extensions.page_sections("home", request.user, now=now)
    if store is not None:
        context["overview"] = queries.store_overview(
            store, timezone.localdate(now), timezone.get_current_timezone_name()
        )
        if request.user.has_perm("commerce.view_ordertask"):
            context["task_counts"] = queries.open_task_counts(store)
    return render(request, "commerce/home.html", context)


@permission_required("commerce.view_ordertask")
def task_list(request):
    """Work someone owes on an order (such as a refund to make at the gateway), filtered by
    kind and status, newest first; open tasks unless another status is asked for."""
    store = queries.current_store()
    data = request.GET.copy()
    data.setdefault("status", OrderTask.Status.OPEN)
    form = TaskFilterForm(data)
    if not form.is_valid():
        context = {"store": store, "form": form, "page": None, "filter_query": ""}
        return render(request, "commerce/task_list.html", context, status=400)
    filters = {name: form.cleaned_data[name] for name in ("kind", "status")}
    page = paginate(request, queries.tasks_for_list(store, **filters), PAGE_SIZE) if store else None
    context = {
        "store": store,
        "form": form,
        "page": page,
        "filter_query": urlencode(filters),
    }
    return render(request, "commerce/task_list.html", context)


@permission_required("commerce.view_order")
def order_list(request):
    """Search box results: one clear match opens the order, anything else is a list."""
    store = queries.current_store()
    q = request.GET.get("q", "").strip()[:200]
    if store is None:
        return render(request, "commerce/order_list.html", {"store": None, "q": q, "page": None})
    page = paginate(request, queries.search_orders(store, q), PAGE_SIZE)
    if q and page.paginator.count == 1:
        return redirect("commerce:order", pk=page.object_list[0].pk)
    return render_list(
        request,
        "commerce/order_list.html",
        "commerce/order_list.html#results",
        {"store": store, "q": q, "page": page},
    )


@permission_required("commerce.view_order")
def order_detail(request, pk: int):
    """Everything about one order that a care or payments person needs on one screen."""
    user = request.user
    try:
        order = queries.order_for_page(pk, extra_prefetches=extensions.order_prefetches(user))
    except Order.DoesNotExist as missing:
        raise Http404 from missing
    context = {
        "store": order.store,
        "order": order,
        "policies": queries.policies_at(order) if user.has_perm("commerce.view_policy") else [],
        "history": (
            list(history_of(order, limit=ORDER_HISTORY_SHOWN))
            if user.has_perm("audit.view_auditentry")
            else []
        ),
        "history_limit": ORDER_HISTORY_SHOWN,
        "standing": queries.customer_standing(order.customer) if order.customer else None,
    }
    context["payments"], context["folded_payments"] = queries.fold_failed_attempts(
        list(order.payments.all())
    )
    context |= extensions.page_sections("order", user, order=order)
    return render(request, "commerce/order_detail.html", context)


@permission_required("commerce.view_customer")
def customer_list(request):
    """Customers by name prefix or email; htmx refreshes only the results while typing."""
    store = queries.current_store()
    q = request.GET.get("q", "").strip()[:200]
    page = paginate(request, queries.search_customers(store, q), PAGE_SIZE) if store else None
    return render_list(
        request,
        "commerce/customer_list.html",
        "commerce/customer_list.html#results",
        {"store": store, "q": q, "page": page},
    )


@permission_required("commerce.view_customer")
def customer_detail(request, pk: int):
    """One customer: what they are worth (lifetime value, orders, VIP mark), details,
    addresses, tags, their latest tickets and their orders, newest first."""
    try:
        customer = queries.customer_for_page(pk)
    except Customer.DoesNotExist as missing:
        raise Http404 from missing
    page = paginate(request, queries.orders_of_customer(customer), PAGE_SIZE)
    context = {
        "store": customer.store,
        "customer": customer,
        "standing": queries.customer_standing(customer),
        "page": page,
    }
    context |= extensions.page_sections("customer", request.user, customer=customer)
    return render(request, "commerce/customer_detail.html", context)
