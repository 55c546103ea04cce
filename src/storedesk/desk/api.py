"""API v1 for the desk: tickets, their messages, replies and notes, reply templates, search.

Endpoints check the same permissions as the pages and call the same services (`desk.services`,
`desk.replies`, `desk.search`); a service's refusal (a ValidationError) is a 422 with its
message. Tickets are addressed by their number, the one people see (`SD-1234` → 1234).
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.commerce.models import Order
from storedesk.core.api import (
    COMMON_ERRORS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    ApiError,
    DatabaseId,
    ErrorOut,
    FilterText,
    UtcDateTime,
    permission_required,
    require_permission,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.desk import replies, services
from storedesk.desk.models import Attachment, Channel, Message, ReplyTemplate, Tag, Ticket
from storedesk.desk.search import MAX_PER_PAGE, SearchError, SearchFilters, search_tickets

router = Router()

TICKET_KEYSET = Keyset(scope="tickets", fields=("created_at", "id"))
MESSAGE_KEYSET = Keyset(scope="messages", fields=("created_at", "id"), descending=False)
TEMPLATE_KEYSET = Keyset(scope="templates", fields=("id",), descending=False)
TICKET_NUMBER = Path(..., ge=1, le=2_000_000_000)
WRITE_ERRORS = {**DETAIL_ERRORS, 422: ErrorOut}


# --- schemas ---------------------------------------------------------------------------------


class TicketOut(Schema):
    id: int
    number: int
    token: str = Field(examples=["[#SD-1234]"])
    subject: str
    status: str = Field(description="One of " + ", ".join(Ticket.Status))
    priority: int = Field(description="1 low, 2 normal, 3 high, 4 urgent")
    channel: str
    stage: str
    requester_email: str
    requester_name: str
    customer_id: int | None
    assignee: str | None = Field(description="Username of the assigned agent.")
    team: str | None
    tags: list[str]
    orders: list[str] = Field(description="Numbers of the linked orders.")
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    first_response_at: datetime | None
    follow_up_of: int | None = Field(description="Number of the ticket this one follows up.")

    @staticmethod
    def resolve_assignee(obj: Ticket) -> str | None:
        return obj.assignee.username if obj.assignee_id else None

    @staticmethod
    def resolve_team(obj: Ticket) -> str | None:
        return obj.team.name if obj.team_id else None

    @staticmethod
    def resolve_tags(obj: Ticket) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_orders(obj: Ticket) -> list[str]:
        return [order.number for order in obj.orders.all()]

    @staticmethod
    def resolve_follow_up_of(obj: Ticket) -> int | None:
        return obj.follow_up_of.number if obj.follow_up_of_id else None


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketSearchPage(Schema):
    items: list[TicketOut]
    page: int
    has_next: bool


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    is_inline: bool


class MessageOut(Schema):
    id: int
    kind: str = Field(description="inbound, outbound or note")
    channel: str
    author: str | None = Field(description="Username of the agent, for replies and notes.")
    from_email: str
    from_name: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    new_text: str = Field(description="The text without quoted history.")
    html: str = Field(description="Sanitized HTML, safe to render.")
    is_automatic: bool
    delivery: str = Field(description="none, queued, sending, sent or failed")
    sent_at: datetime | None
    template_id: int | None
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_author(obj: Message) -> str | None:
        return obj.author.username if obj.author_id else None


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class TemplateOut(Schema):
    id: int
    name: str
    category: str
    subject: str
    body: str
    version: int
    usage_count: int
    updated_at: datetime


class TemplatePage(Schema):
    items: list[TemplateOut]
    next_cursor: str | None


class RenderedOut(Schema):
    subject: str
    text: str
    html: str
    missing: list[str] = Field(description="Variables with no value: fill them via `extra`.")


# --- inputs ----------------------------------------------------------------------------------


class TicketFilters(PageQuery):
    status: list[Ticket.Status] = Field(default_factory=list, description="Any of these.")
    channel: Channel | None = None
    assignee_id: DatabaseId | None = None
    unassigned: bool = False
    tag: FilterText(60) | None = None
    requester_email: FilterText(254) | None = None
    created_after: UtcDateTime | None = Field(None, description="Inclusive; UTC unless zoned.")
    created_before: UtcDateTime | None = Field(None, description="Exclusive; UTC unless zoned.")


class TicketSearchQuery(Schema):
    q: FilterText(200) = Field(..., min_length=1, description="Words, or an exact reference.")
    status: list[Ticket.Status] = Field(default_factory=list)
    channel: Channel | None = None
    assignee_id: DatabaseId | None = None
    tag: FilterText(60) | None = None
    created_after: UtcDateTime | None = None
    created_before: UtcDateTime | None = None
    page: int = Field(1, ge=1, le=1000)
    per_page: int = Field(25, ge=1, le=MAX_PER_PAGE)


class TicketCreate(Schema):
    requester_email: str = Field(..., max_length=254, examples=["emma@mail.example"])
    requester_name: str = Field("", max_length=200)
    subject: str = Field("", max_length=250)
    text: str = Field(..., min_length=1, max_length=100_000, description="The first message.")
    channel: Channel = Channel.API
    order_numbers: list[FilterText(32)] = Field(default_factory=list, max_length=20)


class TicketUpdate(Schema):
    """Only the fields sent change; `assignee_id: null` unassigns."""

    status: Ticket.Status | None = None
    priority: int | None = Field(None, ge=1, le=4)
    assignee_id: DatabaseId | None = None
    tags: list[FilterText(60)] | None = Field(None, max_length=30)


class ReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=100_000)
    template_id: DatabaseId | None = None
    status: Ticket.Status | None = Field(None, description="Set the status in the same action.")
    idempotency_key: str = Field("", max_length=80, description="A retry with it sends once.")


class NoteIn(Schema):
    text: str = Field(..., min_length=1, max_length=100_000)


class RenderIn(Schema):
    ticket_number: int = Field(..., ge=1, le=2_000_000_000)
    extra: dict[str, str] = Field(default_factory=dict, description="e.g. coupon_code")


class TemplateFilters(PageQuery):
    category: ReplyTemplate.Category | None = None


# --- helpers ---------------------------------------------------------------------------------


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("assignee", "team", "follow_up_of").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")), "orders"
    )


def _ticket(number: int) -> Ticket:
    ticket = _tickets().filter(number=number).first()
    if ticket is None:
        raise ApiError(404, "not_found", f"No ticket number {number}.")
    return ticket


def _refused(error: ValidationError) -> ApiError:
    return ApiError(422, "refused", "; ".join(error.messages), {"messages": error.messages})


def _filters(query) -> SearchFilters:
    try:
        return SearchFilters(
            statuses=tuple(query.status),
            channel=query.channel or "",
            created_from=query.created_after,
            created_to=query.created_before,
            tag=query.tag or "",
            assignee_id=query.assignee_id,
            unassigned=getattr(query, "unassigned", False),
        )
    except SearchError as error:
        raise ApiError(400, "bad_request", str(error)) from None


# --- tickets ---------------------------------------------------------------------------------


@router.get(
    "/tickets",
    response={200: TicketPage, **LIST_ERRORS},
    tags=["tickets"],
    summary="List tickets, newest first",
)
@permission_required("desk.view_ticket")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]):
    """Needs desk.view_ticket. Filters combine with AND; pages with `next_cursor`."""
    _filters(filters)  # the same validation as search
    tickets = _tickets()
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee_id:
        tickets = tickets.filter(assignee_id=filters.assignee_id)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag)
    if filters.requester_email:
        tickets = tickets.filter(requester_email=filters.requester_email.lower())
    if filters.created_after:
        tickets = tickets.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        tickets = tickets.filter(created_at__lt=filters.created_before)
    return paginate(tickets, TICKET_KEYSET, filters)


@router.get(
    "/tickets/search",
    response={200: TicketSearchPage, **LIST_ERRORS},
    tags=["tickets"],
    summary="Search tickets by words, ticket or order number, email or tracking number",
)
@permission_required("desk.view_ticket")
def search_tickets_endpoint(request: HttpRequest, query: Query[TicketSearchQuery]):
    """Needs desk.view_ticket. Exact references first, then by full-text rank."""
    page = search_tickets(query.q, _filters(query), page=query.page, per_page=query.per_page)
    tickets = {t.pk: t for t in _tickets().filter(pk__in=[t.pk for t in page.items])}
    return {
        "items": [tickets[t.pk] for t in page.items if t.pk in tickets],
        "page": page.number,
        "has_next": page.has_next,
    }


@router.post(
    "/tickets",
    response={201: TicketOut, **COMMON_ERRORS, 422: ErrorOut},
    tags=["tickets"],
    summary="Open a ticket with the customer's first message",
)
@permission_required("desk.add_ticket")
def create_ticket(request: HttpRequest, body: TicketCreate):
    """Needs desk.add_ticket. For integrations that take requests elsewhere (a phone call, a
    marketplace message); the text is stored as the customer's message."""
    email = body.requester_email.strip().lower()
    try:
        validate_email(email)
        keys = [number.lstrip("#").upper() for number in body.order_numbers]
        orders = list(Order.objects.filter(number_key__in=keys)) if keys else []
        found = {order.number_key for order in orders}
        unknown = [n for n in body.order_numbers if n.lstrip("#").upper() not in found]
        if unknown:
            raise ValidationError(f"unknown order: {', '.join(unknown)}")
        ticket = services.do_open_ticket(
            channel=body.channel,
            requester_email=email,
            requester_name=body.requester_name,
            subject=body.subject,
            orders=orders,
            actor=request.user,
        )
        services.do_receive_message(
            ticket,
            services.InboundMessage(
                channel=body.channel,
                from_email=email,
                from_name=body.requester_name,
                subject=body.subject,
                text=body.text,
            ),
        )
    except ValidationError as error:
        raise _refused(error) from None
    return Status(201, _ticket(ticket.number))


