"""The desk part of the demo store: the demo's customers write to the care team about their
real orders, and the team answers.

Who writes and why follows the simulated world: a lost parcel's customer writes "not
received", a delivered-but-not-received parcel's customer writes exactly that, a customer
whose order later went to a chargeback may threaten one first, a refund for a wrong size
started as an exchange request. The rest (where is my order, product questions, compliments,
…) comes at realistic rates: about 0.3 tickets per order.

The last `RECENT_DAYS` (at most the last `RECENT_TICKETS` conversations) arrive through the
real paths: RFC 5322 mails through `desk.mail_in.do_ingest_batch` (parsing, threading by token
and In-Reply-To, quoting), chats and web forms through `desk.services`, answers through
`do_reply` with the reply templates. Older history, thousands of tickets, is written
set-based (`core.bulk`) in the same shapes, so the default demo stays fast. "Today" (the
demo's end) has a real backlog: new tickets nobody has touched, open ones, pending answers,
tickets on hold with a carrier.
"""

from __future__ import annotations

import hashlib
import random
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.db import transaction

from storedesk.accounts.models import Team, User
from storedesk.commerce.models import Customer, Order
from storedesk.core.bulk import bulk_insert
from storedesk.core.models import NamedSequence
from storedesk.demo import desk_text
from storedesk.demo.scenarios import DemoContext, OrderPlan, Scenario, scenario
from storedesk.desk.mail_in import do_ingest_batch, do_save_mailbox
from storedesk.desk.models import (
    Channel,
    Mailbox,
    Message,
    Participant,
    ReplyTemplate,
    Tag,
    Ticket,
    TicketEvent,
)
from storedesk.desk.numbering import ticket_token
from storedesk.desk.replies import (
    AGENT_VARIABLES,
    facts_present,
    is_offered,
    render_reply,
    render_source,
    unfilled_placeholders,
)
from storedesk.desk.services import (
    FIRST_TICKET_NUMBER,
    TICKET_COUNTER,
    InboundMessage,
    do_assign,
    do_change_status,
    do_link_orders,
    do_open_ticket,
    do_receive_message,
    do_reply,
    text_to_html,
)
from storedesk.experience.services.tracking import PROBLEM_TEMPLATES

