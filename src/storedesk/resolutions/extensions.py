"""What resolutions add to commerce's pages: Home's tiles (refunds waiting, approvals waiting,
failed gateway calls, budget left) and its care budget warning."""

from __future__ import annotations

from storedesk.commerce import extensions
from storedesk.commerce.queries import current_store, store_today
from storedesk.resolutions import page_queries

VIEW_RESOLUTIONS = "resolutions.view_resolution"


def home_figures(*, user, now, **_values) -> dict:
    store = current_store()
    if store is None:
        return {}
    return {
        "resolution_figures": page_queries.home_figures(
            store,
            store_today(store, now),
            approvals=user.has_perm("resolutions.change_approval"),
            budget=user.has_perm("resolutions.view_carebudget"),
        )
    }


def register() -> None:
    extensions.register_page_section("home", "resolutions", VIEW_RESOLUTIONS, home_figures)