@router.get(
    "/tickets/{number}",
    response={200: TicketOut, **DETAIL_ERRORS},
    tags=["tickets"],
    summary="One ticket",
)
@permission_required("desk.view_ticket")
def get_ticket(request: HttpRequest, number: int = TICKET_NUMBER):
    """Needs desk.view_ticket."""
    return _ticket(number)


@router.patch(
    "/tickets/{number}",
    response={200: TicketOut, **WRITE_ERRORS},
    tags=["tickets"],
    summary="Change status, priority, assignee or tags",
)
@permission_required("desk.change_ticket")
def update_ticket(request: HttpRequest, body: TicketUpdate, number: int = TICKET_NUMBER):
    """Needs desk.change_ticket. Each change is its own audited service call."""
    ticket = _ticket(number)
    sent = body.model_dump(exclude_unset=True)
    try:
        if "assignee_id" in sent:
            assignee = None
            if body.assignee_id is not None:
                assignee = (
                    get_user_model().objects.filter(pk=body.assignee_id, is_active=True).first()
                )
                if assignee is None or not assignee.has_perm("desk.change_ticket"):
                    raise ValidationError(f"no agent with id {body.assignee_id}")
            services.do_assign(ticket, actor=request.user, assignee=assignee, team=ticket.team)
        if sent.get("priority") is not None:
            services.do_set_priority(ticket, body.priority, actor=request.user)
        if body.tags is not None:
            services.do_set_tags(ticket, body.tags, actor=request.user)
        if body.status is not None:
            services.do_change_status(ticket, body.status, actor=request.user)
    except ValidationError as error:
        raise _refused(error) from None
    return _ticket(number)


