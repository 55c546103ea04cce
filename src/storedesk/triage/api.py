"""API v1 for triage: understand a text the same way the desk understands inbound messages."""

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from storedesk.core.api import COMMON_ERRORS, ApiError, ErrorOut, permission_required
from storedesk.triage.analysis import analyse_text
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.priority import WeightsError, latest_weights, validate_weights, weights_of
from storedesk.triage.queries import report_range, sla_report, team_zone
from storedesk.triage.services import do_save_priority_weights

router = Router(tags=["triage"])

MAX_TEXT_CHARS = 1_000_000


class TriageIn(Schema):
    text: str = Field(
        max_length=MAX_TEXT_CHARS,
        description="The message: plain text or HTML (stripped first). Long texts are "
        "analysed in part; `notes` says so.",
        examples=["Where is my order #TP10234? It's been two weeks!!"],
    )
    subject: str = Field(default="", max_length=1000)


class IntentOut(Schema):
    intent: str = Field(description="One of " + ", ".join(Intent.values))
    confidence: float = Field(ge=0, le=1)


class FeatureOut(Schema):
    feature: str = Field(description="A word, word pair or character n-gram of the text")
    weight: float = Field(description="Coefficient × tf-idf value: its push towards the intent")


class OrderRefOut(Schema):
    kind: str = Field(description="order or tracking")
    value: str = Field(examples=["TP10234"])
    text: str = Field(description="As written in the message")
    carrier: str = ""
    explicit: bool = Field(default=True, description="False for a bare number taken as an order")


class TriageOut(Schema):
    intents: list[IntentOut] = Field(description="Best first; a message can carry two")
    primary_intent: str
    explanation: dict[str, list[FeatureOut]] = Field(description="Top features per intent")
    order_refs: list[OrderRefOut]
    mood: str = Field(description="One of " + ", ".join(Mood.values))
    anger: float = Field(ge=0, le=1)
    mood_signals: list[str]
    threats: list[str] = Field(description="Any of " + ", ".join(Threat.values))
    language: str = Field(description="ISO 639-1 code; empty when too short to tell")
    is_english: bool
    model_version: str
    notes: list[str]


@router.post(
    "/triage",
    response={200: TriageOut, **COMMON_ERRORS, 422: ErrorOut},
    summary="Understand a customer message: intents, order references, mood, threats, language",
)
@permission_required("triage.view_messageanalysis")
def triage(request: HttpRequest, body: TriageIn):
    """Needs triage.view_messageanalysis. Nothing is stored; order references are the text's
    own, never looked up (so no order's details can be learnt through this endpoint)."""
    return analyse_text(body.text, subject=body.subject).as_dict()


# --- priority weights ------------------------------------------------------------------------


class PriorityWeightsOut(Schema):
    version: int | None = Field(description="The saved version; null: the built-in weights")
    weights: dict[str, Any] = Field(
        description="Points per signal: `intent`, `mood`, `threat` (name → points), `anger` "
        "(times the 0–1 level), `order_value` and `lifetime_spend` ([USD at or above, points], "
        "first that fits), `vip`, `open_dispute`, `early_fraud_warning`, `payment_in_review`, "
        "`age_points_per_hour`, `age_max`, `sla_breached`, `sla_close`, and `levels` "
        "([score at or above, desk priority 1–4])."
    )
    note: str = ""
    changed_by: str | None = None
    changed_at: datetime | None = None


class PriorityWeightsIn(Schema):
    weights: dict[str, Any] = Field(
        description="The whole set, as in the answer of GET. A key left out takes the "
        "built-in default; inside `intent`, `mood` and `threat` a name left out scores 0. "
        "`levels` may also be written {urgent, high, normal}. Points are whole numbers from "
        "-100 to 100.",
        examples=[{"vip": 25, "open_dispute": 50}],
    )
    note: str = Field(default="", max_length=200, description="Why; kept with the version")


