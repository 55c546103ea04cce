"""Links from outside are http(s) or nothing: the helper every ingest and render path uses."""

import pytest
from django.template import Context, Template

from storedesk.core.safe_urls import safe_http_url

HOSTILE = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "\tjavascript:alert(1)",
    " \x01javascript:alert(1)",
    "java\nscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/track",
    "https:\\\\evil.example",
    "http://",
    "https://[::1",
    "ups.com/track?n=1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_anything_but_an_absolute_http_url_is_refused(value):
    assert safe_http_url(value) == ""
    assert safe_http_url(value, relative=True) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.ups.com/track?tracknum=1Z2345", "https://www.ups.com/track?tracknum=1Z2345"),
        ("HTTP://TOOLS.USPS.COM/go?x=1", "HTTP://TOOLS.USPS.COM/go?x=1"),
        ("  https://shop.example/a \n", "https://shop.example/a"),
    ],
)
def test_http_and_https_urls_are_kept(value, expected):
    assert safe_http_url(value) == expected


def test_a_path_on_the_stores_own_site_is_kept_only_where_asked():
    assert safe_http_url("/products/ring?ref=abc", relative=True) == "/products/ring?ref=abc"
    assert safe_http_url("/products/ring") == ""
    assert safe_http_url("/\\evil.example", relative=True) == ""


def test_the_template_filter_leaves_a_hostile_link_out():
    template = Template(
        '{% load safe_urls %}{% with url=value|http_url %}{% if url %}<a href="{{ url }}">'
        "track</a>{% else %}no link{% endif %}{% endwith %}"
    )

    assert template.render(Context({"value": "JaVaScRiPt:alert(1)"})) == "no link"
    assert template.render(Context({"value": "https://ups.example/t"})) == (
        '<a href="https://ups.example/t">track</a>'
    )