# --- messages --------------------------------------------------------------------------------


@router.get(
    "/tickets/{number}/messages",
    response={200: MessagePage, **DETAIL_ERRORS, 400: ErrorOut, 422: ErrorOut},
    tags=["messages"],
    summary="A ticket's conversation, oldest first (notes included)",
)
@permission_required("desk.view_ticket")
def list_messages(request: HttpRequest, page: Query[PageQuery], number: int = TICKET_NUMBER):
    """Needs desk.view_ticket."""
    ticket = Ticket.objects.filter(number=number).only("pk").first()
    if ticket is None:
        raise ApiError(404, "not_found", f"No ticket number {number}.")
    messages = (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )
    return paginate(messages, MESSAGE_KEYSET, page)


def _message(message: Message) -> Message:
    return (
        Message.objects.select_related("author").prefetch_related("attachments").get(pk=message.pk)
    )


@router.post(
    "/tickets/{number}/reply",
    response={201: MessageOut, **WRITE_ERRORS},
    tags=["messages"],
    summary="Reply to the customer (sent by email or chat after commit)",
)
@permission_required("desk.add_message")
def reply(request: HttpRequest, body: ReplyIn, number: int = TICKET_NUMBER):
    """Needs desk.add_message. With `idempotency_key`, a retried request returns the first
    reply instead of sending a second one. A text that still holds a `[[variable]]` marker of
    a template is refused: 422 `unfilled_placeholder`, the variables in `details.placeholders`.
    Replying to an unassigned ticket assigns it to the token's user (DESK_ASSIGN_ON_REPLY)."""
    ticket = _ticket(number)
    template = None
    if body.template_id is not None:
        template = ReplyTemplate.objects.filter(pk=body.template_id, is_active=True).first()
        if template is None:
            raise ApiError(422, "refused", f"No active template with id {body.template_id}.")
    try:
        message = services.do_reply(
            ticket,
            author=request.user,
            text=body.text,
            template=template,
            status=body.status,
            idempotency_key=body.idempotency_key.strip(),
        )
    except ValidationError as error:
        if getattr(error, "code", None) == "unfilled_placeholder":
            raise ApiError(
                422,
                "unfilled_placeholder",
                error.messages[0],
                {"placeholders": error.params["names"]},
            ) from None
        raise _refused(error) from None
    return Status(201, _message(message))


