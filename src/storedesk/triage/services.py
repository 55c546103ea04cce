"""Triage's writes: every change to triage's state is a `do_*` function here, one transaction
each, with its audit entry and events. Feature modules (`analysis`, `rules`, `sla`, `priority`,
`calendar`, `playbooks`, `handoff`, `wismo`, `training`) hold the pure parts these use: parsing,
validating, computing. Desk rows change only through `desk.services`.

Sections: messages (analysis, labels, the intent model) · routing rules and automation ·
where-is-my-order answers · calendars and SLA clocks · priority · playbooks · hand-offs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import batched

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.audit.services import record_audit
from storedesk.core.events import record_event
from storedesk.core.models import NamedSequence
from storedesk.desk.mail_out import do_send_acknowledgement
from storedesk.desk.models import Channel, Message, ReplyTemplate, Ticket
from storedesk.desk.replies import render_reply
from storedesk.desk.services import (
    do_add_note,
    do_add_timeline_event,
    do_add_timeline_events,
    do_assign,
    do_change_status,
    do_link_orders,
    do_set_follow_up,
    do_set_priority,
    do_set_scored_priorities,
    do_set_tags,
    lock_ticket,
)
from storedesk.risk.review import do_open_review_for_ticket
from storedesk.triage.analysis import (
    MAX_LABELLED_INTENTS,
    ORDER_INTENTS,
    analyse_text,
    message_subject,
    named_own_order,
    store_of,
    tracking_numbers,
)
from storedesk.triage.automation import department_for, least_loaded, team_agents, triage_tags
from storedesk.triage.calendar import Calendar, calendar_of, validate_calendar_fields
from storedesk.triage.classifier import ALGORITHM, IntentClassifier, held_out_metrics, remember
from storedesk.triage.facts import facts_for, facts_for_tickets, tickets_for_facts
from storedesk.triage.handoff import MAX_SUMMARY, handoff_facts
from storedesk.triage.intents import Intent
from storedesk.triage.models import (
    AssignmentCursor,
    BusinessCalendar,
    Handoff,
    IntentLabel,
    IntentModel,
    MessageAnalysis,
    Playbook,
    PlaybookStep,
    PriorityWeights,
    RoutingRule,
    RuleFiring,
    SlaPolicy,
    TicketPriority,
    TicketSla,
)
from storedesk.triage.orders import OrderRef, resolve_for_sender
from storedesk.triage.playbooks import parse_steps
from storedesk.triage.priority import (
    PriorityScore,
    latest_weights,
    score_facts,
    set_by_hand,
    validate_weights,
    version_number,
    weights_of,
)
from storedesk.triage.rules import (
    RuleSyntaxError,
    matching_rules,
    parse_actions,
    parse_condition,
)
from storedesk.triage.sla import (
    acknowledgement_text,
    compute_clocks,
    policy_for,
    resolution_minutes,
)
from storedesk.triage.training import TrainingReport, agent_examples, build_training_set
from storedesk.triage.wismo import SIGNATURE, wismo_order, wismo_template

logger = logging.getLogger(__name__)


def do_analyse_message(message):
    """Analyse an inbound message and store it (again, if asked twice: idempotent). Orders the
    message names are linked to the ticket only when they are the sender's own."""
    ticket = message.ticket
    found = analyse_text(message.new_text or message.text, subject=message_subject(message))
    sender = resolve_for_sender(
        [OrderRef(r["kind"], r["value"], r["text"]) for r in found.order_refs],
        email=message.from_email or ticket.requester_email,
        customer_id=ticket.customer_id,
        store=store_of(ticket),
    )
    tracked = tracking_numbers(sender.named, found.order_refs)
    refs = []
    for ref in found.order_refs:
        own = named_own_order(ref, sender.named, tracked)
        refs.append(ref | ({"order_id": own.pk, "number": own.number} if own else {}))
    refs += [
        {"kind": "recent_order", "value": o.number, "order_id": o.pk, "number": o.number}
        for o in sender.recent
    ]
    intents = {item["intent"] for item in found.intents}
    needs_order_number = (
        bool(intents & ORDER_INTENTS) and not sender.named and len(sender.recent) != 1
    )
    with transaction.atomic():
        analysis, _ = MessageAnalysis.objects.update_or_create(
            message=message,
            defaults={
                "ticket": ticket,
                "intents": found.intents,
                "primary_intent": found.primary_intent,
                "explanation": found.explanation | ({"notes": found.notes} if found.notes else {}),
                "order_refs": refs,
                "needs_order_number": needs_order_number,
                "mood": found.mood,
                "anger": found.anger,
                "threats": found.threats,
                "has_threat": bool(found.threats),
                "language": found.language,
                "is_english": found.is_english,
                "model_version": found.model_version,
                "analysed_at": timezone.now(),
            },
        )
        if sender.named:
            do_link_orders(ticket, sender.named, actor=None)
        record_event("message_analysed", ticket_id=ticket.pk, message_id=message.pk)
    return analysis


