"""API v1 of the experience app: survey results, outreach campaigns, and the shipping problems
customers were told about before they asked."""

from datetime import date, datetime
from enum import StrEnum

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.commerce.queries import current_store
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
from storedesk.experience import queries as experience_queries
from storedesk.experience import queries as outreach_queries
from storedesk.experience import services as outreach_services
from storedesk.experience.models import Campaign, ShippingProblem

router = Router(tags=["experience"])

# --- tracking ----------------------------------------------------------------------------------
PROBLEM_KEYSET = Keyset(scope="shipping-problems", fields=("detected_at", "id"))
ProblemKind = StrEnum("ProblemKind", [(k.name, k.value) for k in ShippingProblem.Kind])


class ShippingProblemOut(Schema):
    id: int
    kind: ProblemKind
    order_number: str
    detected_at: datetime
    notified_at: datetime | None
    ticket_number: int | None
    template_name: str
    skipped_reason: str

    @staticmethod
    def resolve_order_number(problem: ShippingProblem) -> str:
        return problem.order.number

    @staticmethod
    def resolve_ticket_number(problem: ShippingProblem) -> int | None:
        return problem.ticket.number if problem.ticket_id else None


class ShippingProblemPage(Schema):
    items: list[ShippingProblemOut]
    next_cursor: str | None


@router.get(
    "/tracking/shipping-problems",
    response={200: ShippingProblemPage, **LIST_ERRORS},
    summary="Stuck parcels and carrier exceptions, and the notice each customer got",
)
@permission_required("desk.view_ticket")
def list_shipping_problems(request: HttpRequest, page: Query[PageQuery]):
    """Needs desk.view_ticket. Newest first; pages with `next_cursor`. A problem with no
    notice says why (`skipped_reason`: notices off, the customer already wrote …)."""
    problems = ShippingProblem.objects.select_related("order", "ticket").only(
        "id",
        "kind",
        "detected_at",
        "notified_at",
        "template_name",
        "skipped_reason",
        "order__number",
        "ticket__number",
    )
    return paginate(problems, PROBLEM_KEYSET, page)


# --- outreach

VIEW_CAMPAIGNS = "experience.view_campaign"
SEND_CAMPAIGNS = "experience.send_campaign"
CAMPAIGN_KEYSET = Keyset(scope="campaigns")
CAMPAIGN_ID = Path(..., ge=1, le=MAX_DATABASE_ID)


class CampaignResultsOut(Schema):
    delivered: int
    bounced: int
    unsubscribed: int
    failed: int
    waiting: int
    buyers: int = Field(description="Recipients who ordered within 14 days of the send")
    control: int = Field(description="Customers held out (not sent)")
    control_buyers: int
    uplift: float | None = Field(description="Conversion of recipients less the control's")


class CampaignOut(Schema):
    id: int
    name: str
    segment: str
    occasion: str
    send_on: date | None
    status: str
    subject: str
    offer_kind: str
    offer_amount: Money
    offer_text: str
    control_percent: int
    recipients: int = Field(description="Recipients written when queued, control included")
    control: int
    queued_at: datetime | None
    finished_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_segment(obj: Campaign) -> str:
        return obj.segment.name

    @staticmethod
    def resolve_offer_amount(obj: Campaign) -> dict:
        return money(obj.offer_amount, obj.currency)

    @staticmethod
    def resolve_recipients(obj: Campaign) -> int:
        return obj.recipients_count

    @staticmethod
    def resolve_control(obj: Campaign) -> int:
        return obj.control_count


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class CampaignSendOut(Schema):
    campaign: CampaignOut
    added: int = Field(description="Recipients written by this call (0 when it was queued)")
    already_queued: bool


def _campaigns():
    store = current_store()
    rows = Campaign.objects.select_related("segment")
    return rows.filter(store=store) if store is not None else rows.none()


@router.get(
    "/campaigns",
    response={200: CampaignPage, **LIST_ERRORS},
    summary="Outreach campaigns, newest first",
)
@permission_required(VIEW_CAMPAIGNS)
def list_campaigns(request: HttpRequest, page: Query[PageQuery]):
    """Needs experience.view_campaign."""
    return paginate(_campaigns(), CAMPAIGN_KEYSET, page)


