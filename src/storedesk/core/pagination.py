"""The one way a list page is paginated and answered: the page asked for with `?page=N`, and the
whole page for a visit or only the fragment an htmx request swaps in.

The API's lists are keyset-paginated instead (`core.api_pagination`): pages here are numbered
because people jump to them; API clients walk a cursor.
"""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def paginate(request: HttpRequest, queryset: QuerySet | list, per_page: int) -> Page:
    """The page `?page=N` asks for. A missing or malformed number gives the first page and one
    past the end gives the last, so an old or hand-edited link never answers with an error."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def list_template(request: HttpRequest, full_template: str, fragment_template: str) -> str:
    """The fragment (a `template.html#partial` name) for htmx, the whole page otherwise."""
    return fragment_template if getattr(request, "htmx", False) else full_template


def render_list(
    request: HttpRequest,
    full_template: str,
    fragment_template: str,
    context: dict,
    *,
    status: int | None = None,
) -> HttpResponse:
    """Render a list page, or only its fragment when htmx asks (filters typed, page turned)."""
    return render(
        request, list_template(request, full_template, fragment_template), context, status=status
    )
