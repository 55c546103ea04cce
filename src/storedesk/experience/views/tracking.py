"""Self-service order tracking at /track/ (customers, no account) and the desk's page of the
problems told to customers before they asked.

A lookup by order number and e-mail that fails for any reason (unknown number, wrong e-mail,
mistyped) gets one answer, so the page tells nothing about other people's orders; lookups
are rate limited per client address and per order number, in the cache (Redis in
production), and refused with 429 and Retry-After. A verified lookup, or the signed link in
the order's e-mails, opens the order's page and marks the order as verified in the session;
reports are accepted only for a verified order.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from storedesk.commerce.queries import order_id_of_tracking_token, order_tracking_url
from storedesk.core.permissions import permission_required
from storedesk.desk import throttle
from storedesk.experience.forms import TrackingLookupForm, TrackingReportForm, new_form_key
from storedesk.experience.models import TrackingReport
from storedesk.experience.queries import notice_report, order_for_lookup, tracking_page
from storedesk.experience.services import TrackingReportIn, do_report_from_tracking

NOT_FOUND = (
    "We couldn't find that order. Please check the order number and use the email address "
    "you ordered with."
)
SESSION_KEY = "tracking_verified_orders"
MAX_VERIFIED = 20


def lookup_limits() -> tuple[throttle.Limit, throttle.Limit]:
    return (
        throttle.Limit("track-ip", settings.TRACKING_LOOKUPS_PER_IP_MINUTE, 60),
        throttle.Limit("track-order", settings.TRACKING_LOOKUPS_PER_ORDER_HOUR, 3600),
    )


def order_limit_key(number: str) -> str:
    """One key for every way of typing a number ('#TP10234', 'tp10234', '10234'), so a
    guesser cannot multiply their tries by changing its form."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return (digits or "".join(number.upper().split()))[:32]


def _verify(request, order_id: int) -> None:
    """Remember the order as verified in this browser's session (written only when new)."""
    verified = request.session.get(SESSION_KEY, [])
    if order_id not in verified:
        request.session[SESSION_KEY] = [order_id, *verified][:MAX_VERIFIED]


def _is_verified(request, order_id: int) -> bool:
    return order_id in request.session.get(SESSION_KEY, [])


def _customer_page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    with translation.override("en-us"):  # customers read US English
        return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def track(request):
    """The lookup form; a verified order number and e-mail open the order's tracking page."""
    form = TrackingLookupForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return _customer_page(request, "experience/track/lookup.html", {"form": form}, status)
    by_ip, by_order = lookup_limits()
    order_key = order_limit_key(form.cleaned_data["order"])
    refusal = throttle.check(by_ip, throttle.client_ip(request)) or throttle.check(
        by_order, order_key
    )
    if refusal:
        response = _customer_page(
            request,
            "experience/track/lookup.html",
            {"form": form, "throttled": refusal},
            status=429,
        )
        response["Retry-After"] = str(refusal.retry_after)
        return response
    order = order_for_lookup(form.cleaned_data["order"], form.cleaned_data["email"])
    if order is None:
        return _customer_page(
            request, "experience/track/lookup.html", {"form": form, "not_found": NOT_FOUND}
        )
    _verify(request, order.pk)
    return redirect(order_tracking_url(order, absolute=False))


def _order_page(request, order_id: int, *, report_form=None, status: int = 200):
    page = tracking_page(order_id)
    if page is None:
        return _customer_page(
            request,
            "experience/track/lookup.html",
            {"form": TrackingLookupForm(), "not_found": NOT_FOUND},
            status=404,
        )
    form = report_form or TrackingReportForm(
        order=page.order, offered=page.offered, initial={"form_key": new_form_key()}
    )
    reported = request.GET.get("reported", "")
    return _customer_page(
        request,
        "experience/track/order.html",
        {
            "page": page,
            "store": page.order.store,
            "form": form,
            "token": request.resolver_match.kwargs["token"],
            "kinds": TrackingReport.Kind,
            "reported": next((r for r in page.reports if str(r.pk) == reported), None),
        },
        status=status,
    )


@require_GET
def track_link(request, token: str):
    """The order's tracking page, opened by its signed link (in every order e-mail)."""
    order_id = order_id_of_tracking_token(token)
    if order_id is None:
        return _customer_page(
            request,
            "experience/track/lookup.html",
            {"form": TrackingLookupForm(), "not_found": NOT_FOUND, "expired": True},
            status=404,
        )
    _verify(request, order_id)
    return _order_page(request, order_id)


@require_POST
def track_report(request, token: str):
    """A problem reported from the tracking page: a structured ticket with the order linked."""
    order_id = order_id_of_tracking_token(token)
    if order_id is None:
        return _customer_page(
            request,
            "experience/track/lookup.html",
            {"form": TrackingLookupForm(), "not_found": NOT_FOUND, "expired": True},
            status=404,
        )
    if not _is_verified(request, order_id):
        return redirect("experience:track_link", token=token)
    page = tracking_page(order_id)
    if page is None:
        return redirect("experience:track")
    form = TrackingReportForm(request.POST, request.FILES, order=page.order, offered=page.offered)
    if not form.is_valid():
        return _order_page(request, order_id, report_form=form, status=400)
    data = form.cleaned_data
    try:
        report = do_report_from_tracking(
            order_id,
            TrackingReportIn(
                kind=data["kind"],
                form_key=data["form_key"],
                message=data["message"],
                photos=data["photos"],
                line_item_id=data["line_item"],
                new_size=data["new_size"],
                ip=throttle.client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            ),
        )
    except ValidationError as refused:
        form.add_error(None, " ".join(refused.messages))
        return _order_page(request, order_id, report_form=form, status=400)
    url = reverse("experience:track_link", args=[token])
    return redirect(f"{url}?reported={report.pk}#reported")


@require_GET
@permission_required("desk.view_ticket")
def tracking_notices(request):
    """Problems told to customers before they asked, and the where-is-my-order tickets saved."""
    return render(
        request,
        "experience/track/notices.html",
        {"report": notice_report(timezone.now())},
    )