def do_label_message(message, intents: list[str], *, actor):
    """An agent confirms or corrects a message's intents: a training label for the next model."""
    chosen = list(dict.fromkeys(i for i in intents if i))
    unknown = [i for i in chosen if i not in Intent.values]
    if unknown:
        raise ValidationError(f"unknown intent: {', '.join(unknown)}")
    if not chosen:
        raise ValidationError("choose at least one intent")
    if len(chosen) > MAX_LABELLED_INTENTS:
        raise ValidationError(f"at most {MAX_LABELLED_INTENTS} intents")
    analysis = MessageAnalysis.objects.filter(message=message).only("intents").first()
    predicted = [item["intent"] for item in analysis.intents] if analysis else []
    with transaction.atomic():
        label, created = IntentLabel.objects.update_or_create(
            message=message,
            defaults={
                "intents": chosen,
                "predicted": predicted,
                "labelled_by": actor,
                "created_at": timezone.now(),
            },
        )
        record_audit(
            actor=actor,
            action="triage.intents_confirmed"
            if set(chosen) == set(predicted)
            else "triage.intents_corrected",
            obj=label,
            changes={"intents": chosen, "predicted": predicted, "first_label": created},
        )
    return label


def do_train_intent_model(*, actor=None, evaluate: bool = True) -> TrainingReport:
    """Train on the project's data plus agents' labels, store the model as a new version and
    make it the active one. Agents' labels count three times: they are the store's own words."""
    started = time.perf_counter()
    examples = build_training_set()
    labelled = agent_examples()
    examples += labelled * 3
    metrics = held_out_metrics(examples) if evaluate else {}
    classifier = IntentClassifier.fit([e.text for e in examples], [e.intents for e in examples])
    now = timezone.now()
    version = now.strftime("intent-%Y%m%d-%H%M%S-%f")
    artifact = classifier.to_bytes()
    with transaction.atomic():
        IntentModel.objects.select_for_update().filter(is_active=True).update(is_active=False)
        intent_model = IntentModel.objects.create(
            version=version,
            algorithm=ALGORITHM,
            trained_at=now,
            training_size=len(examples),
            labels=classifier.labels,
            metrics=metrics | {"agent_labels": len(labelled)},
            artifact=artifact,
            is_active=True,
        )
        record_audit(
            actor=actor,
            action="triage.model_trained",
            obj=intent_model,
            changes={"training_size": len(examples), "agent_labels": len(labelled)}
            | {k: metrics[k] for k in ("accuracy", "macro_f1") if k in metrics},
        )
    remember(version, classifier)
    return TrainingReport(intent_model, time.perf_counter() - started, len(labelled))


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


def increment_fire_count(rule: RoutingRule) -> None:
    RoutingRule.objects.filter(pk=rule.pk).update(fire_count=F("fire_count") + 1)


@transaction.atomic
def next_round_robin(team: Team):
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
    do_add_timeline_event(ticket, "rule_fired", rule=rule.name, rule_id=rule.pk, results=results)
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


