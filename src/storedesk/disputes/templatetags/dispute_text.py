"""Gateway dispute codes in words (a builtin of every template)."""

from django import template

from storedesk.disputes.labels import reason_label, status_label

register = template.Library()


@register.filter
def dispute_reason(code: str) -> str:
    return reason_label(code or "")


@register.filter
def dispute_status(code: str) -> str:
    return status_label(code or "")
