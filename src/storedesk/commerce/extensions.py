"""What the apps above commerce add to its pages, without commerce importing them.

Commerce sits below the desk and disputes (they import commerce, never the other way), yet
an order's page shows its disputes and tickets, and Home shows the desk's queues. Each
higher app registers what it adds here from its `AppConfig.ready()`; commerce asks for it by
name. A section only shows to a user holding its permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch


@dataclass(frozen=True)
class OrderPrefetch:
    """A relation of Order the order's page prefetches for users with `permission`."""

    permission: str
    prefetch: Callable[[], Prefetch]


@dataclass(frozen=True)
class PageSection:
    """Extra context for a commerce page (`home`, `order` or `customer`)."""

    permission: str
    context: Callable[..., dict[str, Any]]


_order_prefetches: dict[str, OrderPrefetch] = {}
_sections: dict[str, dict[str, PageSection]] = {}


def register_order_prefetch(name: str, permission: str, prefetch: Callable[[], Prefetch]) -> None:
    """Prefetch `name` on the order's page for users with `permission` (replaces by name)."""
    _order_prefetches[name] = OrderPrefetch(permission, prefetch)


def register_page_section(
    page: str, name: str, permission: str, context: Callable[..., dict[str, Any]]
) -> None:
    """Add `context(user=…, **page_values)` to `page` for users with `permission`."""
    _sections.setdefault(page, {})[name] = PageSection(permission, context)


def order_prefetches(user) -> list[Prefetch]:
    """The registered prefetches this user may see, in registration order."""
    return [
        item.prefetch() for item in _order_prefetches.values() if user.has_perm(item.permission)
    ]


def page_sections(page: str, user, **values) -> dict[str, Any]:
    """The context every registered section of `page` adds for this user."""
    context: dict[str, Any] = {}
    for section in _sections.get(page, {}).values():
        if user.has_perm(section.permission):
            context |= section.context(user=user, **values)
    return context