@router.post(
    "/campaigns/{campaign_id}/send",
    response={202: CampaignSendOut, **DETAIL_ERRORS, 409: ErrorOut, 422: ErrorOut},
    summary="Queue a campaign for sending (idempotent)",
)
@permission_required(SEND_CAMPAIGNS)
def send_campaign(request: HttpRequest, campaign_id: int = CAMPAIGN_ID):
    """Needs experience.send_campaign. 202 once queued; asking again while it sends answers
    202 with `already_queued` and sends nobody twice. 422 `empty_segment` when nobody is in
    its segment (refused before anything is written), 409 `already_sent` or `cancelled`."""
    campaign = _campaigns().filter(pk=campaign_id).first()
    if campaign is None:
        raise ApiError(404, "not_found", f"No campaign {campaign_id}.")
    try:
        result = outreach_services.do_queue_campaign(campaign.pk, actor=request.user)
    except outreach_services.OutreachError as error:
        raise ApiError(error.status, error.code, error.message) from None
    fresh = _campaigns().get(pk=campaign.pk)
    return Status(
        202,
        {"campaign": fresh, "added": result.added, "already_queued": result.already_queued},
    )


@router.get(
    "/campaigns/{campaign_id}/results",
    response={200: CampaignResultsOut, **DETAIL_ERRORS},
    summary="A campaign's deliveries, bounces, unsubscribes and orders against control",
)
@permission_required(VIEW_CAMPAIGNS)
def campaign_results(request: HttpRequest, campaign_id: int = CAMPAIGN_ID):
    """Needs experience.view_campaign."""
    campaign = _campaigns().filter(pk=campaign_id).first()
    if campaign is None:
        raise ApiError(404, "not_found", f"No campaign {campaign_id}.")
    results = outreach_queries.campaign_results(campaign)
    return {
        "delivered": results.delivered,
        "bounced": results.bounced,
        "unsubscribed": results.unsubscribed,
        "failed": results.failed,
        "waiting": results.queued,
        "buyers": results.buyers,
        "control": results.control,
        "control_buyers": results.control_buyers,
        "uplift": results.uplift,
    }


# --- surveys ----------------------------------------------------------------------------------


class SurveyResultsQuery(Schema):
    start: date | None = Field(
        default=None, description="First day (team time zone); default a year ago"
    )
    end: date | None = Field(default=None, description="Last day; default today")


class CsatOut(Schema):
    responses: int
    average: float | None = Field(description="Mean score on the 1–5 scale")
    satisfied_pct: float | None = Field(description="Share of 4 and 5 answers, in %")


class NpsOut(Schema):
    responses: int
    score: float | None = Field(description="%promoters − %detractors, −100 to 100")
    promoters: int
    passives: int
    detractors: int


class BreakdownOut(Schema):
    key: str | int | None = Field(
        description="User id, intent, channel, template id or resolution kind"
    )
    label: str
    csat: CsatOut


class MonthOut(Schema):
    month: date
    csat: CsatOut
    nps: NpsOut


class SurveyResultsOut(Schema):
    start: date
    end: date
    time_zone: str
    csat: CsatOut
    nps: NpsOut
    invitations_sent: int
    response_rate: float | None = Field(description="Answered share of the surveys sent, in %")
    months: list[MonthOut]
    breakdowns: dict[str, list[BreakdownOut]] = Field(
        description="CSAT by agent, intent, channel, template and resolution_kind"
    )


def _csat_out(figures) -> dict:
    return {
        "responses": figures.responses,
        "average": figures.average,
        "satisfied_pct": figures.satisfied_pct,
    }


def _nps_out(figures) -> dict:
    return {
        "responses": figures.responses,
        "score": figures.score,
        "promoters": figures.promoters,
        "passives": figures.passives,
        "detractors": figures.detractors,
    }


@router.get(
    "/surveys/results",
    response={200: SurveyResultsOut, **COMMON_ERRORS, 422: ErrorOut},
    summary="CSAT, NPS and response rate of the survey answers given in a range of days",
)
@permission_required("experience.view_survey_results")
def get_survey_results(request: HttpRequest, query: Query[SurveyResultsQuery]):
    """Needs experience.view_survey_results (leads, admins). The figures of the survey results
    page: CSAT and NPS of the answers given in the range, the response rate of the surveys
    sent in it, a trend per month and the CSAT by the solved ticket's agent, intent, channel,
    reply template and resolution kind."""
    try:
        period = experience_queries.results_range(query.start, query.end)
    except ValueError as error:
        raise ApiError(422, "invalid_range", str(error)) from None
    results = experience_queries.survey_results(period)
    return {
        "start": period.start,
        "end": period.end,
        "time_zone": period.zone,
        "csat": _csat_out(results.csat),
        "nps": _nps_out(results.nps),
        "invitations_sent": results.invitations_sent,
        "response_rate": results.response_rate,
        "months": [
            {"month": row.month, "csat": _csat_out(row.csat), "nps": _nps_out(row.nps)}
            for row in results.months
        ],
        "breakdowns": {
            name: [
                {"key": row.key, "label": row.label, "csat": _csat_out(row.csat)} for row in rows
            ]
            for name, rows in results.breakdowns.items()
        },
    }