@transaction.atomic
def do_save_calendar(
    calendar: BusinessCalendar | None,
    *,
    actor,
    name: str,
    timezone: str,
    working_days,
    hours,
    holiday_country: str,
    closed_days,
) -> BusinessCalendar:
    """Create or change a calendar; validated whole first, so nothing is half-saved."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("A calendar needs a name."))
    checked = validate_calendar_fields(
        timezone=timezone,
        working_days=working_days,
        hours=hours,
        holiday_country=holiday_country,
        closed_days=closed_days,
    )
    if (
        BusinessCalendar.objects.filter(name=name)
        .exclude(pk=getattr(calendar, "pk", None))
        .exists()
    ):
        raise ValidationError(_("Another calendar is called %(name)s.") % {"name": name})
    calendar = calendar or BusinessCalendar()
    calendar.name = name
    calendar.timezone = checked.zone
    calendar.working_days = sorted(checked.working_days)
    calendar.hours = [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in checked.shifts]
    calendar.holiday_country = checked.holiday_country
    calendar.closed_days = sorted(day.isoformat() for day in checked.closed_days)
    calendar.save()
    record_audit(
        actor=actor,
        action="triage.calendar_saved",
        obj=calendar,
        changes={"hours": calendar.hours, "days": calendar.working_days},
    )
    return calendar


@transaction.atomic
def do_refresh_sla(ticket: Ticket, *, now: datetime | None = None) -> TicketSla | None:
    """Bring a ticket's clocks up to date (idempotent: run it as often as you like)."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
    sla = TicketSla.objects.select_for_update().filter(ticket=ticket).first()
    policy = policy_for(ticket)
    if policy is None:
        if sla is not None:
            TicketSla.objects.filter(pk=sla.pk).update(next_due_at=None, warn_at=None)
        return sla
    if sla is None:
        sla = TicketSla(ticket=ticket, updated_at=now)
    sla.policy = policy
    compute_clocks(sla, ticket, calendar_of(policy.calendar), now)
    sla.updated_at = now
    sla.save()
    return sla


def do_backfill_resolution_times(*, limit: int | None = None, batch_size: int = 500) -> int:
    """Store the resolution time of solved tickets whose clock predates it: one transaction
    per batch, the calendar arithmetic per ticket (it is what the figure is). Idempotent."""
    missing = (
        TicketSla.objects.filter(
            resolution_business_minutes__isnull=True,
            policy__isnull=False,
            ticket__status__in=(Ticket.Status.SOLVED, Ticket.Status.CLOSED),
            ticket__solved_at__isnull=False,
        )
        .order_by("pk")
        .values_list("ticket_id", flat=True)
    )
    done, after = 0, 0
    calendars: dict[int, Calendar] = {}
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        ids = list(missing.filter(pk__gt=after)[:size])
        if not ids:
            break
        with transaction.atomic():
            slas = (
                TicketSla.objects.select_for_update(of=("self",))
                .filter(ticket_id__in=ids)
                .select_related("ticket", "policy", "policy__calendar")
                .order_by("pk")
            )
            slas = list(slas)
            for sla in slas:
                calendar = calendars.setdefault(
                    sla.policy.calendar_id, calendar_of(sla.policy.calendar)
                )
                sla.resolution_business_minutes = resolution_minutes(sla, sla.ticket, calendar)
                after = max(after, sla.pk)
            TicketSla.objects.bulk_update(slas, ["resolution_business_minutes"])
        done += len(ids)
    return done


def do_sweep_sla(now: datetime | None = None) -> dict[str, int]:
    """Warn of due times coming close and record breaches, once per due time, set-based."""
    now = now or timezone.now()
    counts = {}
    with transaction.atomic():
        for kind, due_field, mark_field in (
            ("sla_breached", "next_due_at", "breached_for"),
            ("sla_warning", "warn_at", "warned_for"),
        ):
            due = TicketSla.objects.filter(**{f"{due_field}__lte": now}).filter(
                Q(**{f"{mark_field}__isnull": True}) | ~Q(**{mark_field: F("next_due_at")})
            )
            if kind == "sla_warning":
                due = due.filter(next_due_at__gt=now)
            rows = list(due.values("pk", "ticket_id", "next_due_at", "next_target")[:5000])
            if not rows:
                counts[kind] = 0
                continue
            do_add_timeline_events(
                kind,
                {
                    row["ticket_id"]: {
                        "target": row["next_target"],
                        "due": row["next_due_at"].isoformat(),
                    }
                    for row in rows
                },
                at=now,
            )
            updates = {mark_field: F("next_due_at")}
            if kind == "sla_breached":
                updates["breach_count"] = F("breach_count") + 1
            TicketSla.objects.filter(pk__in=[row["pk"] for row in rows]).update(**updates)
            counts[kind] = len(rows)
    return counts