RECENT_DAYS = 7  # the last week goes through the real mail and reply paths …
RECENT_TICKETS = 500  # … up to this many conversations (a million-order store has 6,000 a week)
BACKLOG = timedelta(hours=36)  # "today" the team is behind: most of the last 36 h unanswered
SOLVED_AFTER = timedelta(days=3)  # a pending answer nobody replies to is solved …
CLOSED_AFTER = timedelta(days=4)  # … and a solved ticket closes, as in most help desks
AGENTS = {"care": "agent", "payments": "payments", "fulfillment": "lead"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# How often an order leads to a ticket of each kind when nothing special happened to it.
BASE_RATES = (
    ("where-is-my-order", 0.12),
    ("product-question", 0.035),
    ("return-exchange", 0.02),
    ("refund-request", 0.008),
    ("cancel-change", 0.01),
    ("discount-price", 0.01),
    ("compliment", 0.012),
    ("wrong-item", 0.005),
    ("payment-problem", 0.004),
    ("unrecognized-charge", 0.003),
    ("warranty", 0.004),
    ("bad-review-threat", 0.002),
)


@dataclass
class Turn:
    kind: str  # inbound / outbound
    at: datetime
    text: str = ""


@dataclass
class TicketPlan:
    """One conversation to write: who, about which order, what they say, what happens."""

    situation: str
    opened_at: datetime
    channel: str
    email: str
    first_name: str
    last_name: str
    order_key: str
    subject: str
    turns: list[Turn] = field(default_factory=list)
    status: str = Ticket.Status.NEW
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    assigned: bool = False
    priority: int = 2
    reply_values: dict = field(default_factory=dict)


def _phrase(rng: random.Random, plan: OrderPlan, facts: dict) -> dict:
    """The values a customer's words are filled with, from their order."""
    variant = plan.lines[0][0]
    shipment = plan.shipments[0] if plan.shipments else None
    last = shipment.events[-1] if shipment and shipment.events else None
    size = variant.variant_title.split()[-1] if "Size" in variant.variant_title else "7"
    try:
        size_up = str(float(size) + 1).removesuffix(".0")
    except ValueError:
        size_up = "8"
    return {
        "order": plan.number if rng.random() < 0.7 else rng.choice(["my order", "the order"]),
        "item": variant.title.split(" - ")[0],
        "date": f"{plan.created_at:%B} {plan.created_at.day}",
        "days": max(2, (facts["at"] - plan.created_at).days),
        "weeks": max(2, (facts["at"] - plan.created_at).days // 7),
        "weekday": rng.choice(WEEKDAYS[:5]),
        "carrier": shipment.carrier if shipment else "the carrier",
        "tracking": shipment.tracking_number if shipment else "",
        "last_event": last.message if last else "Shipping label created",
        "last_scan": f"{last.happened_at:%B} {last.happened_at.day}" if last else "last week",
        "eta": (
            f"{plan.expected_delivery_at:%B} {plan.expected_delivery_at.day}"
            if plan.expected_delivery_at
            else "last week"
        ),
        "delivered": (
            f"{plan.delivered_at:%B} {plan.delivered_at.day}" if plan.delivered_at else "Monday"
        ),
        "location": shipment.delivery_location if shipment and shipment.delivery_location else "",
        "total": f"${plan.total:,.2f}",
        "size": size,
        "size_up": size_up,
        "first": plan.shopper.first_name,
        "last": plan.shopper.last_name,
        "agent": "Linh",
    }


def _reply_values(plan: OrderPlan, values: dict) -> dict[str, str]:
    """What the agent's template is filled with: the order's facts and what the agent types."""
    shipment = plan.shipments[0] if plan.shipments else None
    refund = plan.refunds[0].amount if plan.refunds else plan.total
    return {
        "order_date": values["date"],
        "items": ", ".join(variant.title for variant, _quantity in plan.lines),
        "carrier": shipment.carrier if shipment else "",
        "tracking_number": shipment.tracking_number if shipment else "",
        "tracking_link": shipment.tracking_url if shipment else "",
        "delivered_on": values["delivered"] if plan.delivered_at else "",
        "carrier_eta": values["eta"] if plan.expected_delivery_at else "",
        "tracking_last_event": values["last_event"] if shipment else "",
        "refund_amount": f"${refund:,.2f}",
        "coupon_code": f"SORRY{plan.seq % 90 + 10}",
    }


def _typos(rng: random.Random, text: str) -> str:
    for right, wrong in rng.sample(desk_text.TYPOS, 2):
        text = text.replace(right, wrong, 1)
    return text.lower() if rng.random() < 0.2 else text


def _compose(rng: random.Random, situation, values: dict, channel: str) -> str:
    if channel == Channel.CHAT and situation.chat_openers:
        return rng.choice(situation.chat_openers).format(**values)
    body = rng.choice(situation.openers).format(**values)
    if rng.random() < 0.3:
        body += " " + " ".join(rng.sample(desk_text.ASIDES, rng.randint(1, 3)))
    if rng.random() < 0.15:
        body = _typos(rng, body)
    greeting = rng.choice(desk_text.GREETINGS)
    sign_off = rng.choice(desk_text.SIGN_OFFS).format(**values)
    return "\n\n".join(part for part in (greeting, body, sign_off) if part)


def _situations(rng: random.Random, plan: OrderPlan, now: datetime):
    """(situation, when) the customer of this order writes, from what happened to it."""
    found = []
    shipped, delivered = plan.shipped_at, plan.delivered_at
    if plan.parcel_lost and plan.expected_delivery_at and rng.random() < 0.85:
        found.append(
            ("not-received", plan.expected_delivery_at + timedelta(days=rng.randint(1, 9)))
        )
    if plan.delivered_not_received and delivered and rng.random() < 0.9:
        found.append(("delivered-not-received", delivered + timedelta(hours=rng.randint(4, 60))))
    if plan.delayed and shipped and rng.random() < 0.5:
        found.append(("tracking-not-updating", shipped + timedelta(days=rng.randint(6, 12))))
    for refund in plan.refunds:
        before = refund.created_at - timedelta(hours=rng.randint(6, 96))
        if refund.reason == "wrong_size":
            found.append(("wrong-size", before))
        elif refund.reason == "damaged":
            found.append(("damaged", before))
        elif refund.reason == "changed_mind" and plan.cancelled_at:
            found.append(
                ("cancel-change", plan.created_at + timedelta(minutes=rng.randint(20, 300)))
            )
        elif refund.reason == "changed_mind" and rng.random() < 0.5:
            found.append(("refund-request", refund.created_at + timedelta(days=rng.randint(3, 9))))
    for dispute in plan.disputes:
        if not plan.is_fraud and rng.random() < 0.5:
            found.append(
                ("chargeback-threat", dispute.opened_at - timedelta(days=rng.randint(1, 5)))
            )
    if plan.failed_attempts and plan.payment and rng.random() < 0.5:
        found.append(("payment-problem", plan.created_at + timedelta(minutes=rng.randint(5, 90))))
    if not found:
        roll = rng.random()
        for key, rate in BASE_RATES:
            if roll < rate:
                found.append((key, _base_time(rng, key, plan)))
                break
            roll -= rate
    return [
        (key, at)
        for key, at in found
        if at is not None and plan.created_at - timedelta(days=3) <= at <= now
    ]


def _base_time(rng: random.Random, key: str, plan: OrderPlan) -> datetime | None:
    delivered = plan.delivered_at
    if key == "where-is-my-order":
        return plan.created_at + timedelta(hours=rng.randint(40, 200))
    if key == "product-question":
        return plan.created_at - timedelta(hours=rng.randint(2, 60))  # asked before buying
    if key == "cancel-change":
        return plan.created_at + timedelta(minutes=rng.randint(10, 240))
    if key == "payment-problem":
        return plan.created_at + timedelta(minutes=rng.randint(5, 600))
    if key == "unrecognized-charge":
        return plan.created_at + timedelta(days=rng.randint(10, 35))
    if delivered is None:
        return None
    if key == "warranty":
        return delivered + timedelta(days=rng.randint(60, 200))
    return delivered + timedelta(hours=rng.randint(3, 240))


@scenario("desk", order=110)
class DeskScenario(Scenario):
    """Collects conversations while the orders are written, then writes them in time order."""

    def setup(self, ctx: DemoContext) -> None:
        ctx.shared["desk_plans"] = []

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        rng = ctx.random_for(self.name)
        collected = ctx.shared["desk_plans"]
        for plan in plans:
            for key, at in _situations(rng, plan, ctx.now):
                collected.append(self.conversation(ctx, rng, plan, key, at))

    def conversation(self, ctx, rng, plan: OrderPlan, key: str, at: datetime) -> TicketPlan:
        situation = desk_text.BY_KEY[key]
        # Whole seconds, as a mail's Date header carries: the timeline's "created" entry and
        # the first message must be the same instant, not a fraction of a second apart.
        at = at.replace(microsecond=0)
        values = _phrase(rng, plan, {"at": at})
        roll = rng.random()
        channel = Channel.EMAIL if roll < 0.72 else Channel.FORM if roll < 0.86 else Channel.CHAT
        subject = rng.choice(situation.subjects).format(**values)
        item = TicketPlan(
            situation=key,
            opened_at=at,
            channel=channel,
            email=plan.email,
            first_name=plan.shopper.first_name,
            last_name=plan.shopper.last_name,
            order_key=plan.number_key if situation.needs_order or rng.random() < 0.5 else "",
            subject=subject if channel != Channel.CHAT else "",
            priority=situation.priority,
            reply_values=_reply_values(plan, values),
        )
        item.turns.append(Turn("inbound", at, _compose(rng, situation, values, channel)))
        chat = channel == Channel.CHAT
        first_wait = timedelta(minutes=rng.randint(1, 12)) if chat else _wait(rng)
        reply_at = at + first_wait
        behind = ctx.now - BACKLOG
        if reply_at > ctx.now or (at > behind and rng.random() < 0.6):
            return item
        item.assigned = True
        item.turns.append(Turn("outbound", reply_at))
        if rng.random() < 0.35:
            angry = key in {"not-received", "delivered-not-received", "tracking-not-updating"}
            pool = desk_text.ANGRY_FOLLOW_UPS if angry and rng.random() < 0.4 else ()
            pool = pool or (situation.follow_ups + desk_text.THANKS_FOLLOW_UPS)
            back = reply_at + timedelta(
                minutes=rng.randint(3, 30) if chat else rng.randint(90, 3000)
            )
            if back <= ctx.now:
                item.turns.append(Turn("inbound", back, rng.choice(pool).format(**values)))
                again = back + (timedelta(minutes=rng.randint(1, 10)) if chat else _wait(rng))
                if again <= ctx.now and not (back > behind and rng.random() < 0.6):
                    item.turns.append(Turn("outbound", again))
        last = item.turns[-1]
        if last.kind == "inbound":
            item.status = Ticket.Status.OPEN
        elif last.at + SOLVED_AFTER <= ctx.now:
            item.status, item.solved_at = Ticket.Status.SOLVED, last.at + SOLVED_AFTER
            if item.solved_at + CLOSED_AFTER <= ctx.now:
                item.status, item.closed_at = Ticket.Status.CLOSED, item.solved_at + CLOSED_AFTER
        elif situation.team == "fulfillment" and rng.random() < 0.5:
            item.status = Ticket.Status.ON_HOLD  # waiting on the carrier's trace
        else:
            item.status = Ticket.Status.PENDING
        return item

    def finish(self, ctx: DemoContext) -> None:
        plans = sorted(
            ctx.shared.pop("desk_plans", []), key=lambda p: (p.opened_at, p.email, p.situation)
        )
        if not plans:
            return
        started = time.perf_counter()
        world = _World.load(ctx)
        cutoff = ctx.now - timedelta(days=RECENT_DAYS)
        split = max(
            bisect_left(plans, cutoff, key=lambda plan: plan.opened_at),
            len(plans) - RECENT_TICKETS,
        )
        history, recent = plans[:split], plans[split:]
        _write_history(ctx, world, history)
        mark = time.perf_counter()
        ctx.timings["desk: history (bulk)"] = mark - started
        _write_recent(ctx, world, recent)
        ctx.timings["desk: last days (mail in, replies)"] = time.perf_counter() - mark
        for plan in plans:
            ctx.count(f"desk:{plan.situation}")
        ctx.count("desk:tickets", len(plans))
        ctx.count("desk:through_mail_and_services", len(recent))

    def reset(self, store) -> None:
        tickets = Ticket.objects.filter(store=store)
        messages = Message.objects.filter(ticket__store=store)
        for model, queryset in ((Message, messages), (Ticket, tickets)):
            for relation in model._meta.related_objects:
                if relation.many_to_many or relation.related_model in (Message, Ticket):
                    continue
                rows = relation.related_model.objects.filter(
                    **{f"{relation.field.name}__in": queryset}
                )
                rows._raw_delete(rows.db)
        for through in (Ticket.tags.through, Ticket.orders.through):
            rows = through.objects.filter(ticket__store=store)
            rows._raw_delete(rows.db)
        for queryset in (messages, tickets):
            queryset._raw_delete(queryset.db)
        # Numbering starts again after the tickets that remain, so a reloaded demo is the same.
        last = Ticket.objects.order_by("-number").values_list("number", flat=True).first()
        NamedSequence.objects.filter(name=TICKET_COUNTER).update(
            value=last or FIRST_TICKET_NUMBER - 1
        )


def _wait(rng: random.Random) -> timedelta:
    """How long an email waits for the team's answer: mostly hours, sometimes a day or two."""
    return timedelta(minutes=int(rng.lognormvariate(6.5, 0.9)))


@dataclass
class _World:
    store: object
    mailbox: Mailbox
    templates: dict[str, ReplyTemplate]
    agents: dict[str, User]
    teams: dict[str, Team]
    customers: dict[str, int]
    orders: dict[str, int]
    rendered: dict[tuple, str] = field(default_factory=dict)

    @classmethod
    def load(cls, ctx: DemoContext) -> _World:
        mailbox = Mailbox.objects.filter(address=ctx.store.support_email).first()
        if mailbox is None:
            mailbox, _ = do_save_mailbox(address=ctx.store.support_email, name="Care")
        return cls(
            store=ctx.store,
            mailbox=mailbox,
            templates={t.name: t for t in ReplyTemplate.objects.all()},
            agents={u.username: u for u in User.objects.filter(username__in=AGENTS.values())},
            teams={t.slug: t for t in Team.objects.filter(slug__in=AGENTS)},
            customers=dict(
                Customer.objects.filter(store=ctx.store).values_list("email", "pk").iterator()
            ),
            orders=dict(
                Order.objects.filter(store=ctx.store).values_list("number_key", "pk").iterator()
            ),
        )

    def agent_of(self, plan: TicketPlan) -> User | None:
        return self.agents.get(AGENTS[desk_text.BY_KEY[plan.situation].team])

    def team_of(self, plan: TicketPlan) -> Team | None:
        return self.teams.get(desk_text.BY_KEY[plan.situation].team)


def _values(world: _World, plan: TicketPlan) -> dict[str, str]:
    """Template values for the bulk history (the live path uses replies.ticket_values)."""
    return {
        "first_name": plan.first_name,
        "order_number": f"#{plan.order_key}" if plan.order_key else "",
        "agent_name": "Linh",
        "store_name": world.store.name,
        "support_email": world.store.support_email,
    } | plan.reply_values


GENERIC_REPLY = "Thanks for writing to us, we're looking into it."


def _fitting_template(world: _World, plan: TicketPlan, present) -> ReplyTemplate | None:
    """The situation's template when the ticket has the facts it needs, else the first one of
    its category that fits (an unshipped order is told it is being made, not that it is on
    its way with a carrier it does not have); None when none fits. The delay notices'
    templates speak before the customer asks, so they never answer a question."""
    wanted = world.templates.get(desk_text.BY_KEY[plan.situation].template)
    if wanted is None or is_offered(wanted, present):
        return wanted
    return next(
        (
            template
            for name, template in sorted(world.templates.items())
            if template.category == wanted.category
            and name not in PROBLEM_TEMPLATES.values()  # told unasked, never an answer
            and template.is_active
            and is_offered(template, present)
        ),
        None,
    )


def _reply_text(world: _World, plan: TicketPlan) -> tuple[str, ReplyTemplate | None]:
    """The template rendered for this ticket. Rendered once per template and set of present
    values with stand-ins, then filled by replacement: thousands of renders took seconds."""
    values = _values(world, plan)
    template = _fitting_template(
        world, plan, frozenset(name for name, value in values.items() if value)
    )
    if template is None:
        return GENERIC_REPLY, None
    key = (template.pk, tuple(name for name, value in values.items() if value))
    rendered = world.rendered.get(key)
    if rendered is None:
        stand_ins = {name: f"\x00{name}\x00" for name in key[1]}
        rendered = world.rendered[key] = render_source(template.body, stand_ins)[0].strip()
    for name in key[1]:
        rendered = rendered.replace(f"\x00{name}\x00", values[name])
    if unfilled_placeholders(rendered):  # never a `[[name]]` in what a customer reads
        return GENERIC_REPLY, None
    return rendered, template


def _message_id(plan: TicketPlan, index: int, ours: bool) -> str:
    seed = f"{plan.email}:{plan.opened_at.isoformat()}:{plan.situation}:{index}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    domain = settings.DESK_MESSAGE_ID_DOMAIN if ours else plan.email.rsplit("@", 1)[-1]
    return f"<{digest}@{domain}>"


def _take_numbers(count: int) -> int:
    """Reserve `count` ticket numbers at once; the first one."""
    counter, _ = NamedSequence.objects.select_for_update().get_or_create(
        name=TICKET_COUNTER, defaults={"value": FIRST_TICKET_NUMBER - 1}
    )
    first = counter.value + 1
    counter.value += count
    counter.save(update_fields=["value"])
    return first


@transaction.atomic
def _write_history(ctx: DemoContext, world: _World, plans: list[TicketPlan]) -> None:
    """Set-based: one INSERT per table for all the older conversations."""
    if not plans:
        return
    first = _take_numbers(len(plans))
    tickets, messages, participants, events = [], [], [], []
    for offset, plan in enumerate(plans):
        number = first + offset
        agent = world.agent_of(plan) if plan.assigned else None
        team = world.team_of(plan)
        inbound = [turn for turn in plan.turns if turn.kind == "inbound"]
        outbound = [turn for turn in plan.turns if turn.kind == "outbound"]
        last = plan.closed_at or plan.solved_at or plan.turns[-1].at
        tickets.append(
            {
                "number": number,
                "store_id": world.store.pk,
                "subject": plan.subject or plan.turns[0].text[:80],
                "customer_id": world.customers.get(plan.email),
                "requester_email": plan.email,
                "requester_name": f"{plan.first_name} {plan.last_name}",
                "channel": plan.channel,
                "mailbox_id": world.mailbox.pk if plan.channel != Channel.CHAT else None,
                "status": plan.status,
                "priority": plan.priority,
                "stage": Ticket.Stage.CLOSE if plan.solved_at else Ticket.Stage.HANDLE,
                "assignee_id": agent.pk if agent else None,
                "team_id": team.pk if team else None,
                "created_at": plan.opened_at,
                "updated_at": last,
                "last_message_at": plan.turns[-1].at,
                "last_customer_message_at": inbound[-1].at,
                "last_agent_message_at": outbound[-1].at if outbound else None,
                "first_response_at": outbound[0].at if outbound else None,
                "solved_at": plan.solved_at,
                "closed_at": plan.closed_at,
                "message_count": len(plan.turns),
            }
        )
    bulk_insert(Ticket, tickets)
    ids = dict(
        Ticket.objects.filter(number__gte=first, number__lt=first + len(plans)).values_list(
            "number", "pk"
        )
    )
    tag_ids = _tags({plan.situation for plan in plans})
    tag_rows, order_rows = [], []
    for offset, plan in enumerate(plans):
        ticket_id = ids[first + offset]
        token = ticket_token(first + offset)
        agent = world.agent_of(plan)
        subject = plan.subject or plan.turns[0].text[:80]
        previous: list[str] = []
        for index, turn in enumerate(plan.turns):
            ours = turn.kind == "outbound"
            message_id = _message_id(plan, index, ours)
            text, template = _reply_text(world, plan) if ours else (turn.text, None)
            is_mail = plan.channel != Channel.CHAT
            messages.append(
                {
                    "ticket_id": ticket_id,
                    "kind": turn.kind,
                    "channel": plan.channel,
                    "author_id": agent.pk if ours and agent else None,
                    "from_email": world.mailbox.address if ours else plan.email,
                    "from_name": agent.display_name if ours and agent else plan.first_name,
                    "to": [plan.email] if ours else [world.mailbox.address],
                    "cc": [],
                    "subject": (f"Re: {subject} {token}" if ours else subject)[:250]
                    if is_mail
                    else "",
                    "text": text,
                    "html": text_to_html(text),
                    "new_text": text,
                    "quoted_text": "",
                    "signature": "",
                    "is_automatic": False,
                    "automatic_reason": "",
                    "raw": "",
                    "delivery_error": "",
                    "message_id": message_id if is_mail else "",
                    "in_reply_to": previous[-1] if previous and is_mail else "",
                    "references": previous[-20:] if is_mail else [],
                    "headers": {},
                    "template_id": template.pk if template else None,
                    "delivery": Message.Delivery.SENT if ours else Message.Delivery.NONE,
                    "delivery_attempts": 1 if ours else 0,
                    "sent_at": turn.at if ours else None,
                    "created_at": turn.at,
                }
            )
            if is_mail:
                previous.append(message_id)
        participants.append(
            {
                "ticket_id": ticket_id,
                "email": plan.email,
                "name": f"{plan.first_name} {plan.last_name}",
                "role": Participant.Role.REQUESTER,
            }
        )
        events.append(_event(ticket_id, "created", None, plan.opened_at, channel=plan.channel))
        if plan.solved_at:
            events.append(_event(ticket_id, "status", agent, plan.solved_at, new="solved"))
        if plan.closed_at:
            events.append(_event(ticket_id, "status", None, plan.closed_at, new="closed"))
        tag_rows.append({"ticket_id": ticket_id, "tag_id": tag_ids[plan.situation]})
        order_id = world.orders.get(plan.order_key)
        if order_id:
            order_rows.append({"ticket_id": ticket_id, "order_id": order_id})
    bulk_insert(Message, messages)
    bulk_insert(Participant, participants, ignore_conflicts=True)
    bulk_insert(TicketEvent, events)
    bulk_insert(Ticket.tags.through, tag_rows)
    bulk_insert(Ticket.orders.through, order_rows)


def _event(ticket_id: int, kind: str, actor, at: datetime, **data) -> dict:
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "actor_id": actor.pk if actor else None,
        "actor_label": str(actor) if actor else "system",
        "data": data,
        "created_at": at,
    }


def _tags(names) -> dict[str, int]:
    Tag.objects.bulk_create([Tag(name=name) for name in sorted(names)], ignore_conflicts=True)
    return dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))


