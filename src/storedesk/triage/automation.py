"""What happens when a customer's message arrives: clocks, priority, rules, acknowledgement.

`on_message_received` runs after commit (outbox event); every step is idempotent, so a
replayed event changes nothing: a rule fires at most once per message (unique firing row) and
the acknowledgement goes out once per ticket.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from storedesk.accounts.models import Team
from storedesk.core.events import handles
from storedesk.core.models import DomainEvent
from storedesk.desk.mail_out import do_send_acknowledgement
from storedesk.desk.models import Message, ReplyTemplate, Ticket
from storedesk.desk.replies import render_reply
from storedesk.desk.services import (
    _timeline,
    do_assign,
    do_change_status,
    do_set_follow_up,
    do_set_priority,
    do_set_tags,
)
from storedesk.risk.review import do_open_review_for_ticket
from storedesk.triage.defaults import INTENT_DEPARTMENTS, THREAT_DEPARTMENTS
from storedesk.triage.facts import facts_for
from storedesk.triage.intents import Intent
from storedesk.triage.models import AssignmentCursor, MessageAnalysis, RoutingRule, RuleFiring
from storedesk.triage.priority import do_score_priority
from storedesk.triage.rules import increment_fire_count, matching_rules
from storedesk.triage.sla import do_acknowledge, do_refresh_sla
from storedesk.triage.wismo import SIGNATURE, do_answer_wismo

logger = logging.getLogger(__name__)


# --- choosing an agent -----------------------------------------------------------------------


def _agents(team: Team) -> list:
    return list(team.members.filter(is_active=True).order_by("pk"))


@transaction.atomic
def next_round_robin(team: Team):
    """The member after the last one given a ticket (row-locked cursor: fair under load). The
    turn passes in member order even when the last one has left the team or was deactivated,
    so nobody's turn is skipped because of someone else's absence."""
    agents = _agents(team)
    if not agents:
        return None
    cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(team=team)
    last = cursor.last_assignee_id
    chosen = next((agent for agent in agents if last is not None and agent.pk > last), agents[0])
    cursor.last_assignee = chosen
    cursor.save(update_fields=["last_assignee"])
    return chosen


def least_loaded(team: Team):
    """The member with the fewest open tickets (ties: the longest-standing member)."""
    return (
        team.members.filter(is_active=True)
        .annotate(
            load=Count(
                "assigned_tickets", filter=Q(assigned_tickets__status__in=Ticket.OPEN_STATUSES)
            )
        )
        .order_by("load", "pk")
        .first()
    )


# --- actions ---------------------------------------------------------------------------------


def _send_quietly(email: EmailMessage) -> None:
    """A department notice is a courtesy: a mail server failure must not undo the routing."""
    try:
        email.send()
    except Exception:  # noqa: BLE001
        logger.warning("Could not notify %s", email.to, exc_info=True)


def _notify(team: Team, ticket: Ticket, rule: RoutingRule) -> str:
    if not team.email:
        return f"{team.slug} has no email address"
    body = (
        f"Rule “{rule.name}” sent you ticket {ticket.token}: {ticket.subject}\n"
        f"From: {ticket.requester_email}\n"
    )
    email = EmailMessage(
        subject=f"{ticket.token} {ticket.subject}"[:200], body=body, to=[team.email]
    )
    transaction.on_commit(lambda: _send_quietly(email))
    return f"notified {team.email}"


def run_action(action: dict, ticket: Ticket, message: Message, rule: RoutingRule) -> str:
    """Carry out one parsed action through the desk's services; returns what happened."""
    kind = action["action"]
    ticket.refresh_from_db()
    if kind == "assign_team":
        team = Team.objects.get(slug=action["team"])
        agent = None
        if action["strategy"] == "round_robin":
            agent = next_round_robin(team)
        elif action["strategy"] == "least_loaded":
            agent = least_loaded(team)
        do_assign(ticket, actor=None, assignee=agent, team=team)
        return f"assigned to {team.slug}" + (f" / {agent.username}" if agent else "")
    if kind == "assign_agent":
        agent = get_user_model().objects.filter(username=action["username"], is_active=True).first()
        if agent is None:
            return f"agent {action['username']} is gone"
        do_assign(ticket, actor=None, assignee=agent, team=ticket.team)
        return f"assigned to {agent.username}"
    if kind == "priority":
        do_set_priority(ticket, action["level"], actor=None, reason=f"rule {rule.name}")
        return f"priority {action['level']}"
    if kind == "tag":
        names = list(ticket.tags.values_list("name", flat=True)) + action["tags"]
        do_set_tags(ticket, names, actor=None)
        return "tagged " + " ".join(action["tags"])
    if kind in ("template", "auto_reply"):
        if message.is_automatic:
            return "not answering automatic mail"
        if not ticket.requester_email:
            return "no address to answer"
        if kind == "template":
            template = ReplyTemplate.objects.filter(name=action["template"], is_active=True).first()
            if template is None:
                return f"template {action['template']} is gone"
            rendered = render_reply(template, ticket, extra={"agent_name": SIGNATURE})
            if rendered.missing:
                return "not sent, the template lacks " + ", ".join(rendered.missing)
            text = rendered.text
        else:
            text = action["text"]
        try:
            sent = do_send_acknowledgement(ticket, text=text, reason=f"rule {rule.pk}")
        except ValidationError as refused:  # e.g. a `[[carrier]]` left in the text
            return "not sent: " + " ".join(refused.messages)
        return f"sent message {sent.pk}"
    if kind == "follow_up":
        do_set_follow_up(ticket, timezone.now() + timedelta(hours=action["hours"]), actor=None)
        return f"follow-up in {action['hours']} h"
    if kind == "notify":
        return _notify(Team.objects.get(slug=action["team"]), ticket, rule)
    if kind == "status":
        do_change_status(ticket, action["status"], actor=None)
        return f"status {action['status']}"
    if kind == "wismo":
        return "wismo: " + do_answer_wismo(ticket, message)
    if kind == "risk_review":
        requested = do_open_review_for_ticket(ticket, reason=f"rule “{rule.name}”")
        if not requested:
            return "no order to review"
        return "risk review: " + ", ".join(f"{r.number} {r.outcome}" for r in requested)
    return f"unknown action {kind}"


