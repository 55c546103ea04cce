"""Limits as data (S3): what each role may do alone, per action. Saved as versions like the
triage priority weights: the newest applies, none is ever changed, each decision can be traced
to the limits of its day.

Per role and action: `allowed` (false: the role may not even ask), `max_amount` (store
currency), `max_share` (of the order's total), `per_order` (all of this action on one order,
this one included), `per_customer_90d` (all of this action for one customer over 90 days) and,
for reships, `reships_per_order`. `null` means no limit. Amount and share both hold: "up to $50
or 30%" is whichever is lower, so a small order is never refunded past its share alone.
`flagged_orders: true` lets the role refund a disputed or risk-flagged order alone; others ask
a payments specialist. Nobody refunds an order with an open chargeback (a rule, not a limit).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from storedesk.accounts.roles import Role
from storedesk.audit.services import record_audit
from storedesk.core.versioned import save_version
from storedesk.resolutions.models import Kind, ResolutionLimits

ACTIONS = ("refund", "reship", "coupon", "store_credit", "cancel", "no_compensation")
MONEY_KEYS = ("max_amount", "per_order", "per_customer_90d")
LIMIT_KEYS = (*MONEY_KEYS, "max_share", "reships_per_order")


def action_of(kind: str) -> str:
    """The limits' action for a resolution kind (full and partial refunds share one)."""
    return "refund" if kind in (Kind.REFUND, Kind.PARTIAL_REFUND) else kind


def _rule(allowed=True, **values) -> dict:
    return {"allowed": allowed} | {key: values.get(key) for key in LIMIT_KEYS}


DEFAULT_LIMITS: dict[str, dict] = {
    Role.AGENT: {
        "flagged_orders": False,
        "refund": _rule(max_amount="50.00", max_share="0.30", per_customer_90d="150.00"),
        "reship": _rule(max_amount="150.00", reships_per_order=1),
        "coupon": _rule(max_amount="25.00"),
        "store_credit": _rule(max_amount="50.00"),
        "cancel": _rule(max_amount="300.00"),
        "no_compensation": _rule(),
    },
    Role.LEAD: {
        "flagged_orders": False,
        "refund": _rule(max_amount="300.00", per_customer_90d="1000.00"),
        "reship": _rule(max_amount="400.00", reships_per_order=2),
        "coupon": _rule(max_amount="100.00"),
        "store_credit": _rule(max_amount="300.00"),
        "cancel": _rule(max_amount="2000.00"),
        "no_compensation": _rule(),
    },
    Role.PAYMENTS: {
        "flagged_orders": True,
        "refund": _rule(max_amount="300.00", per_customer_90d="1000.00"),
        "reship": _rule(max_amount="150.00", reships_per_order=1),
        "coupon": _rule(max_amount="25.00"),
        "store_credit": _rule(max_amount="50.00"),
        "cancel": _rule(max_amount="2000.00"),
        "no_compensation": _rule(),
    },
    Role.ADMIN: {"flagged_orders": True, **{action: _rule() for action in ACTIONS}},
}


def _number(value, where: str, *, integer: bool = False):
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(_("%(where)s: not a number.") % {"where": where}) from None
    if not number.is_finite() or number < 0:
        raise ValidationError(_("%(where)s: must be zero or more.") % {"where": where})
    if integer:
        if number != number.to_integral_value():
            raise ValidationError(_("%(where)s: must be a whole number.") % {"where": where})
        return int(number)
    return str(number.quantize(Decimal("0.01")))


def validate_limits(data: dict) -> dict:
    """The whole set checked and normalised (amounts as strings with cents, shares 0-1)."""
    if not isinstance(data, dict):
        raise ValidationError(_("Limits are a set per role."))
    checked: dict[str, dict] = {}
    for role in Role:
        given = data.get(role.value, DEFAULT_LIMITS[role])
        if not isinstance(given, dict):
            raise ValidationError(_("%(role)s: limits per action.") % {"role": role.value})
        row: dict = {"flagged_orders": bool(given.get("flagged_orders", False))}
        for action in ACTIONS:
            rule = given.get(action) or {}
            if not isinstance(rule, dict):
                raise ValidationError(_("%(where)s: not a rule.") % {"where": f"{role}.{action}"})
            where = f"{role.value}.{action}"
            share = _number(rule.get("max_share"), f"{where}.max_share")
            if share is not None and Decimal(share) > 1:
                raise ValidationError(
                    _("%(where)s: a share is between 0 and 1.") % {"where": f"{where}.max_share"}
                )
            row[action] = {
                "allowed": bool(rule.get("allowed", True)),
                **{key: _number(rule.get(key), f"{where}.{key}") for key in MONEY_KEYS},
                "max_share": share,
                "reships_per_order": _number(
                    rule.get("reships_per_order"), f"{where}.reships_per_order", integer=True
                ),
            }
        checked[role.value] = row
    unknown = set(data) - {role.value for role in Role}
    if unknown:
        raise ValidationError(_("Unknown role: %(role)s.") % {"role": ", ".join(sorted(unknown))})
    return checked


