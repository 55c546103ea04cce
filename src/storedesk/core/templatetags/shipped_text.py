"""Text the product ships in English and stores as data (default rule, list and SLA policy
names, playbook titles and steps) shown in the viewer's language; text the team wrote itself
shows as written. A builtin of every template (settings), so no page has to remember a load."""

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def translated(value):
    """A shipped default in the viewer's language (unchanged when the catalogue lacks it)."""
    return gettext(str(value)) if value else value