def _email(world: _World, plan: TicketPlan, turn: Turn, reply_to: Message | None) -> bytes:
    """The customer's mail as their mail program would send it."""
    mail = EmailMessage()
    mail["From"] = f"{plan.first_name} {plan.last_name} <{plan.email}>"
    mail["To"] = f"{world.store.name} <{world.mailbox.address}>"
    mail["Date"] = format_datetime(turn.at)
    domain = plan.email.rsplit("@", 1)[-1]
    seed = f"{plan.email}:{turn.at.isoformat()}"
    mail["Message-ID"] = make_msgid(hashlib.sha256(seed.encode()).hexdigest()[:20], domain)
    body = turn.text
    if reply_to is None:
        mail["Subject"] = plan.subject
    else:
        subject = reply_to.subject
        mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        mail["In-Reply-To"] = reply_to.message_id
        mail["References"] = " ".join([*reply_to.references, reply_to.message_id])
        quoted = "\n".join(f"> {line}" for line in reply_to.text.splitlines())
        when = format_datetime(reply_to.created_at)
        body = (
            f"{turn.text}\n\nOn {when}, {world.store.name} <{reply_to.from_email}> wrote:\n{quoted}"
        )
    mail.set_content(body)
    return mail.as_bytes()


def _write_recent(ctx: DemoContext, world: _World, plans: list[TicketPlan]) -> None:
    """The last days through the real paths, every step in time order."""
    steps = sorted(
        (
            (turn.at, index, position)
            for index, plan in enumerate(plans)
            for position, turn in enumerate(plan.turns)
        ),
    )
    tickets: dict[int, Ticket] = {}
    last_reply: dict[int, Message] = {}
    with transaction.atomic():
        for at, index, position in steps:
            plan = plans[index]
            turn = plan.turns[position]
            if turn.kind == "inbound":
                tickets[index] = _receive(
                    world, plan, turn, tickets.get(index), last_reply.get(index)
                )
                if position == 0:
                    _first_steps(world, plan, tickets[index], at)
                continue
            ticket = tickets[index]
            agent = world.agent_of(plan)
            template = _fitting_template(world, plan, facts_present(ticket))
            final = position == len(plan.turns) - 1
            status = None
            if final and plan.status in (Ticket.Status.PENDING, Ticket.Status.ON_HOLD):
                status = plan.status
            elif final and plan.solved_at:
                status = Ticket.Status.PENDING
            text = GENERIC_REPLY
            if template is not None:
                extra = {name: plan.reply_values[name] for name in AGENT_VARIABLES}
                rendered = render_reply(template, ticket, agent, extra)
                if rendered.missing:
                    template = None
                else:
                    text = rendered.text
            last_reply[index] = do_reply(
                ticket, author=agent, text=text, template=template, status=status, at=at
            )
        for plan, index in ((plan, index) for index, plan in enumerate(plans)):
            ticket = tickets[index]
            if plan.solved_at:
                do_change_status(ticket, Ticket.Status.SOLVED, actor=None, at=plan.solved_at)
            if plan.closed_at:
                do_change_status(ticket, Ticket.Status.CLOSED, actor=None, at=plan.closed_at)


