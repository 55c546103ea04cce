"""API v1 of resolutions: ask for a refund, reship, coupon, store credit or cancel on an order;
decide approvals; read an order's resolutions and the month's care budget.

The same services as the pages decide (`resolutions.services`). Answers to a request: 201 done
(with the gateway's reference), 202 waiting (for an approval, or for a retried gateway call),
403 the role may not, 409 a rule refuses it (over-refund, open chargeback, already cancelled,
shipped — or the gateway refused it for good: nothing is recorded as done, the gateway's code
and message are given), 422 bad input.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.commerce.api_queries import normalize_order_number
from storedesk.commerce.models import Order, Store
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
from storedesk.desk.models import Ticket
from storedesk.resolutions import queries, services
from storedesk.resolutions.gateways import DEMO_LABEL
from storedesk.resolutions.models import Approval, Kind, Resolution

REQUEST = "resolutions.add_resolution"
VIEW = "resolutions.view_resolution"
VIEW_APPROVALS = "resolutions.view_approval"
DECIDE = "resolutions.change_approval"
VIEW_BUDGET = "resolutions.view_carebudget"

router = Router(tags=["resolutions"])
ORDER_NUMBER = Path(..., max_length=40, description="The order number without '#', e.g. TP10482")
APPROVAL_ID = Path(..., ge=1, le=MAX_DATABASE_ID)
WRITE_ERRORS = {**DETAIL_ERRORS, 409: ErrorOut, 422: ErrorOut}
RESOLUTION_KEYSET = Keyset(scope="order-resolutions")
APPROVAL_KEYSET = Keyset(scope="approvals", descending=False)

ResolutionKind = StrEnum("ResolutionKind", [(k.name, k.value) for k in Kind])
ApprovalStatus = StrEnum("ApprovalStatus", [(s.name, s.value) for s in Approval.Status])


# --- Schemas


class ResolutionIn(Schema):
    kind: ResolutionKind
    amount: str | None = Field(
        None,
        max_length=32,
        examples=["12.50"],
        description="A decimal string; left out: the rest for refund/cancel, the lines' value "
        "for a partial refund by lines.",
    )
    currency: str = Field("", max_length=8, examples=["USD"], description="The order's currency")
    reason: str = Field(
        ..., max_length=32, examples=["not_received"], description="Required, see the reasons"
    )
    lines: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=100,
        description='[{"line_item": 12, "quantity": 1}, {"shipping": true}]',
    )
    note: str = Field("", max_length=2000)
    ticket: int | None = Field(
        None, ge=1, le=MAX_DATABASE_ID, description="The ticket number it answers"
    )


class ApprovalSummary(Schema):
    id: int
    status: str
    requested_by: str | None
    requested_amount: Money
    approved_amount: Money | None
    approver: str | None
    approver_role: str
    why_needed: list[str]
    reason: str
    decline_reason: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_requested_by(obj: Approval) -> str | None:
        return obj.requested_by.username if obj.requested_by_id else None

    @staticmethod
    def resolve_approver(obj: Approval) -> str | None:
        return obj.approver.username if obj.approver_id else None

    @staticmethod
    def resolve_requested_amount(obj: Approval) -> dict:
        return money(obj.requested_amount, obj.resolution.currency)

    @staticmethod
    def resolve_approved_amount(obj: Approval) -> dict | None:
        return money(obj.approved_amount, obj.resolution.currency)


class ResolutionOut(Schema):
    id: int
    order_number: str
    ticket: int | None = Field(description="The ticket's number")
    kind: str
    reason: str
    status: str
    amount: Money
    cost: Money
    cost_breakdown: dict[str, Any]
    lines: list[dict[str, Any]]
    gateway: str
    gateway_reference: str
    gateway_label: str = Field(description='"demo: no money moved" for the demo store')
    platform_reference: str
    error: str
    error_code: str
    attempts: int
    actor: str
    note: str
    created_at: datetime
    done_at: datetime | None
    approval: ApprovalSummary | None

    @staticmethod
    def resolve_order_number(obj: Resolution) -> str:
        return obj.order.number

    @staticmethod
    def resolve_ticket(obj: Resolution) -> int | None:
        return obj.ticket.number if obj.ticket_id else None

    @staticmethod
    def resolve_amount(obj: Resolution) -> dict:
        return money(obj.amount, obj.currency)

    @staticmethod
    def resolve_cost(obj: Resolution) -> dict:
        return money(obj.cost, obj.currency)

    @staticmethod
    def resolve_gateway_label(obj: Resolution) -> str:
        return str(DEMO_LABEL) if obj.is_demo else obj.gateway

    @staticmethod
    def resolve_actor(obj: Resolution) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_approval(obj: Resolution) -> Approval | None:
        try:
            return obj.approval
        except Approval.DoesNotExist:
            return None


class ResolutionPage(Schema):
    items: list[ResolutionOut]
    next_cursor: str | None


class ApprovalOut(ApprovalSummary):
    resolution: ResolutionOut


class ApprovalPage(Schema):
    items: list[ApprovalOut]
    next_cursor: str | None


class ApprovalFilters(PageQuery):
    status: ApprovalStatus | None = Field(ApprovalStatus.PENDING, description="pending by default")


class ApproveIn(Schema):
    amount: str | None = Field(None, max_length=32, description="A lower amount, if any")


class DeclineIn(Schema):
    reason: str = Field(..., max_length=2000)


class BudgetCategory(Schema):
    category: str
    spent: Money
    plan: Money
    left: Money
    used_share: str | None = Field(description="spent / plan, e.g. 0.83")
    warning: str = Field(description='"near" from 80%, "over" from 100%, else ""')


class BudgetOut(Schema):
    month: str
    currency: str
    has_plan: bool
    categories: list[BudgetCategory]
    total_spent: Money
    total_plan: Money
    by_reason: list[dict[str, Any]]
    by_agent: list[dict[str, Any]]
    by_product: list[dict[str, Any]]


class BudgetQuery(Schema):
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-12"])
    store: str | None = Field(None, max_length=50, description="The store's slug")


# --- Helpers


def _order(number: str) -> Order:
    order = (
        Order.objects.select_related("store")
        .filter(number_key=normalize_order_number(number))
        .order_by("pk")
        .first()
    )
    if order is None:
        raise ApiError(404, "not_found", f"No order numbered {number[:40]!r}.")
    return order


def _resolution_rows():
    return Resolution.objects.select_related(
        "order", "ticket", "approval", "approval__requested_by", "approval__approver"
    )


def _answer(resolution: Resolution):
    """201 done, 202 waiting (approval or a scheduled retry), 409 a final gateway refusal."""
    resolution = _resolution_rows().get(pk=resolution.pk)
    if resolution.status == Resolution.Status.DONE:
        return Status(201, resolution)
    if resolution.status in (Resolution.Status.PENDING_APPROVAL, Resolution.Status.PROCESSING):
        return Status(202, resolution)
    if resolution.status == Resolution.Status.FAILED:
        raise ApiError(
            409,
            resolution.error_code or "gateway_error",
            resolution.error,
            {"resolution_id": resolution.pk},
        )
    raise ApiError(
        409,
        resolution.error_code or resolution.status,
        resolution.error or f"This request is {resolution.get_status_display().lower()}.",
        {"resolution_id": resolution.pk},
    )


# --- Endpoints


@router.post(
    "/orders/{number}/resolutions",
    response={201: ResolutionOut, 202: ResolutionOut, **WRITE_ERRORS},
    summary="Refund, reship, coupon, store credit or cancel an order (Idempotency-Key header)",
)
@permission_required(REQUEST)
def request_resolution(
    request: HttpRequest,
    body: ResolutionIn,
    number: str = ORDER_NUMBER,
    idempotency_key: str = Header("", alias="Idempotency-Key", max_length=200),
):
    """Needs resolutions.add_resolution. Within the caller's limits it is carried out at once:
    201 with the gateway's reference. Over them: 202 with the approval. The same
    `Idempotency-Key` again returns the first outcome and never moves money twice."""
    order = _order(number)
    ticket = None
    if body.ticket is not None:
        ticket = Ticket.objects.filter(number=body.ticket).first()
        if ticket is None:
            raise ApiError(422, "invalid_ticket", f"No ticket number {body.ticket}.")
    resolution = services.do_request_resolution(
        actor=request.user,
        order=order,
        kind=body.kind.value,
        amount=body.amount,
        currency=body.currency or order.currency,
        reason=body.reason,
        lines=body.lines,
        note=body.note,
        ticket=ticket,
        idempotency_key=idempotency_key,
    )
    return _answer(resolution)


@router.get(
    "/orders/{number}/resolutions",
    response={200: ResolutionPage, **LIST_ERRORS, 404: ErrorOut},
    summary="An order's resolutions, newest first",
)
@permission_required(VIEW)
def list_order_resolutions(
    request: HttpRequest, page: Query[PageQuery], number: str = ORDER_NUMBER
):
    """Needs resolutions.view_resolution."""
    order = _order(number)
    return paginate(_resolution_rows().filter(order=order), RESOLUTION_KEYSET, page)


def _approval_rows():
    return Approval.objects.select_related(
        "requested_by",
        "approver",
        "resolution",
        "resolution__order",
        "resolution__ticket",
    )


@router.get(
    "/approvals",
    response={200: ApprovalPage, **LIST_ERRORS},
    summary="Approval requests (pending by default), oldest first",
)
@permission_required(VIEW_APPROVALS)
def list_approvals(request: HttpRequest, filters: Query[ApprovalFilters]):
    """Needs resolutions.view_approval."""
    rows = _approval_rows()
    if filters.status:
        rows = rows.filter(status=filters.status.value)
    page = paginate(rows, APPROVAL_KEYSET, filters)
    for approval in page["items"]:
        approval.resolution.approval = approval  # no query per row for the nested summary
    return page


def _approval(approval_id: int) -> Approval:
    approval = Approval.objects.filter(pk=approval_id).first()
    if approval is None:
        raise ApiError(404, "not_found", f"No approval {approval_id}.")
    return approval


@router.post(
    "/approvals/{approval_id}/approve",
    response={201: ResolutionOut, 202: ResolutionOut, **WRITE_ERRORS},
    summary="Approve a request, optionally for a lower amount; it is carried out at once",
)
@permission_required(DECIDE)
def approve(request: HttpRequest, body: ApproveIn, approval_id: int = APPROVAL_ID):
    """Needs resolutions.change_approval. Nobody approves their own request (403); an expired
    or already decided request is 409; a higher amount is 422."""
    resolution = services.do_approve(
        actor=request.user, approval=_approval(approval_id), amount=body.amount
    )
    return _answer(resolution)


@router.post(
    "/approvals/{approval_id}/decline",
    response={200: ResolutionOut, **WRITE_ERRORS},
    summary="Decline a request with a reason",
)
@permission_required(DECIDE)
def decline(request: HttpRequest, body: DeclineIn, approval_id: int = APPROVAL_ID):
    """Needs resolutions.change_approval."""
    resolution = services.do_decline(
        actor=request.user, approval=_approval(approval_id), reason=body.reason
    )
    return _resolution_rows().get(pk=resolution.pk)


@router.get(
    "/budget",
    response={200: BudgetOut, **COMMON_ERRORS, 404: ErrorOut, 422: ErrorOut},
    summary="The month's care budget: spend by category against the plan, with warnings",
)
@permission_required(VIEW_BUDGET)
def budget(request: HttpRequest, query: Query[BudgetQuery]):
    """Needs resolutions.view_carebudget. `month` defaults to this month."""
    stores = Store.objects.order_by("pk")
    store = stores.filter(slug=query.store).first() if query.store else stores.first()
    if store is None:
        raise ApiError(404, "not_found", "No such store.")
    if query.month:
        year, month = (int(part) for part in query.month.split("-"))
        day = date(year, month, 1)
    else:
        day = timezone.localdate()
    report = queries.budget_report(store, day)
    for category in report["categories"]:
        for name in ("spent", "plan", "left"):
            category[name] = money(category[name], report["currency"])
    for name in ("total_spent", "total_plan"):
        report[name] = money(report[name], report["currency"])
    for row in report["by_reason"] + report["by_agent"] + report["by_product"]:
        row["total"] = str(row["total"])
    return report
