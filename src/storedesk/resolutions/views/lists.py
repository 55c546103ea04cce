"""The resolutions list Home's tiles link to: refunds waiting, failed gateway calls, all."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from storedesk.commerce.queries import current_store
from storedesk.core.permissions import permission_required
from storedesk.resolutions import page_queries

PAGE_SIZE = 50


@require_GET
@permission_required("resolutions.view_resolution")
def resolution_list(request):
    """One filter at a time (`?show=`), newest first; an unknown filter shows them all."""
    store = current_store()
    show = request.GET.get("show", "all")
    if show not in page_queries.LIST_FILTERS:
        show = "all"
    page = None
    if store is not None:
        page = Paginator(page_queries.resolution_list(store, show), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    filters = [(key, label) for key, (label, _condition) in page_queries.LIST_FILTERS.items()]
    return render(
        request,
        "resolutions/resolution_list.html",
        {"store": store, "page": page, "show": show, "filters": filters},
    )