def _receive(world, plan: TicketPlan, turn: Turn, ticket, reply: Message | None) -> Ticket:
    if plan.channel == Channel.EMAIL:
        raw = _email(world, plan, turn, reply)
        (result,) = do_ingest_batch([("demo", raw)], mailbox=world.mailbox)
        return result.message.ticket
    if ticket is None:
        ticket = do_open_ticket(
            channel=plan.channel,
            requester_email=plan.email,
            requester_name=f"{plan.first_name} {plan.last_name}",
            subject=plan.subject,
            store=world.store,
            mailbox=world.mailbox if plan.channel == Channel.FORM else None,
            created_at=turn.at,
        )
    inbound = InboundMessage(
        channel=plan.channel,
        from_email=plan.email,
        from_name=f"{plan.first_name} {plan.last_name}",
        text=turn.text,
        subject=plan.subject,
        received_at=turn.at,
    )
    return do_receive_message(ticket, inbound).ticket


def _first_steps(world, plan: TicketPlan, ticket: Ticket, at: datetime) -> None:
    """What the team's rules do with a new ticket: link the order, route to a team, tag."""
    # The timeline's "created" entry is stamped when it is written; history happened then.
    TicketEvent.objects.filter(ticket=ticket, kind="created").update(created_at=at)
    order_id = world.orders.get(plan.order_key)
    if order_id:
        do_link_orders(ticket, [Order.objects.get(pk=order_id)], actor=None, at=at)
    agent = world.agent_of(plan) if plan.assigned else None
    do_assign(ticket, actor=None, assignee=agent, team=world.team_of(plan), at=at)
    Ticket.objects.filter(pk=ticket.pk).update(priority=plan.priority)
    ticket.tags.add(_tags({plan.situation})[plan.situation])
