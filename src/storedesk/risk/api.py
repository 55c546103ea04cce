"""API v1 of the risk review: the queue, one order's assessment, and decisions on it.

The same services as the review page decide (`risk.review`), under the same permissions:
risk.view_orderrisk to read, risk.review_order to decide. Card fingerprints among the signals
need commerce.view_payment_details, as everywhere else; without it they are left out.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.core.api import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    MAX_DATABASE_ID,
    ApiError,
    ErrorOut,
    Money,
    has_permission,
    money,
    money_resolver,
    permission_required,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.risk import queries, review
from storedesk.risk.language import Action
from storedesk.risk.models import OrderRisk, RiskDecision

VIEW = "risk.view_orderrisk"
DECIDE = "risk.review_order"
PAYMENT_DETAILS = "commerce.view_payment_details"

router = Router(tags=["risk"])

REVIEW_KEYSET = Keyset(scope="risk-reviews", fields=("score", "amount_usd", "id"))
ORDER_ID = Path(..., ge=1, le=MAX_DATABASE_ID)

ReviewStage = StrEnum("ReviewStage", [(s.name, s.value) for s in OrderRisk.Stage])
ReviewStatus = StrEnum("ReviewStatus", [(s.name, s.value) for s in OrderRisk.Status])
RuleAction = StrEnum("RuleAction", [(a.name, a.value) for a in Action])
DecisionKind = StrEnum("DecisionKind", [(k.name, k.value) for k in RiskDecision.Kind])
# What a client may decide; a review is opened on request by the desk's rules, and closed or
# reopened by the facts about its order and payment, not posted here.
NOT_POSTED = (RiskDecision.Kind.OPENED, RiskDecision.Kind.OVERTAKEN, RiskDecision.Kind.REOPENED)
DecisionTaken = StrEnum(
    "DecisionTaken", [(k.name, k.value) for k in RiskDecision.Kind if k not in NOT_POSTED]
)
VerificationTemplateKey = StrEnum(
    "VerificationTemplateKey", [(key.upper(), key) for key in review.VERIFICATION_TEMPLATES]
)


def _visible(values: dict, context: dict) -> dict:
    """Signal values the caller may read: payment details only for those allowed."""
    if has_permission(context, PAYMENT_DETAILS):
        return values
    return {k: v for k, v in values.items() if k not in queries.PAYMENT_DETAIL_SIGNALS}


# --- Schemas


class ScoreReason(Schema):
    signal: str
    points: int
    reason: str
    value: Any = Field(description="The signal's value; null when it was unavailable.")


class ReviewSummary(Schema):
    order_id: int
    order_number: str = Field(examples=["#TP10234"])
    order_created_at: datetime
    total: Money
    email: str
    customer_id: int | None
    customer_name: str | None
    is_first_order: bool | None = Field(description="null when unknown")
    score: int = Field(ge=0, le=100)
    top_reasons: list[ScoreReason]
    status: ReviewStatus
    stage: ReviewStage
    action: RuleAction = Field(description="What the deciding rule asked for.")
    decided_by_rule: str | None = Field(description="Name of the rule that fired, if any.")
    fulfillment_held: bool
    scored_at: datetime

    @staticmethod
    def resolve_order_number(obj: OrderRisk) -> str:
        return obj.order.number

    @staticmethod
    def resolve_order_created_at(obj: OrderRisk) -> datetime:
        return obj.order.created_at

    @staticmethod
    def resolve_total(obj: OrderRisk) -> dict | None:
        return money(obj.order.total_price, obj.order.currency)

    @staticmethod
    def resolve_email(obj: OrderRisk) -> str:
        return obj.order.email

    @staticmethod
    def resolve_customer_id(obj: OrderRisk) -> int | None:
        return obj.order.customer_id

    @staticmethod
    def resolve_customer_name(obj: OrderRisk) -> str | None:
        customer = obj.order.customer
        return (customer.full_name or customer.email) if customer else None

    @staticmethod
    def resolve_is_first_order(obj: OrderRisk) -> bool | None:
        return (obj.signals or {}).get("is_first_order")

    @staticmethod
    def resolve_top_reasons(obj: OrderRisk) -> list[dict]:
        return queries.top_reasons(obj)

    @staticmethod
    def resolve_decided_by_rule(obj: OrderRisk) -> str | None:
        return obj.decided_by_rule.name if obj.decided_by_rule_id else None


class RuleOutcomeOut(Schema):
    rule_id: int | None
    source: str
    fired: bool
    undecided: bool = Field(description="The rule could not decide: a value was unavailable.")
    values: dict[str, Any] = Field(description="The signal values the rule looked at.")


class DecisionOut(Schema):
    id: int
    kind: DecisionKind
    stage: ReviewStage = Field(description="The review's stage after the decision.")
    reason: str
    details: dict[str, Any]
    actor: str | None = Field(description="Username of who decided; null for the system.")
    created_at: datetime

    @staticmethod
    def resolve_actor(obj: RiskDecision) -> str | None:
        return obj.actor.username if obj.actor_id else None


class TaskOut(Schema):
    id: int
    kind: str
    status: str
    amount: Money | None
    reason: str
    created_at: datetime

    resolve_amount = money_resolver("amount")


class ReviewDetail(ReviewSummary):
    model_version: str
    score_reasons: list[ScoreReason]
    signals: dict[str, Any] = Field(
        description="Every signal by name; null when unavailable (e.g. no GeoIP file). "
        "card_fingerprint only with commerce.view_payment_details."
    )
    rule_outcomes: list[RuleOutcomeOut]
    decisions: list[DecisionOut]
    open_tasks: list[TaskOut]

    @staticmethod
    def resolve_signals(obj: OrderRisk, context: dict) -> dict:
        return _visible(obj.signals or {}, context)

    @staticmethod
    def resolve_rule_outcomes(obj: OrderRisk, context: dict) -> list[dict]:
        return [
            {
                "rule_id": outcome.get("rule"),
                "source": outcome.get("source", ""),
                "fired": bool(outcome.get("fired")),
                "undecided": bool(outcome.get("undecided")),
                "values": _visible(outcome.get("values") or {}, context),
            }
            for outcome in obj.rule_outcomes or []
        ]

    @staticmethod
    def resolve_decisions(obj: OrderRisk) -> list:
        return list(obj.decisions.all())

    @staticmethod
    def resolve_open_tasks(obj: OrderRisk) -> list:
        return list(obj.order.open_tasks)


class ReviewPage(Schema):
    items: list[ReviewSummary]
    next_cursor: str | None


class ReviewFilters(PageQuery):
    stage: ReviewStage | None = None
    action: RuleAction | None = None
    min_score: int | None = Field(None, ge=0, le=100, description="Only scores at least this.")


class DecisionIn(Schema):
    kind: DecisionTaken
    reason: str = Field(
        "",
        max_length=review.REASON_MAX_LENGTH,
        description="Why; required for approve, cancel, cancel_fraud, contact and note "
        "(a note's text is its reason).",
    )
    stage: ReviewStage | None = Field(None, description="For kind=stage: the stage to move to.")
    template: VerificationTemplateKey | None = Field(
        None, description="For kind=contact: the verification template."
    )
    message: str = Field(
        "",
        max_length=review.MESSAGE_MAX_LENGTH,
        description="For kind=contact: the text to send instead of the template's own.",
    )


class DecisionResult(Schema):
    decision: DecisionOut
    status: ReviewStatus
    stage: ReviewStage
    fulfillment_held: bool


# --- Endpoints


def _review(order_id: int) -> OrderRisk:
    """One order's assessment with everything the detail shows (one query per collection)."""
    risk = queries.review_for_api(order_id)
    if risk is None:
        raise ApiError(
            404, "not_found", f"No risk assessment for order {order_id}: unknown or not scored."
        )
    return risk


