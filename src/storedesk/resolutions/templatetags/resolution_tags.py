"""Small filters the resolution pages need to lay out their grids."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, key)


@register.filter
def missing_cells(cells, width: int) -> range:
    """Empty cells that pad a short row to the grid's width."""
    return range(max(int(width) - len(cells), 0))