@router.post(
    "/tickets/{number}/notes",
    response={201: MessageOut, **WRITE_ERRORS},
    tags=["messages"],
    summary="Add an internal note (never sent)",
)
@permission_required("desk.add_message")
def add_note(request: HttpRequest, body: NoteIn, number: int = TICKET_NUMBER):
    """Needs desk.add_message."""
    ticket = _ticket(number)
    try:
        message = services.do_add_note(ticket, author=request.user, text=body.text)
    except ValidationError as error:
        raise _refused(error) from None
    return Status(201, _message(message))


# --- templates -------------------------------------------------------------------------------


@router.get(
    "/templates",
    response={200: TemplatePage, **LIST_ERRORS},
    tags=["templates"],
    summary="List active reply templates",
)
@permission_required("desk.view_replytemplate")
def list_templates(request: HttpRequest, filters: Query[TemplateFilters]):
    """Needs desk.view_replytemplate."""
    templates = ReplyTemplate.objects.filter(is_active=True)
    if filters.category:
        templates = templates.filter(category=filters.category)
    return paginate(templates, TEMPLATE_KEYSET, filters)


@router.post(
    "/templates/{template_id}/render",
    response={200: RenderedOut, **WRITE_ERRORS},
    tags=["templates"],
    summary="Fill a template for a ticket (a preview; nothing is sent)",
)
@permission_required("desk.view_replytemplate")
def render_template(request: HttpRequest, body: RenderIn, template_id: int = Path(..., ge=1)):
    """Needs desk.view_replytemplate and desk.view_ticket. `missing` lists the variables the
    ticket has no value for; they render as `[[name]]` until given in `extra`."""
    require_permission(request, "desk.view_ticket")
    template = ReplyTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise ApiError(404, "not_found", f"No template with id {template_id}.")
    ticket = (
        Ticket.objects.select_related("customer", "store").filter(number=body.ticket_number).first()
    )
    if ticket is None:
        raise ApiError(404, "not_found", f"No ticket number {body.ticket_number}.")
    try:
        rendered = replies.render_reply(template, ticket, request.user, body.extra)
    except ValidationError as error:
        raise _refused(error) from None
    return rendered
