"""The list pages' one pagination and fragment switch (`core.pagination`)."""

from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from storedesk.core.pagination import list_template, paginate


def _request(query: str = "", htmx: bool = False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = RequestFactory().get(f"/list/{query}", **headers)
    HtmxMiddleware(lambda r: None)(request)
    return request


def test_the_page_asked_for():
    page = paginate(_request("?page=2"), list(range(25)), 10)
    assert page.number == 2
    assert list(page.object_list) == list(range(10, 20))


def test_a_missing_or_malformed_page_is_the_first_and_past_the_end_is_the_last():
    assert paginate(_request(), list(range(25)), 10).number == 1
    assert paginate(_request("?page=abc"), list(range(25)), 10).number == 1
    assert paginate(_request("?page=99"), list(range(25)), 10).number == 3


def test_htmx_gets_the_fragment_and_a_visit_the_whole_page():
    full, fragment = "app/list.html", "app/list.html#results"
    assert list_template(_request(), full, fragment) == full
    assert list_template(_request(htmx=True), full, fragment) == fragment
