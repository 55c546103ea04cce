"""Small filters the resolution pages need to lay out their grids."""

from django import template
from django.utils.translation import gettext_lazy as _

from storedesk.resolutions.models import Kind, Reason

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, key)


@register.filter
def missing_cells(cells, width: int) -> range:
    """Empty cells that pad a short row to the grid's width."""
    return range(max(int(width) - len(cells), 0))


COST_PARTS = {
    "refund": _("Refund"),
    "gateway_fee_not_returned": _("Gateway fee not returned"),
    "goods_at_cost": _("Replacement at cost"),
    "shipping": _("Shipping"),
    "coupon_likely_cost": _("Coupon at its likely cost"),
    "store_credit_likely_cost": _("Store credit at its likely cost"),
}


@register.filter
def cost_part(name: str) -> str:
    """The label of one part of a cost breakdown (the key as it is when unknown)."""
    return str(COST_PARTS.get(name, name))


@register.filter
def resolution_kind(value: str) -> str:
    """A kind's label, as timeline entries store the value."""
    return str(dict(Kind.choices).get(value, value))


@register.filter
def resolution_reason(value: str) -> str:
    return str(dict(Reason.choices).get(value, value))


@register.filter
def role_label(value: str) -> str:
    """A role's name as people read it ('payments_specialist' → 'Payments specialist')."""
    from storedesk.accounts.roles import Role

    try:
        return Role(value).label
    except ValueError:
        return value
