"""API v1 of the disputes workspace: the queue by deadline, one dispute, its evidence (read,
edit, PDF), and the responses (submit, accept). Reads need disputes.view_dispute; edits and
responses disputes.work_dispute. A response refused before sending is a 409 with the reason."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema
from pydantic import Field

from storedesk.core.api import (
    DETAIL_ERRORS,
    LIST_ERRORS,
    MAX_DATABASE_ID,
    ApiError,
    ErrorOut,
    Money,
    UtcDateTime,
    money_resolver,
    permission_required,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.disputes import queries, services
from storedesk.disputes.errors import DisputeResponseError
from storedesk.disputes.evidence import EDITABLE_FIELDS, paypal_evidence
from storedesk.disputes.models import Dispute, DisputeSubmission
from storedesk.disputes.pdf import render_pack_pdf
from storedesk.disputes.recommendation import recommend_for
from storedesk.disputes.views.dispute import pack_view

VIEW = "disputes.view_dispute"
WORK = "disputes.work_dispute"
DISPUTE_ID = Path(..., ge=1, le=MAX_DATABASE_ID)

router = Router(tags=["disputes"])

DUE_KEYSET = Keyset(scope="disputes_due", fields=("evidence_due_by", "id"), descending=False)
OPENED_KEYSET = Keyset(scope="disputes_opened", fields=("opened_at", "id"))
STATUS_GROUPS = {"open", "responded", "closed", "all"}


class Ordering(StrEnum):
    DUE_BY = "due_by"
    OPENED = "-opened_at"


class DisputeFilters(PageQuery):
    status: str | None = Field(
        None,
        max_length=32,
        pattern=r"^[A-Za-z_]+$",
        description="open (waiting for our response), responded, closed, all, or a "
        "gateway status such as needs_response or WAITING_FOR_SELLER_RESPONSE.",
    )
    gateway: str | None = Field(None, max_length=20, pattern=r"^[a-z_]+$")
    due_before: UtcDateTime | None = Field(None, description="Evidence due before this moment.")
    ordering: Ordering = Field(
        Ordering.DUE_BY,
        description="due_by: soonest deadline first (disputes without one are left out); "
        "-opened_at: newest first, all disputes.",
    )


class OrderRef(Schema):
    id: int
    number: str


class DisputeSummary(Schema):
    id: int
    gateway: str
    provider_id: str
    kind: str
    stage: str
    family: str
    reason: str
    network_reason_code: str
    status: str
    outcome: str
    amount: Money
    opened_at: datetime
    evidence_due_by: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    owner: str | None
    order: OrderRef

    resolve_amount = money_resolver("amount")

    @staticmethod
    def resolve_owner(obj: Dispute) -> str | None:
        return obj.owner.username if obj.owner_id else None


class DisputePage(Schema):
    items: list[DisputeSummary]
    next_cursor: str | None


class TimelineEntry(Schema):
    kind: str
    actor: str
    happened_at: datetime
    details: dict[str, Any]


class RecommendationOut(Schema):
    action: str
    win_chance: float
    expected_gain: str
    reasons: list[str]


class DisputeDetail(DisputeSummary):
    recommendation: RecommendationOut
    timeline: list[TimelineEntry]


class ChecklistItem(Schema):
    key: str
    label: str
    done: bool


class EvidenceOut(Schema):
    fields: dict[str, str] = Field(
        description="Stripe's `evidence` text fields as they would be sent."
    )
    paypal: dict[str, Any] = Field(description="PayPal's provide-evidence `input`.")
    rebuttal: str
    checklist: list[ChecklistItem]
    completeness: int = Field(description="Percent of the reason's checklist the pack holds.")
    missing: list[str]
    warnings: list[str] = Field(description="What was trimmed to fit the gateway's limits.")
    assembled_at: datetime | None


class EvidenceIn(Schema):
    rebuttal: str | None = Field(None, max_length=20_000)
    fields: dict[str, str] | None = Field(
        None, description=f"Gateway text fields to override: {', '.join(sorted(EDITABLE_FIELDS))}."
    )


class ResponseIn(Schema):
    idempotency_key: str = Field(..., min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_\-:.]+$")
    note: str = Field("", max_length=2000)


class OfferType(StrEnum):
    REFUND = "REFUND"
    REFUND_WITH_RETURN = "REFUND_WITH_RETURN"
    REFUND_WITH_REPLACEMENT = "REFUND_WITH_REPLACEMENT"
    REPLACEMENT_WITHOUT_REFUND = "REPLACEMENT_WITHOUT_REFUND"


class OfferIn(ResponseIn):
    amount: Decimal = Field(
        ..., gt=0, max_digits=12, decimal_places=2, description="refund offered, e.g. 30.00"
    )
    offer_type: OfferType = OfferType.REFUND


class SubmissionOut(Schema):
    id: int
    action: str
    status: str
    warnings: list[str]
    error: str
    created_at: datetime
    refund: dict[str, Any] | None = Field(
        None, description="An accepted inquiry's refund: its resolution id and status."
    )

    @staticmethod
    def resolve_refund(obj: DisputeSubmission) -> dict[str, Any] | None:
        return (obj.response or {}).get("storedesk_refund") or None


def _dispute(dispute_id: int) -> Dispute:
    try:
        return queries.dispute_for_page(dispute_id)
    except Dispute.DoesNotExist:
        raise ApiError(404, "not_found", f"No dispute {dispute_id}.") from None


def _evidence(dispute: Dispute) -> dict:
    view = pack_view(dispute)
    return {
        "fields": view["evidence"],
        "paypal": paypal_evidence(view["facts"], view["rebuttal"]),
        "rebuttal": view["rebuttal"],
        "checklist": view["checklist"],
        "completeness": view["completeness"],
        "missing": view["missing"],
        "warnings": view["warnings"],
        "assembled_at": view["pack"].assembled_at if view["pack"] else None,
    }


@router.get(
    "/disputes",
    response={200: DisputePage, **LIST_ERRORS},
    summary="Disputes of every gateway, soonest deadline first",
)
@permission_required(VIEW)
def list_disputes(request: HttpRequest, filters: Query[DisputeFilters]):
    """Needs disputes.view_dispute. Pages with `next_cursor`; filters combine with AND."""
    status = filters.status or "all"
    chosen = queries.QueueFilter(
        gateway=filters.gateway or "",
        status=status if status in STATUS_GROUPS else "all",
        due_before=filters.due_before,
    )
    disputes = queries.dispute_queue(chosen)
    if status not in STATUS_GROUPS:
        disputes = disputes.filter(status=status)
    if filters.ordering == Ordering.DUE_BY:
        return paginate(disputes.filter(evidence_due_by__isnull=False), DUE_KEYSET, filters)
    return paginate(disputes, OPENED_KEYSET, filters)


@router.get(
    "/disputes/{dispute_id}",
    response={200: DisputeDetail, **DETAIL_ERRORS},
    summary="One dispute with its recommendation and timeline",
)
@permission_required(VIEW)
def get_dispute(request: HttpRequest, dispute_id: int = DISPUTE_ID):
    dispute = _dispute(dispute_id)
    pack = getattr(dispute, "pack", None)
    advice = recommend_for(dispute, pack.completeness if pack else 0)
    dispute.recommendation = {
        "action": advice.action,
        "win_chance": round(advice.win_chance, 3),
        "expected_gain": str(advice.expected_gain),
        "reasons": advice.reasons,
    }
    dispute.timeline = queries.timeline(dispute)
    return dispute


@router.get(
    "/disputes/{dispute_id}/evidence",
    response={200: EvidenceOut, **DETAIL_ERRORS},
    summary="The evidence pack: gateway fields, checklist, completeness, what is missing",
)
@permission_required(VIEW)
def get_evidence(request: HttpRequest, dispute_id: int = DISPUTE_ID):
    return _evidence(_dispute(dispute_id))


@router.put(
    "/disputes/{dispute_id}/evidence",
    response={200: EvidenceOut, **DETAIL_ERRORS, 409: ErrorOut, 422: ErrorOut},
    summary="Edit the rebuttal and gateway fields (an empty field drops the edit)",
)
@permission_required(WORK)
def put_evidence(request: HttpRequest, body: EvidenceIn, dispute_id: int = DISPUTE_ID):
    """Needs disputes.work_dispute. 409 once a response was sent; 422 for an unknown field."""
    dispute = _dispute(dispute_id)
    try:
        services.do_update_evidence(
            dispute, actor=request.user, rebuttal=body.rebuttal, fields=body.fields
        )
    except services.EvidenceRefused as refused:
        raise ApiError(refused.status, "evidence_refused", str(refused)) from None
    return _evidence(_dispute(dispute_id))


def _respond(request: HttpRequest, dispute_id: int, body: ResponseIn, action: str):
    dispute = _dispute(dispute_id)
    options = {"actor": request.user, "idempotency_key": body.idempotency_key}
    try:
        if action == DisputeSubmission.Action.SUBMIT:
            return services.do_submit_evidence(dispute, **options)
        return services.do_accept_dispute(dispute, note=body.note, **options)
    except DisputeResponseError as refused:
        raise ApiError(refused.status, refused.code, str(refused)) from None


RESPONSE_ERRORS = {**DETAIL_ERRORS, 409: ErrorOut, 422: ErrorOut, 502: ErrorOut}


@router.post(
    "/disputes/{dispute_id}/submit",
    response={200: SubmissionOut, **RESPONSE_ERRORS},
    summary="Submit the evidence to the gateway (once; never after the deadline)",
)
@permission_required(WORK)
def submit_evidence(request: HttpRequest, body: ResponseIn, dispute_id: int = DISPUTE_ID):
    """Needs disputes.work_dispute. A retry with the same key returns the first submission.
    409: refused before sending (past due, already submitted, closed, not allowed at this
    stage); 422: the gateway refused; 502: the gateway could not be reached."""
    return _respond(request, dispute_id, body, DisputeSubmission.Action.SUBMIT)


@router.post(
    "/disputes/{dispute_id}/accept",
    response={200: SubmissionOut, **RESPONSE_ERRORS},
    summary="Accept the dispute at the gateway (PayPal: accept the claim with a refund)",
)
@permission_required(WORK)
def accept_dispute(request: HttpRequest, body: ResponseIn, dispute_id: int = DISPUTE_ID):
    """Needs disputes.work_dispute; the same refusals as submit. A Stripe inquiry is refunded
    first through the resolutions path (the answer's `refund`); a refused refund is a 422 with
    nothing sent."""
    return _respond(request, dispute_id, body, DisputeSubmission.Action.ACCEPT)


@router.post(
    "/disputes/{dispute_id}/offer",
    response={200: SubmissionOut, **RESPONSE_ERRORS},
    summary="PayPal inquiries: offer the buyer a refund, return or replacement (once)",
)
@permission_required(WORK)
def make_offer(request: HttpRequest, body: OfferIn, dispute_id: int = DISPUTE_ID):
    """Needs disputes.work_dispute. 409 when the gateway or stage takes no offer, the amount
    is above the disputed amount, or an offer was already made."""
    dispute = _dispute(dispute_id)
    try:
        return services.do_make_offer(
            dispute,
            actor=request.user,
            idempotency_key=body.idempotency_key,
            amount=body.amount,
            offer_type=str(body.offer_type),
            note=body.note,
        )
    except DisputeResponseError as refused:
        raise ApiError(refused.status, refused.code, str(refused)) from None


@router.post(
    "/disputes/{dispute_id}/escalate",
    response={200: SubmissionOut, **RESPONSE_ERRORS},
    summary="PayPal inquiries: ask PayPal to decide (the inquiry becomes a claim)",
)
@permission_required(WORK)
def escalate(request: HttpRequest, body: ResponseIn, dispute_id: int = DISPUTE_ID):
    """Needs disputes.work_dispute; the same refusals as submit."""
    dispute = _dispute(dispute_id)
    try:
        return services.do_escalate(
            dispute, actor=request.user, idempotency_key=body.idempotency_key, note=body.note
        )
    except DisputeResponseError as refused:
        raise ApiError(refused.status, refused.code, str(refused)) from None


@router.get(
    "/disputes/{dispute_id}/evidence.pdf",
    response={200: None, **DETAIL_ERRORS},
    summary="The evidence pack as one PDF",
)
@permission_required(VIEW)
def evidence_pdf(request: HttpRequest, dispute_id: int = DISPUTE_ID):
    dispute = _dispute(dispute_id)
    view = pack_view(dispute)
    response = HttpResponse(
        render_pack_pdf(view["facts"], view["rebuttal"]), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'inline; filename="evidence-{dispute.order.number.lstrip("#")}.pdf"'
    )
    return response
