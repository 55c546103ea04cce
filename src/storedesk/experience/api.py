"""API v1 of the experience app: survey results and outreach campaigns."""

from datetime import date

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from storedesk.core.api import COMMON_ERRORS, ApiError, ErrorOut, permission_required
from storedesk.experience import queries as experience_queries

router = Router(tags=["experience"])

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
