"""Commerce pages: thin views over `commerce.queries`; every page needs a commerce permission."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from storedesk.audit.queries import history_of
from storedesk.commerce import queries
from storedesk.commerce.models import Customer, Order
from storedesk.core.permissions import permission_required
from storedesk.desk import queries as desk_queries

PAGE_SIZE = 50
ORDER_HISTORY_SHOWN = 20


def _page(request, queryset):
    """The requested page of a queryset; out-of-range pages fall back to the last one."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _fragment(request, template: str, fragment: str) -> str:
    """htmx asks for the fragment it swaps; a normal visit gets the whole page."""
    return f"{template}#{fragment}" if request.htmx else template


@permission_required("commerce.view_order")
def home(request):
    """The store at a glance, 'today' meaning today on the store's own clock."""
    store = queries.current_store()
    overview = None
    if store is not None:
        overview = queries.store_overview(store, queries.store_today(store, timezone.now()))
    return render(request, "commerce/home.html", {"store": store, "overview": overview})


@permission_required("commerce.view_order")
def order_list(request):
    """Search box results: one clear match opens the order, anything else is a list."""
    store = queries.current_store()
    q = request.GET.get("q", "").strip()[:200]
    if store is None:
        return render(request, "commerce/order_list.html", {"store": None, "q": q, "page": None})
    page = _page(request, queries.search_orders(store, q))
    if q and page.paginator.count == 1:
        return redirect("commerce:order", pk=page.object_list[0].pk)
    return render(
        request,
        _fragment(request, "commerce/order_list.html", "results"),
        {"store": store, "q": q, "page": page},
    )


@permission_required("commerce.view_order")
def order_detail(request, pk: int):
    """Everything about one order that a care or payments person needs on one screen."""
    user = request.user
    try:
        order = queries.order_for_page(pk, with_disputes=user.has_perm("disputes.view_dispute"))
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
    if user.has_perm("desk.view_ticket"):
        context.update(_order_tickets(order))
    return render(request, "commerce/order_detail.html", context)


def _order_tickets(order: Order) -> dict:
    """The tickets about the order and the customer's other tickets (two indexed queries)."""
    limit = desk_queries.CUSTOMER_TICKETS
    about = desk_queries.tickets_about_order(order, limit)
    others = desk_queries.tickets_of_customer(order.customer_id, limit) if order.customer_id else []
    about_pks = {ticket.pk for ticket in about}
    return {
        "order_tickets": about[:limit],
        "more_order_tickets": len(about) > limit,
        "other_tickets": [ticket for ticket in others[:limit] if ticket.pk not in about_pks],
        "more_other_tickets": len(others) > limit,
    }


@permission_required("commerce.view_customer")
def customer_list(request):
    """Customers by name prefix or email; htmx refreshes only the results while typing."""
    store = queries.current_store()
    q = request.GET.get("q", "").strip()[:200]
    page = _page(request, queries.search_customers(store, q)) if store else None
    return render(
        request,
        _fragment(request, "commerce/customer_list.html", "results"),
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
    page = _page(request, queries.orders_of_customer(customer))
    context = {
        "store": customer.store,
        "customer": customer,
        "standing": queries.customer_standing(customer),
        "page": page,
    }
    if request.user.has_perm("desk.view_ticket"):
        tickets = desk_queries.tickets_of_customer(customer.pk)
        context["tickets"] = tickets[: desk_queries.CUSTOMER_TICKETS]
        context["more_tickets"] = len(tickets) > desk_queries.CUSTOMER_TICKETS
    return render(request, "commerce/customer_detail.html", context)
