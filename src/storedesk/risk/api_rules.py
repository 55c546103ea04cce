"""API v1 of the risk rules: read and write rules (each write a new version), and backtest a
rule's text on the store's history before saving it.

The same services and checks as the rule editor: a rule that does not parse or check is a 422
whose details carry the parser's column and a pointer; a rule that would act on more than the
broad-match share of orders is a 422 `broad_rule` unless `confirm_broad` is true.
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.core.api import (
    COMMON_ERRORS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    MAX_DATABASE_ID,
    ApiError,
    ErrorOut,
    Money,
    money,
    permission_required,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.risk import queries
from storedesk.risk.backtest import (
    BROAD_MATCH_WARNING,
    MAX_BACKTEST_DAYS,
    BacktestResult,
    backtest_rule,
)
from storedesk.risk.forms import DEFAULT_BACKTEST_DAYS, RULE_MAX_LENGTH
from storedesk.risk.language import Action, RuleError, parse_rule
from storedesk.risk.models import RiskRule
from storedesk.risk.services import do_save_rule, next_rule_priority

VIEW = "risk.view_riskrule"
ADD = "risk.add_riskrule"
CHANGE = "risk.change_riskrule"
VERSIONS_SHOWN = 20

router = Router(tags=["risk rules"])

RULE_KEYSET = Keyset(scope="risk-rules", fields=("priority", "id"), descending=False)
RULE_ID = Path(..., ge=1, le=MAX_DATABASE_ID)
WRITE_ERRORS = {**COMMON_ERRORS, 422: ErrorOut}


# --- Schemas


class RuleOut(Schema):
    id: int
    name: str
    source: str = Field(examples=["review if :amount_usd: > 700 and :is_first_order:"])
    action: Action
    priority: int = Field(description="Lower runs first; the first rule that matches decides.")
    enabled: bool = Field(alias="is_enabled")
    version: int
    updated_at: datetime


class RuleVersionOut(Schema):
    version: int
    source: str
    priority: int
    enabled: bool = Field(alias="is_enabled")
    changed_by: str | None = Field(description="Username; null for the system.")
    changed_at: datetime
    note: str

    @staticmethod
    def resolve_changed_by(obj) -> str | None:
        return obj.changed_by.username if obj.changed_by_id else None


class RuleDetail(RuleOut):
    versions: list[RuleVersionOut] = Field(
        description=f"The newest {VERSIONS_SHOWN} versions, newest first (numbered 1 to `version`)."
    )

    @staticmethod
    def resolve_versions(obj) -> list:
        return obj.versions_shown


class RulePage(Schema):
    items: list[RuleOut]
    next_cursor: str | None


class RuleIn(Schema):
    source: str = Field(min_length=1, max_length=RULE_MAX_LENGTH)
    name: str = Field("", max_length=120, description="Defaults to the rule's text.")
    priority: int | None = Field(
        None, ge=0, le=1_000_000, description="Defaults to after the last rule."
    )
    enabled: bool = True
    note: str = Field("", max_length=200, description="What changed and why, for the history.")
    confirm_broad: bool = Field(
        False,
        description="Save even though the backtest matches more than "
        f"{BROAD_MATCH_WARNING:.0%} of the last {DEFAULT_BACKTEST_DAYS} days' orders.",
    )


class RuleUpdate(RuleIn):
    priority: int | None = Field(None, ge=0, le=1_000_000, description="Unchanged if left out.")
    name: str = Field("", max_length=120, description="Unchanged if left out.")


class BacktestIn(Schema):
    source: str = Field(min_length=1, max_length=RULE_MAX_LENGTH)
    days: int = Field(DEFAULT_BACKTEST_DAYS, ge=1, le=MAX_BACKTEST_DAYS)


class BacktestOut(Schema):
    source: str
    action: Action
    days: int
    orders: int = Field(description="Orders scored in the period.")
    matched: int
    match_rate: float = Field(ge=0, le=1)
    matched_volume: Money
    disputed: int = Field(
        description="Matched orders later disputed or warned of (early fraud warning)."
    )
    refunded: int = Field(description="Matched orders refunded and not disputed.")
    good: int = Field(description="Matched orders neither disputed nor refunded.")
    overrides: int = Field(description="Allow rules: flagged orders this rule would let through.")
    overrides_disputed: int
    example_order_ids: list[int] = Field(description="The newest matching orders, up to 20.")
    warning: str = Field(description="Set when the rule would act on too many orders.")


# --- Helpers


def _rule_error(error: RuleError) -> ApiError:
    return ApiError(
        422,
        "invalid_rule",
        error.message,
        {"column": error.column, "position": error.position, "pointer": error.pointer()},
    )


def _backtest(source: str, days: int) -> BacktestResult:
    try:
        return backtest_rule(source, days, cached=True)
    except RuleError as error:
        raise _rule_error(error) from None


def _save(body: RuleIn, request: HttpRequest, rule: RiskRule | None) -> RiskRule:
    """Check, backtest, refuse a broad rule unless confirmed, then write the version."""
    result = _backtest(body.source, DEFAULT_BACKTEST_DAYS)
    if result.warning and not body.confirm_broad:
        raise ApiError(
            422,
            "broad_rule",
            result.warning,
            {"matched": result.matched, "orders": result.orders, "confirm_with": "confirm_broad"},
        )
    if body.priority is not None:
        priority = body.priority
    else:
        priority = rule.priority if rule else next_rule_priority()
    return do_save_rule(
        body.source,
        actor=request.user,
        name=body.name,
        priority=priority,
        is_enabled=body.enabled,
        rule=rule,
        note=body.note,
    )


def _rule_detail(rule_id: int) -> RiskRule:
    rule = RiskRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(404, "not_found", f"No risk rule has the id {rule_id}.")
    rule.versions_shown = list(queries.versions_of(rule)[:VERSIONS_SHOWN])
    return rule


# --- Endpoints


@router.get(
    "/risk/rules",
    response={200: RulePage, **LIST_ERRORS},
    summary="List the risk rules in the order they are evaluated",
)
@permission_required(VIEW)
def list_risk_rules(request: HttpRequest, page: Query[PageQuery]):
    """Needs risk.view_riskrule. Enabled and disabled rules, lowest priority first."""
    return paginate(RiskRule.objects.all(), RULE_KEYSET, page)


@router.post(
    "/risk/rules",
    response={201: RuleDetail, **WRITE_ERRORS},
    summary="Create a risk rule (checked and backtested first)",
)
@permission_required(ADD)
def create_risk_rule(request: HttpRequest, body: RuleIn):
    """Needs risk.add_riskrule. 422 `invalid_rule` with the column of the error, or
    `broad_rule` when it would act on too many orders and `confirm_broad` is not set. The rule
    applies to orders scored from now on."""
    rule = _save(body, request, None)
    return Status(201, _rule_detail(rule.pk))


@router.get(
    "/risk/rules/{rule_id}",
    response={200: RuleDetail, **DETAIL_ERRORS},
    summary="One risk rule with its version history",
)
@permission_required(VIEW)
def get_risk_rule(request: HttpRequest, rule_id: int = RULE_ID):
    """Needs risk.view_riskrule."""
    return _rule_detail(rule_id)


@router.put(
    "/risk/rules/{rule_id}",
    response={200: RuleDetail, **DETAIL_ERRORS, 422: ErrorOut},
    summary="Write a new version of a risk rule",
)
@permission_required(CHANGE)
def update_risk_rule(request: HttpRequest, body: RuleUpdate, rule_id: int = RULE_ID):
    """Needs risk.change_riskrule. The same checks as creating; an unchanged rule writes no
    new version."""
    rule = RiskRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise ApiError(404, "not_found", f"No risk rule has the id {rule_id}.")
    _save(body, request, rule)
    return _rule_detail(rule_id)


@router.post(
    "/risk/backtest",
    response={200: BacktestOut, **WRITE_ERRORS},
    summary="Backtest a rule's text on the last N days of orders, without saving it",
)
@permission_required(VIEW)
def backtest_risk_rule(request: HttpRequest, body: BacktestIn):
    """Needs risk.view_riskrule. 422 `invalid_rule` with the column when it does not parse."""
    result = _backtest(body.source, body.days)
    return {
        "source": body.source,
        "action": parse_rule(body.source).action,
        "days": result.days,
        "orders": result.orders,
        "matched": result.matched,
        "match_rate": round(result.match_rate, 4),
        "matched_volume": money(result.matched_volume_usd, "USD"),
        "disputed": result.disputed,
        "refunded": result.refunded,
        "good": result.good,
        "overrides": result.overrides,
        "overrides_disputed": result.overrides_disputed,
        "example_order_ids": result.examples,
        "warning": result.warning,
    }