def do_acknowledge(ticket: Ticket, *, now: datetime | None = None):
    """The automatic acknowledgement with an honest reply time, once per ticket."""
    if not settings.TRIAGE_SEND_ACKNOWLEDGEMENT:
        return None
    if ticket.channel not in (Channel.EMAIL, Channel.FORM) or not ticket.requester_email:
        return None
    with transaction.atomic():
        sla = TicketSla.objects.select_for_update().filter(ticket=ticket).first()
        if sla is None or sla.acknowledged_at or ticket.first_response_at:
            return None
        reply_by = sla.first_response_due_at
        if reply_by is None:
            return None
        message = do_send_acknowledgement(
            ticket, text=acknowledgement_text(ticket, reply_by), reason="acknowledgement"
        )
        TicketSla.objects.filter(pk=sla.pk).update(acknowledged_at=now or timezone.now())
        return message


@transaction.atomic
def do_save_policy(
    policy: SlaPolicy,
    *,
    actor,
    first_response_minutes: int | None,
    next_response_minutes: int | None,
    resolution_minutes: int | None,
    warn_before_minutes: int | None,
    is_active: bool = True,
) -> SlaPolicy:
    """Change a policy's targets (business minutes); open tickets pick them up on their next
    event. Every target is required and the order of targets must make sense."""
    targets = (first_response_minutes, next_response_minutes, resolution_minutes)
    if any(value is None or value <= 0 for value in targets):
        raise ValidationError(_("Every target is a number of business minutes above zero."))
    if resolution_minutes < first_response_minutes:
        raise ValidationError(_("The resolution target cannot be shorter than the first response."))
    before = {
        "first": policy.first_response_minutes,
        "next": policy.next_response_minutes,
        "resolution": policy.resolution_minutes,
    }
    policy.first_response_minutes = first_response_minutes
    policy.next_response_minutes = next_response_minutes
    policy.resolution_minutes = resolution_minutes
    policy.warn_before_minutes = warn_before_minutes or 0
    policy.is_active = is_active
    policy.save()
    record_audit(
        actor=actor,
        action="triage.sla_policy_saved",
        obj=policy,
        changes={"before": before, "after": targets},
    )
    return policy


WEIGHTS_LOCK = "triage.priority_weights"


@transaction.atomic
def do_save_priority_weights(data: dict, *, actor, note: str = "") -> PriorityWeights:
    """Validate the whole set, then store it as a new version with an audit entry. Nothing is
    saved when a value is wrong; an unchanged set writes no version (returns the current one).
    Tickets scored from now on use it; open tickets keep their score until re-scored."""
    checked = validate_weights(data)
    # One lock row, there even before the first version: concurrent saves queue up behind it
    # (locking the newest version left two first saves both writing version 1).
    NamedSequence.objects.select_for_update().get_or_create(name=WEIGHTS_LOCK)
    current = PriorityWeights.objects.order_by("-version").first()
    before = validate_weights(weights_of(current))
    if current is not None and checked == before:
        return current
    changed = {key: [before[key], checked[key]] for key in checked if checked[key] != before[key]}
    saved = PriorityWeights.objects.create(
        version=(current.version if current else 0) + 1,
        weights=checked,
        note=(note or "").strip()[:200],
        changed_by=actor if getattr(actor, "pk", None) else None,
        changed_at=timezone.now(),
    )
    record_audit(
        actor=actor,
        action="triage.priority_weights_saved",
        obj=saved,
        changes={"version": saved.version, "changed": changed, "note": saved.note},
    )
    return saved


@transaction.atomic
def do_score_priority(ticket: Ticket, *, now: datetime | None = None) -> PriorityScore:
    """Score the ticket, store the reasons, and set the desk priority unless a person did."""
    now = now or timezone.now()
    version = latest_weights()
    result = score_facts(facts_for(ticket, now), weights_of(version))
    TicketPriority.objects.update_or_create(
        ticket=ticket,
        defaults={
            "score": result.score,
            "level": result.level,
            "reasons": result.reasons,
            "weights_version": version_number(version),
            "computed_at": now,
        },
    )
    if not set_by_hand(ticket):
        top = ", ".join(item["reason"] for item in result.reasons[:3])
        do_set_priority(ticket, result.level, actor=None, reason=f"score {result.score}: {top}")
    return result