def _weights_out() -> dict:
    version = latest_weights()
    return {
        "version": version.version if version else None,
        "weights": validate_weights(weights_of(version)),
        "note": version.note if version else "",
        "changed_by": (version.changed_by.username if version and version.changed_by_id else None),
        "changed_at": version.changed_at if version else None,
    }


@router.get(
    "/triage/priority-weights",
    response={200: PriorityWeightsOut, **COMMON_ERRORS},
    summary="The weights of the priority score that apply now",
)
@permission_required("triage.view_priorityweights")
def get_priority_weights(request: HttpRequest):
    """Needs triage.view_priorityweights (leads, admins)."""
    return _weights_out()


@router.put(
    "/triage/priority-weights",
    response={200: PriorityWeightsOut, **COMMON_ERRORS, 422: ErrorOut},
    summary="Save a new version of the priority weights",
)
@permission_required("triage.change_priorityweights")
def put_priority_weights(request: HttpRequest, body: PriorityWeightsIn):
    """Needs triage.change_priorityweights (leads, admins). Checked whole first: 422
    `invalid_weights` names the field, and nothing is saved. An unchanged set writes no
    version. Tickets scored from now on use the new weights; open tickets keep their score
    until re-scored (`storedesk triage-rescore` or the button on the weights page)."""
    try:
        do_save_priority_weights(body.weights, actor=request.user, note=body.note)
    except WeightsError as error:
        raise ApiError(422, "invalid_weights", error.messages[0], {"field": error.field}) from None
    return _weights_out()


# --- SLA report ------------------------------------------------------------------------------


class SlaReportQuery(Schema):
    start: date | None = Field(
        default=None, alias="from", description="First day (team time zone); default 30 days ago"
    )
    end: date | None = Field(default=None, alias="to", description="Last day; default today")
    group: Literal["policy", "priority", "channel"] = "policy"


class MinutesOut(Schema):
    median: float | None = Field(default=None, description="Business minutes")
    p90: int | None = Field(default=None, description="Business minutes, nearest rank")


class SlaRowOut(Schema):
    group: str | int | None = Field(description="Policy name, priority 1–4 or channel")
    label: str
    tickets: int
    open: int
    responded: int
    first_response: MinutesOut
    first_response_within_target_pct: float | None
    resolved: int
    resolution: MinutesOut = Field(description="Less the time spent waiting on the customer")
    resolution_within_target_pct: float | None
    breaches: int
    breached_tickets: int


class SlaReportOut(Schema):
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    time_zone: str
    group: str
    rows: list[SlaRowOut]
    total: SlaRowOut


def _row_out(row, total: bool = False) -> dict:
    return {
        "group": None if total else row.key,
        "label": row.label,
        "tickets": row.tickets,
        "open": row.open,
        "responded": row.responded,
        "first_response": row.first_response,
        "first_response_within_target_pct": row.first_response_within_pct,
        "resolved": row.resolved,
        "resolution": row.resolution,
        "resolution_within_target_pct": row.resolution_within_pct,
        "breaches": row.breaches,
        "breached_tickets": row.breached_tickets,
    }


@router.get(
    "/triage/sla-report",
    response={200: SlaReportOut, **COMMON_ERRORS, 422: ErrorOut},
    summary="First response, resolution and breaches of the tickets created in a range of days",
    by_alias=True,
)
@permission_required("triage.view_sla_report")
def get_sla_report(request: HttpRequest, query: Query[SlaReportQuery]):
    """Needs triage.view_sla_report (leads, admins). The same figures as the SLA report page:
    business minutes stored on each ticket's clock, grouped by policy, priority or channel."""
    zone = team_zone()
    try:
        period = report_range(query.start, query.end, zone)
    except ValueError as error:
        raise ApiError(422, "invalid_range", str(error)) from None
    report = sla_report(period, query.group)
    return {
        "from": period.start,
        "to": period.end,
        "time_zone": zone,
        "group": query.group,
        "rows": [_row_out(row) for row in report.rows],
        "total": _row_out(report.total, total=True),
    }
