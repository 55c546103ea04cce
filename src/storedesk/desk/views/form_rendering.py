"""Choice widgets rendered once per distinct widget, not once per page.

The desk's pages render the same selects over and over (statuses, priorities, the agents, the
teams): through Django's widget templates each `<option>` is two nested template includes, a
few milliseconds a page. A widget's HTML depends only on its template and its context (name,
value, attributes, choices and labels in the active language), so `WIDGETS` keeps what each
distinct select rendered to and hands it out again: the output is Django's own, byte for byte.
Other widgets (a hidden input with a fresh token, a text input with a ticket's tags) are cheap
and rarely the same twice, so they are rendered as usual.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.translation import get_language

CHOICE_WIDGET_TEMPLATES = frozenset(
    {
        "django/forms/widgets/select.html",
        "django/forms/widgets/radio.html",
        "django/forms/widgets/checkbox_select.html",
    }
)
KEPT_WIDGETS = 2000  # distinct widgets remembered; past that the memory starts over


class _NotAKey(Exception):
    """The context holds something other than plain values: render it every time."""


def _frozen(value):
    """A hashable copy of a widget's context that is equal only for equal output: scalars
    other than plain strings carry their type (`True` and `1`, `1` and `1.0`, a safe and a
    plain string render differently), lazy translations are resolved."""
    if type(value) is str:
        return value
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return (type(value), *(_frozen(item) for item in value))
    if isinstance(value, Promise):
        return (Promise, str(value))
    if value is None or isinstance(value, str | int | float):
        return (type(value), value)
    raise _NotAKey


class KeptWidgetsRenderer(DjangoTemplates):
    """Django's template form renderer, remembering the HTML of the choice widgets it has
    rendered."""

    def __init__(self):
        super().__init__()
        self.kept: dict[tuple, str] = {}

    def render(self, template_name, context, request=None):
        if request is not None or template_name not in CHOICE_WIDGET_TEMPLATES:
            return super().render(template_name, context, request)
        try:
            key = (template_name, get_language(), _frozen(context))
        except _NotAKey:
            return super().render(template_name, context, request)
        html = self.kept.get(key)
        if html is None:
            html = super().render(template_name, context, request)
            if len(self.kept) >= KEPT_WIDGETS:
                self.kept.clear()
            self.kept[key] = html
        return html


WIDGETS = KeptWidgetsRenderer()
