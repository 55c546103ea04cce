"""API v1 of gateway account health: the open cases, and the month's monitoring ratios.

Cases need gateways.view_accounthealthcase; ratios gateways.view_monitoringthreshold (the
payments role has both). Ratios are decimal strings, never floats; a ratio over no
transactions is null.
"""

from datetime import date, datetime
from enum import StrEnum

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from storedesk.commerce.queries import current_store, store_today
from storedesk.core.api import LIST_ERRORS, ApiError, Money, money_resolver, permission_required
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.gateways import queries
from storedesk.gateways.models import AccountHealthCase
from storedesk.gateways.ratios import MonthError, month_ratios, parse_month

VIEW_CASES = "gateways.view_accounthealthcase"
VIEW_RATIOS = "gateways.view_monitoringthreshold"

router = Router(tags=["gateways"])

CASE_KEYSET = Keyset(scope="account-health", fields=("opened_at", "id"))
CaseStatus = StrEnum("CaseStatus", [(s.name, s.value) for s in AccountHealthCase.Status])
CaseKind = StrEnum("CaseKind", [(k.name, k.value) for k in AccountHealthCase.Kind])


class CaseFilters(PageQuery):
    status: CaseStatus | None = Field(CaseStatus.OPEN, description="open (default) or resolved")


class CaseOut(Schema):
    id: int
    gateway: str
    kind: CaseKind
    status: CaseStatus
    title: str
    provider_ref: str
    owner: str | None
    deadline: datetime | None
    required_documents: list[str]
    amount: Money | None
    opened_at: datetime
    resolved_at: datetime | None

    resolve_amount = money_resolver("amount")

    @staticmethod
    def resolve_owner(case: AccountHealthCase) -> str | None:
        return case.owner.get_username() if case.owner else None


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


@router.get(
    "/account-health",
    response={200: CasePage, **LIST_ERRORS},
    summary="Gateway account-health cases: payout holds, reserves, limitations, reviews",
)
@permission_required(VIEW_CASES)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]):
    """Needs gateways.view_accounthealthcase. Newest first; pages with `next_cursor`."""
    status = filters.status.value if filters.status else None
    return paginate(queries.cases(status=status), CASE_KEYSET, filters)


class MonthQuery(Schema):
    month: str | None = Field(
        None, max_length=7, description="YYYY-MM in the store's time zone; this month if left out"
    )


class ProgramOut(Schema):
    program: str
    label: str
    count: int
    projected_count: str
    transactions: int
    projected_transactions: str
    ratio: str | None
    projected_ratio: str | None
    early_warning: str
    threshold: str
    min_count: int
    level: str = Field(description="none, early_warning or excessive (from the projection)")
    source: str
    effective_from: date


class RatioRowOut(Schema):
    gateway: str
    network: str
    transactions: int
    previous_month_transactions: int
    disputes: int
    fraud_disputes: int
    early_fraud_warnings: int
    dispute_ratio: str | None
    fraud_ratio: str | None
    programs: list[ProgramOut]


class RatiosOut(Schema):
    month: str
    as_of: datetime
    elapsed: str = Field(description="share of the month gone by, 0 to 1")
    rows: list[RatioRowOut]
    warnings: list[str]


def _text(value) -> str | None:
    return None if value is None else str(value)


@router.get(
    "/ratios",
    response={200: RatiosOut, **LIST_ERRORS},
    summary="Dispute and fraud ratios per gateway and card network, with the networks' programs",
)
@permission_required(VIEW_RATIOS)
def get_ratios(request: HttpRequest, query: Query[MonthQuery]):
    """Needs gateways.view_monitoringthreshold. Projected to the month's end from the month
    so far; `warnings` names each program whose projection crosses its early warning."""
    store = current_store()
    if store is None:
        raise ApiError(404, "not_found", "No store yet.")
    now = timezone.now()
    try:
        month = parse_month(query.month) if query.month else store_today(store, now).replace(day=1)
    except MonthError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    result = month_ratios(store, month, now=now)
    return {
        "month": month.strftime("%Y-%m"),
        "as_of": now,
        "elapsed": str(result.elapsed),
        "rows": [
            {
                **{
                    name: getattr(row, name)
                    for name in (
                        "gateway",
                        "network",
                        "transactions",
                        "previous_month_transactions",
                        "disputes",
                        "fraud_disputes",
                        "early_fraud_warnings",
                    )
                },
                "dispute_ratio": _text(row.dispute_ratio),
                "fraud_ratio": _text(row.fraud_ratio),
                "programs": [
                    {
                        **vars(program),
                        "projected_count": str(program.projected_count),
                        "projected_transactions": str(program.projected_transactions),
                        "ratio": _text(program.ratio),
                        "projected_ratio": _text(program.projected_ratio),
                        "early_warning": str(program.early_warning),
                        "threshold": str(program.threshold),
                    }
                    for program in row.programs
                ],
            }
            for row in result.rows
        ],
        "warnings": [warning_text(row, program) for row, program in result.warnings],
    }


def warning_text(row, program) -> str:
    return (
        f"{program.label} ({row.gateway}, {row.network}): projected {program.projected_ratio} "
        f"crosses the {program.level.replace('_', ' ')} level "
        f"({program.early_warning} early warning, {program.threshold} threshold)"
    )
