"""Score reasons and rule actions in the viewer's language (a builtin of every template)."""

from django import template
from django.utils.translation import gettext

from storedesk.risk.fraud_signals import SIGNALS
from storedesk.risk.language import ACTION_LABELS

register = template.Library()


@register.filter
def score_reason(reason: dict) -> str:
    """A score reason: the signal's own label when the reason is its description."""
    spec = SIGNALS.get(reason.get("signal", ""))
    if spec and reason.get("reason") == spec.description:
        return spec.label
    return gettext(reason.get("reason") or "")


@register.filter
def rule_action(action: str) -> str:
    return gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action
