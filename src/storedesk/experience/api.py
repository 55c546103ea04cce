"""API v1 of the experience app: survey results, outreach campaigns, and the shipping problems
customers were told about before they asked."""

from datetime import datetime
from enum import StrEnum

from django.http import HttpRequest
from ninja import Query, Router, Schema

from storedesk.core.api import LIST_ERRORS, permission_required
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.experience.models import ShippingProblem

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
