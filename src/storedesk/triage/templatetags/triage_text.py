"""Priority reasons in the viewer's language (a builtin of every template).

A reason is stored as the English the scorer wrote ("payment in risk review", "intent:
not_received"), so the history stays readable whatever language was active when it was scored.
"""

from django import template
from django.utils.translation import gettext, gettext_noop

from storedesk.triage.intents import Intent, Mood, Threat

register = template.Library()

_LABELLED = {
    "intent": (gettext_noop("intent"), Intent),
    "also": (gettext_noop("also"), Intent),
    "mood": (gettext_noop("mood"), Mood),
    "threat": (gettext_noop("threat"), Threat),
}


@register.filter
def priority_reason(reason: str) -> str:
    kind, _, value = (reason or "").partition(": ")
    if kind in _LABELLED and value:
        prefix, choices = _LABELLED[kind]
        label = dict(choices.choices).get(value, value)
        return f"{gettext(prefix)}: {label}"
    return gettext(reason or "")