def triage_tags(analysis: MessageAnalysis) -> list[str]:
    """The tags a first message earns: its intent and its threats, e.g. `payment-problem`,
    `threat-chargeback` (no tag for "other")."""
    tags = [] if analysis.primary_intent == Intent.OTHER else [analysis.primary_intent]
    tags += [f"threat-{threat}" for threat in analysis.threats]
    return [tag.replace("_", "-") for tag in tags]


def department_for(analysis: MessageAnalysis) -> str | None:
    for threat in analysis.threats:
        if threat in THREAT_DEPARTMENTS:
            return THREAT_DEPARTMENTS[threat]
    return INTENT_DEPARTMENTS.get(analysis.primary_intent)


@transaction.atomic
def do_route_first_message(ticket: Ticket, message: Message) -> None:
    """The same triage for every channel (mail, form, chat, API): a ticket's first message
    tags it with its intent and threats and, unless a rule chose one, sends it to the intent's
    department, through the desk's services (timeline and audit entries)."""
    analysis = MessageAnalysis.objects.filter(message=message).first()
    if analysis is None or message.is_automatic:
        return
    earlier = ticket.messages.filter(kind=Message.Kind.INBOUND, created_at__lt=message.created_at)
    if earlier.exclude(pk=message.pk).exists():
        return
    ticket.refresh_from_db()
    tags = triage_tags(analysis)
    if tags:
        do_set_tags(ticket, [*ticket.tags.values_list("name", flat=True), *tags], actor=None)
    slug = department_for(analysis)
    team = Team.objects.filter(slug=slug).first() if slug and ticket.team_id is None else None
    if team is not None:
        do_assign(ticket, actor=None, assignee=ticket.assignee, team=team)


@transaction.atomic
def fire_rule(rule: RoutingRule, ticket: Ticket, message: Message) -> RuleFiring | None:
    """Run a rule's actions once for this message and record the firing on the timeline."""
    try:
        with transaction.atomic():
            firing = RuleFiring.objects.create(
                rule=rule, ticket=ticket, message=message, fired_at=timezone.now()
            )
    except IntegrityError:
        return None  # already fired for this message
    results = [run_action(action, ticket, message, rule) for action in rule.parsed_actions]
    firing.results = results
    firing.save(update_fields=["results"])
    increment_fire_count(rule)
    _timeline(ticket, "rule_fired", None, rule=rule.name, rule_id=rule.pk, results=results)
    return firing


def run_rules(ticket: Ticket, message: Message) -> list[RuleFiring]:
    rules = list(RoutingRule.objects.filter(is_active=True).order_by("position", "pk"))
    if not rules:
        return []
    fired = []
    for rule in matching_rules(facts_for(ticket), rules):
        try:
            firing = fire_rule(rule, ticket, message)
        except Exception:  # one broken rule must not stop the others or the message
            logger.exception("Rule %s failed on message %s", rule.pk, message.pk)
            continue
        if firing is not None:
            fired.append(firing)
    return fired


@handles("message_received")
def on_message_received(event: DomainEvent) -> None:
    message = Message.objects.filter(pk=event.payload.get("message_id")).first()
    if message is None or message.kind != Message.Kind.INBOUND:
        return
    ticket = message.ticket
    do_refresh_sla(ticket)
    do_score_priority(ticket)
    do_refresh_sla(ticket)  # the policy may depend on the priority just set
    run_rules(ticket, message)
    do_route_first_message(ticket, message)
    do_refresh_sla(ticket)
    ticket.refresh_from_db()
    already_answered = ticket.messages.filter(
        kind=Message.Kind.OUTBOUND, created_at__gte=message.created_at
    ).exists()
    if not message.is_automatic and not already_answered:
        do_acknowledge(ticket)


@handles("message_sent")
@handles("ticket_status_changed")
@handles("ticket_created")
@handles("ticket_priority_changed")  # SLA policies go by priority
def on_ticket_changed(event: DomainEvent) -> None:
    ids = event.payload.get("ticket_ids") or [event.payload.get("ticket_id")]
    for ticket in Ticket.objects.filter(pk__in=ids).order_by("pk"):
        do_refresh_sla(ticket)
