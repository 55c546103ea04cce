"""`{{ value|http_url }}`: a stored outside URL made safe for an `href` (see core.safe_urls)."""

from django import template

from storedesk.core.safe_urls import safe_http_url

register = template.Library()


@register.filter
def http_url(value: object) -> str:
    """The URL when it is http(s), else '' (so `{% if %}` around the link leaves it out)."""
    return safe_http_url(value)
