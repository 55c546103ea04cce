"""Routing rules (saving, ordering, deleting) and what they do when they fire; the
where-is-my-order answer is one of their actions."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.audit.services import record_audit
from storedesk.desk.mail_out import do_send_acknowledgement
from storedesk.desk.models import Message, ReplyTemplate, Ticket
from storedesk.desk.replies import render_reply
from storedesk.desk.services import (
    do_add_timeline_event,
    do_assign,
    do_change_status,
    do_link_orders,
    do_set_follow_up,
    do_set_priority,
    do_set_tags,
)
from storedesk.risk.review import do_open_review_for_ticket
from storedesk.triage.automation import department_for, least_loaded, team_agents, triage_tags
from storedesk.triage.facts import facts_for
from storedesk.triage.intents import Intent
from storedesk.triage.models import (
    AssignmentCursor,
    MessageAnalysis,
    RoutingRule,
    RuleFiring,
)
from storedesk.triage.rules import (
    RuleSyntaxError,
    matching_rules,
    parse_actions,
    parse_condition,
)
from storedesk.triage.wismo import SIGNATURE, wismo_held_reason, wismo_order, wismo_template

logger = logging.getLogger(__name__)


@transaction.atomic
def do_save_rule(
    rule: RoutingRule | None,
    *,
    actor,
    name: str,
    condition: str,
    actions: str,
    position: int | None = None,
    stop_processing: bool = False,
    is_active: bool = True,
) -> RoutingRule:
    """Create or change a rule. Everything is checked before anything is written, so a rule
    with a mistake is refused whole with a message saying where."""
    name = " ".join((name or "").split())
    if not name:
        raise RuleSyntaxError("name", _("A rule needs a name."))
    if RoutingRule.objects.filter(name=name).exclude(pk=getattr(rule, "pk", None)).exists():
        raise RuleSyntaxError("name", _("Another rule is called %(name)s.") % {"name": name})
    parse_condition(condition)
    parsed = parse_actions(actions)
    before = None
    if rule is None:
        rule = RoutingRule()
        if position is None:
            last = RoutingRule.objects.order_by("-position").values_list("position", flat=True)
            position = (last.first() or 0) + 10
    else:
        before = {"condition": rule.condition, "actions": rule.actions}
    rule.name = name
    rule.condition = condition.strip()
    rule.actions = "\n".join(line.strip() for line in actions.strip().splitlines() if line.strip())
    rule.parsed_actions = parsed
    if position is not None:
        rule.position = position
    rule.stop_processing = stop_processing
    rule.is_active = is_active
    rule.updated_by = actor if getattr(actor, "pk", None) else None
    rule.updated_at = timezone.now()
    rule.save()
    record_audit(
        actor=actor,
        action="triage.rule_saved",
        obj=rule,
        changes={"before": before, "condition": rule.condition, "actions": rule.actions},
    )
    return rule


@transaction.atomic
def do_delete_rule(rule: RoutingRule, *, actor) -> None:
    record_audit(
        actor=actor,
        action="triage.rule_deleted",
        obj=rule,
        changes={"name": rule.name, "condition": rule.condition},
    )
    rule.delete()


@transaction.atomic
def do_move_rule(rule: RoutingRule, *, actor, direction: int) -> None:
    """Swap a rule with its neighbour above (-1) or below (+1)."""
    rules = list(RoutingRule.objects.select_for_update().order_by("position", "pk"))
    index = next(i for i, item in enumerate(rules) if item.pk == rule.pk)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, item in enumerate(rules, start=1):
        RoutingRule.objects.filter(pk=item.pk).update(position=position * 10)
    record_audit(
        actor=actor, action="triage.rule_moved", obj=rule, changes={"direction": direction}
    )


def _count_firing(rule: RoutingRule) -> None:
    RoutingRule.objects.filter(pk=rule.pk).update(fire_count=F("fire_count") + 1)


@transaction.atomic
def do_take_round_robin_turn(team: Team):
    """The member after the last one given a ticket (row-locked cursor: fair under load). The
    turn passes in member order even when the last one has left the team or was deactivated,
    so nobody's turn is skipped because of someone else's absence."""
    agents = team_agents(team)
    if not agents:
        return None
    cursor, _ = AssignmentCursor.objects.select_for_update().get_or_create(team=team)
    last = cursor.last_assignee_id
    chosen = next((agent for agent in agents if last is not None and agent.pk > last), agents[0])
    cursor.last_assignee = chosen
    cursor.save(update_fields=["last_assignee"])
    return chosen


def _send_quietly(email: EmailMessage) -> None:
    """A department notice is a courtesy: a mail server failure must not undo the routing."""
    try:
        email.send()
    except Exception:
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


def _run_action(action: dict, ticket: Ticket, message: Message, rule: RoutingRule) -> str:
    """Carry out one parsed action through the desk's services; returns what happened."""
    kind = action["action"]
    ticket.refresh_from_db()
    if kind == "assign_team":
        team = Team.objects.get(slug=action["team"])
        agent = None
        if action["strategy"] == "round_robin":
            agent = do_take_round_robin_turn(team)
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
def do_fire_rule(rule: RoutingRule, ticket: Ticket, message: Message) -> RuleFiring | None:
    """Run a rule's actions once for this message and record the firing on the timeline."""
    try:
        with transaction.atomic():
            firing = RuleFiring.objects.create(
                rule=rule, ticket=ticket, message=message, fired_at=timezone.now()
            )
    except IntegrityError:
        return None  # already fired for this message
    results = [_run_action(action, ticket, message, rule) for action in rule.parsed_actions]
    firing.results = results
    firing.save(update_fields=["results"])
    _count_firing(rule)
    do_add_timeline_event(ticket, "rule_fired", rule=rule.name, rule_id=rule.pk, results=results)
    return firing


def do_run_rules(ticket: Ticket, message: Message) -> list[RuleFiring]:
    rules = list(RoutingRule.objects.filter(is_active=True).order_by("position", "pk"))
    if not rules:
        return []
    fired = []
    for rule in matching_rules(facts_for(ticket), rules):
        try:
            firing = do_fire_rule(rule, ticket, message)
        except Exception:  # one broken rule must not stop the others or the message
            logger.exception("Rule %s failed on message %s", rule.pk, message.pk)
            continue
        if firing is not None:
            fired.append(firing)
    return fired


# --- where-is-my-order answers ---------------------------------------------------------------


@transaction.atomic
def do_answer_wismo(ticket: Ticket, message: Message) -> str:
    """Answer the message if it can be answered honestly; return what happened (for the
    rule's timeline entry): 'sent', or why not."""
    analysis = MessageAnalysis.objects.filter(message=message).first()
    if analysis is None:
        return _("not analysed yet")
    intents = {item.get("intent") for item in analysis.intents} | {analysis.primary_intent}
    if Intent.ORDER_STATUS not in intents:
        return _("not an order-status question")
    if message.is_automatic:
        return _("automatic mail is never answered")
    order = wismo_order(ticket, analysis)
    if order is None:
        return _("no single order of the sender's identified")
    held = wismo_held_reason(order)
    if held:
        return held
    template = wismo_template(order)
    if template is None:
        return _("the where-is-my-order template is missing")
    do_link_orders(ticket, [order], actor=None)
    rendered = render_reply(template, ticket, extra={"agent_name": SIGNATURE})
    if rendered.missing:
        return _("the template lacks: %(names)s") % {"names": ", ".join(rendered.missing)}
    do_send_acknowledgement(ticket, text=rendered.text, reason="wismo")
    do_change_status(ticket, Ticket.Status.PENDING, actor=None)
    return "sent"