@router.get(
    "/risk/reviews",
    response={200: ReviewPage, **LIST_ERRORS},
    summary="Orders in risk review, riskiest and largest first",
)
@permission_required(VIEW)
def list_reviews(request: HttpRequest, filters: Query[ReviewFilters]):
    """Needs risk.view_orderrisk. Pages with `next_cursor`; filters combine with AND."""
    queue = queries.review_queue(
        stage=filters.stage, action=filters.action, min_score=filters.min_score
    )
    return paginate(queue, REVIEW_KEYSET, filters)


@router.get(
    "/risk/orders/{order_id}",
    response={200: ReviewDetail, **DETAIL_ERRORS},
    summary="One order's risk assessment: signals, rules, score, decisions",
)
@permission_required(VIEW)
def get_review(request: HttpRequest, order_id: int = ORDER_ID):
    """Needs risk.view_orderrisk; `order_id` is the order's numeric id."""
    return _review(order_id)


@router.post(
    "/risk/orders/{order_id}/decisions",
    response={201: DecisionResult, **DETAIL_ERRORS, 409: ErrorOut, 422: ErrorOut},
    summary="Decide on an order in review (approve, cancel, report fraud, contact, stage, note)",
)
@permission_required(DECIDE)
def create_decision(request: HttpRequest, body: DecisionIn, order_id: int = ORDER_ID):
    """Needs risk.review_order. Repeating a decision (a retry) returns the first one.
    409 when the order is not in review or already decided; 422 when a reason is missing."""
    order_risk = _review(order_id)
    decision = review.do_decide(
        order_risk,
        request.user,
        body.kind.value,
        reason=body.reason,
        stage=body.stage.value if body.stage else "",
        template=body.template.value if body.template else "",
        message=body.message,
    )
    order_risk.refresh_from_db(fields=["status", "stage", "fulfillment_held"])
    return Status(
        201,
        {
            "decision": decision,
            "status": order_risk.status,
            "stage": order_risk.stage,
            "fulfillment_held": order_risk.fulfillment_held,
        },
    )
