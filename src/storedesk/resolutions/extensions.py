"""What resolutions add to the pages of lower apps: Home's tiles (refunds waiting, approvals
waiting, failed gateway calls, budget left) and its care budget warning, and the care budget's
warnings in risk's daily digest."""

from __future__ import annotations

from django.utils.translation import gettext as _

from storedesk.commerce import extensions
from storedesk.commerce.queries import current_store, store_today
from storedesk.core.money import quantize
from storedesk.resolutions import page_queries
from storedesk.risk.extensions import register_digest_warnings

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


def budget_warnings(store, day) -> list[str]:
    """A line per care budget category at its warning level or over, this month so far."""
    month = page_queries.budget_month(store, day)
    lines = []
    for line in month.lines:
        if line.level == "ok":
            continue
        values = {
            "category": line.label,
            "spent": _amount(line.spent, month.currency),
            "plan": _amount(line.plan, month.currency),
            "percent": line.percent,
        }
        if line.level == "over":
            text = _(
                "%(category)s: %(spent)s spent, over the month's plan of %(plan)s (%(percent)s%%)."
            )
        else:
            text = _("%(category)s: %(spent)s of the month's %(plan)s spent (%(percent)s%%).")
        lines.append(str(text) % values)
    return lines


def _amount(value, currency: str) -> str:
    return f"{quantize(value, currency):,} {currency}"


def register() -> None:
    extensions.register_page_section("home", "resolutions", VIEW_RESOLUTIONS, home_figures)
    register_digest_warnings(budget_warnings)