RESCORE_BATCH = 500


@dataclass
class RescoreResult:
    scored: int = 0
    changed: int = 0
    weights_version: int | None = None
    levels: dict[int, int] = field(default_factory=dict)


def _rescore_batch(
    ids: tuple[int, ...], w: dict, version: int | None, now: datetime, result: RescoreResult
) -> None:
    """One batch in one transaction and a fixed number of queries, whatever its size."""
    tickets = list(tickets_for_facts(ids))
    facts = facts_for_tickets(tickets, now)
    scores = {ticket.pk: score_facts(facts[ticket.pk], w) for ticket in tickets}
    TicketPriority.objects.bulk_create(
        [
            TicketPriority(
                ticket_id=pk,
                score=score.score,
                level=score.level,
                reasons=score.reasons,
                weights_version=version,
                computed_at=now,
            )
            for pk, score in scores.items()
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["score", "level", "reasons", "weights_version", "computed_at"],
    )
    # Set through the desk (locks, timeline, audit, and the event the SLA clocks follow).
    moves = do_set_scored_priorities(
        {
            pk: (score.level, f"re-scored with weights v{version or 0}: score {score.score}")
            for pk, score in scores.items()
        },
        at=now,
    )
    for _old, level in moves.values():
        result.levels[level] = result.levels.get(level, 0) + 1
    result.scored += len(tickets)
    result.changed += len(moves)


def _rescore(ids, *, now: datetime | None, batch_size: int) -> RescoreResult:
    now = now or timezone.now()
    version = latest_weights()
    w = weights_of(version)
    result = RescoreResult(weights_version=version_number(version))
    for batch in batched(ids, batch_size):
        with transaction.atomic():
            _rescore_batch(batch, w, result.weights_version, now, result)
    return result


def _open_tickets():
    return Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, merged_into__isnull=True)


def do_rescore_open_tickets(
    *, now: datetime | None = None, batch_size: int = RESCORE_BATCH
) -> RescoreResult:
    """Score every open ticket again with the weights that apply now: set-based, a fixed
    number of queries per batch of `batch_size` tickets, one transaction per batch. Priorities
    a person set stay; changed ones get a timeline event and an audit entry."""
    open_ids = _open_tickets().order_by("pk").values_list("pk", flat=True)
    return _rescore(open_ids.iterator(chunk_size=batch_size * 4), now=now, batch_size=batch_size)


def do_rescore_ticket(ticket_id: int | None, *, now: datetime | None = None) -> RescoreResult:
    """Re-score one ticket if it is open (the set-based path, so it reads like a batch)."""
    ids = list(_open_tickets().filter(pk=ticket_id).values_list("pk", flat=True))
    if not ids:
        return RescoreResult()
    return _rescore(ids, now=now, batch_size=RESCORE_BATCH)