def latest_limits() -> ResolutionLimits | None:
    return ResolutionLimits.newest()


def limits_of(version: ResolutionLimits | None) -> dict:
    return validate_limits(version.limits if version is not None else copy.deepcopy(DEFAULT_LIMITS))


def current_limits() -> dict:
    """The limits that apply now (one query)."""
    return limits_of(latest_limits())


@transaction.atomic
def do_save_limits(data: dict, *, actor, note: str = "") -> ResolutionLimits:
    """Validate the whole set and store it as a new version with an audit entry; an unchanged
    set writes no version."""
    checked = validate_limits(data)
    saved, before, written = save_version(
        ResolutionLimits, "limits", checked, values_of=limits_of, actor=actor, note=note
    )
    if not written:
        return saved
    changed = {
        role: {
            a: [before[role][a], checked[role][a]]
            for a in checked[role]
            if checked[role][a] != before[role][a]
        }
        for role in checked
    }
    record_audit(
        actor=actor,
        action="resolutions.limits_saved",
        obj=saved,
        changes={"version": saved.version, "changed": {r: c for r, c in changed.items() if c}},
    )
    return saved


def roles_of(user) -> list[str]:
    """The user's roles for limits: a superuser counts as an administrator."""
    if getattr(user, "is_superuser", False):
        return [Role.ADMIN.value]
    return [name for name in getattr(user, "role_names", []) if name in Role._value2member_map_]


@dataclass
class Usage:
    """What was already done on the order / for the customer, for the cumulative limits."""

    on_order: Decimal = Decimal("0")
    for_customer_90d: Decimal = Decimal("0")
    reships_on_order: int = 0


@dataclass
class Verdict:
    allowed: bool  # False: no role of the user may do this action at all
    within: bool  # True: the user may do it alone
    over: list[str] = field(default_factory=list)  # why an approval is needed
    approver_role: str = ""  # who must approve ('' = any approver within their limits)


def _overs(rule: dict, amount: Decimal, order_total: Decimal, usage: Usage) -> list[str]:
    overs = []
    if rule["max_amount"] is not None and amount > Decimal(rule["max_amount"]):
        overs.append(_("over the %(limit)s limit per action") % {"limit": rule["max_amount"]})
    if (
        rule["max_share"] is not None
        and order_total > 0
        and amount > (order_total * Decimal(rule["max_share"])).quantize(Decimal("0.01"))
    ):
        share = int(Decimal(rule["max_share"]) * 100)
        overs.append(_("over %(share)s%% of the order") % {"share": share})
    if rule["per_order"] is not None and usage.on_order + amount > Decimal(rule["per_order"]):
        overs.append(_("over the %(limit)s limit per order") % {"limit": rule["per_order"]})
    if rule["per_customer_90d"] is not None and usage.for_customer_90d + amount > Decimal(
        rule["per_customer_90d"]
    ):
        overs.append(
            _("over the %(limit)s limit per customer in 90 days")
            % {"limit": rule["per_customer_90d"]}
        )
    if rule["reships_per_order"] is not None and usage.reships_on_order + 1 > int(
        rule["reships_per_order"]
    ):
        overs.append(_("over %(count)s reship(s) per order") % {"count": rule["reships_per_order"]})
    return overs


def evaluate(
    limits: dict,
    roles: list[str],
    kind: str,
    amount: Decimal,
    *,
    order_total: Decimal,
    usage: Usage,
    flagged: bool = False,
) -> Verdict:
    """Whether any of the roles may do this alone, must ask, or may not ask at all."""
    action = action_of(kind)
    rules = [(role, limits[role]) for role in roles if role in limits]
    allowed = [(role, row) for role, row in rules if row[action]["allowed"]]
    if not allowed:
        return Verdict(allowed=False, within=False)
    money_back = action in ("refund", "cancel")
    if flagged and money_back and not any(row["flagged_orders"] for _, row in allowed):
        return Verdict(
            allowed=True,
            within=False,
            over=[_("the order is disputed or flagged for risk: a payments specialist decides")],
            approver_role=Role.PAYMENTS.value,
        )
    best: list[str] | None = None
    for _role, row in allowed:
        if flagged and money_back and row["flagged_orders"]:
            return Verdict(allowed=True, within=True)
        overs = _overs(row[action], amount, order_total, usage)
        if not overs:
            return Verdict(allowed=True, within=True)
        if best is None or len(overs) < len(best):
            best = overs
    return Verdict(allowed=True, within=False, over=best or [])