def do_rescore_tickets_of_orders(order_ids, *, now: datetime | None = None) -> RescoreResult:
    """Re-score the open tickets about these orders (a dispute or an early fraud warning
    arrived: the dispute risk of their customers' messages changed)."""
    order_ids = [order_id for order_id in order_ids or () if order_id]
    if not order_ids:
        return RescoreResult()
    ids = list(
        _open_tickets()
        .filter(orders__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    if not ids:  # most disputes are about orders nobody wrote to us about
        return RescoreResult()
    return _rescore(ids, now=now, batch_size=RESCORE_BATCH)


@transaction.atomic
def do_save_playbook(
    playbook: Playbook | None, *, intent: str, title: str, steps: str, actor
) -> Playbook:
    if intent not in Intent.values:
        raise ValidationError(_("Unknown intent: %(intent)s") % {"intent": intent})
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError(_("A playbook needs a title."))
    parsed = parse_steps(steps)
    if Playbook.objects.filter(intent=intent).exclude(pk=getattr(playbook, "pk", None)).exists():
        raise ValidationError(_("That intent already has a playbook."))
    playbook = playbook or Playbook()
    before = list(playbook.steps) if playbook.pk else None
    playbook.intent, playbook.title, playbook.steps = intent, title, parsed
    playbook.updated_at = timezone.now()
    playbook.save()
    record_audit(
        actor=actor,
        action="triage.playbook_saved",
        obj=playbook,
        changes={"before": before, "steps": parsed},
    )
    return playbook


@transaction.atomic
def do_set_step(
    ticket: Ticket, playbook: Playbook, step_key: str, status: str, *, actor
) -> PlaybookStep:
    if step_key not in {step["key"] for step in playbook.steps}:
        raise ValidationError(_("That step is not in the playbook."))
    if status not in PlaybookStep.Status.values:
        raise ValidationError(_("Unknown step status."))
    done = status != PlaybookStep.Status.TODO
    row, _created = PlaybookStep.objects.update_or_create(
        ticket=ticket,
        playbook=playbook,
        step_key=step_key,
        defaults={
            "status": status,
            "done_by": actor if done else None,
            "done_at": timezone.now() if done else None,
        },
    )
    do_add_timeline_event(
        ticket, "playbook_step", actor=actor, playbook=playbook.title, step=step_key, status=status
    )
    record_audit(
        actor=actor,
        action="triage.playbook_step",
        obj=ticket,
        changes={"playbook": playbook.pk, "step": step_key, "status": status},
    )
    return row


@transaction.atomic
def do_hand_off(ticket: Ticket, *, to_team: Team, summary: str, actor) -> Handoff:
    """Send the ticket to a department's queue; the current owner is remembered."""
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(_("Write a summary for the department."))
    if len(summary) > MAX_SUMMARY:
        raise ValidationError(_("The summary is too long."))
    ticket = lock_ticket(ticket.pk)
    if Handoff.objects.filter(ticket=ticket, status=Handoff.Status.OPEN).exists():
        raise ValidationError(_("This ticket is already with another department."))
    if ticket.team_id == to_team.pk:
        raise ValidationError(_("The ticket is already in that team's queue."))
    handoff = Handoff.objects.create(
        ticket=ticket,
        to_team=to_team,
        from_team_id=ticket.team_id,
        from_assignee_id=ticket.assignee_id,
        summary=summary,
        facts=handoff_facts(ticket),
        created_by=actor,
        created_at=timezone.now(),
    )
    do_assign(ticket, actor=actor, assignee=None, team=to_team)
    do_add_note(ticket, author=actor, text=f"Handed off to {to_team.name}: {summary}")
    do_add_timeline_event(ticket, "handoff", actor=actor, team=to_team.name, handoff=handoff.pk)
    record_audit(
        actor=actor,
        action="triage.handed_off",
        obj=ticket,
        changes={"team": to_team.slug, "handoff": handoff.pk},
    )
    record_event("ticket_handed_off", ticket_id=ticket.pk, handoff_id=handoff.pk)
    return handoff


@transaction.atomic
def do_return_handoff(handoff: Handoff, *, outcome: str, actor) -> Handoff:
    """The department is done: the ticket goes back to whoever had it, with the outcome."""
    handoff = Handoff.objects.select_for_update().select_related("ticket").get(pk=handoff.pk)
    if handoff.status != Handoff.Status.OPEN:
        raise ValidationError(_("This hand-off was already returned."))
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError(_("Say what the department found or did."))
    handoff.status = Handoff.Status.RETURNED
    handoff.outcome = outcome[:MAX_SUMMARY]
    handoff.returned_at = timezone.now()
    handoff.save(update_fields=["status", "outcome", "returned_at"])
    ticket = handoff.ticket
    owner = handoff.from_assignee
    if owner is not None and not owner.is_active:
        owner = None  # the owner has left: back to their team's queue, not to nobody's inbox
    do_assign(ticket, actor=actor, assignee=owner, team=handoff.from_team)
    do_add_note(ticket, author=actor, text=f"Back from {handoff.to_team.name}: {outcome}")
    do_add_timeline_event(
        ticket, "handoff_returned", actor=actor, team=handoff.to_team.name, handoff=handoff.pk
    )
    record_audit(
        actor=actor,
        action="triage.handoff_returned",
        obj=ticket,
        changes={"team": handoff.to_team.slug, "handoff": handoff.pk},
    )
    return handoff
