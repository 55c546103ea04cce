"""Routing and automation rules: data that leads edit, validated whole before it is saved.

A rule is a condition in the risk desk's safe expression language (never `eval`), over the
facts of `triage.facts`:

    :intent: = 'delivered_not_received' and :order_value: >= 200

and actions, one per line:

    assign team care round_robin      (or least_loaded, or team_only)
    assign agent alice
    priority urgent
    tag dnr vip-care
    template "Where is my order: on its way"
    auto_reply "Thanks! We are on it."
    follow_up 2d                      (or 48h)
    notify payments
    risk_review
    wismo
    status pending
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.accounts.models import Team
from storedesk.desk.models import ReplyTemplate, Ticket
from storedesk.desk.replies import unfilled_placeholders
from storedesk.risk.evaluation import evaluate
from storedesk.risk.language import Rule, RuleError, check, parse_rule
from storedesk.triage.facts import ATTRIBUTES, facts_for_tickets
from storedesk.triage.models import RoutingRule

_PREFIX = "review if "
ASSIGN_STRATEGIES = ("round_robin", "least_loaded", "team_only")
PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
SETTABLE_STATUSES = ("open", "pending", "on_hold", "solved")
ACTION_NAMES = (
    "assign",
    "priority",
    "tag",
    "template",
    "auto_reply",
    "follow_up",
    "notify",
    "risk_review",
    "wismo",
    "status",
)
MAX_TEST_TICKETS = 5000


class RuleSyntaxError(ValidationError):
    """A rule that cannot be saved, with the field and a message that says where and why."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def parse_condition(source: str) -> Rule:
    """Parse and check a condition; the error points at the column in the lead's own text."""
    source = (source or "").strip()
    if not source:
        raise RuleSyntaxError("condition", _("Write a condition, e.g. :intent: = 'order_status'."))
    try:
        return check(parse_rule(_PREFIX + source), ATTRIBUTES)
    except RuleError as error:
        column = max(1, error.position - len(_PREFIX) + 1)
        raise RuleSyntaxError(
            "condition",
            _("When, column %(column)s: %(message)s")
            % {"column": column, "message": error.message},
        ) from None


def _duration(text: str) -> int:
    match = re.fullmatch(r"(\d{1,4})([hd])", text.strip().lower())
    if not match:
        raise ValueError(_("write a duration such as 48h or 2d"))
    number, unit = int(match.group(1)), match.group(2)
    return number * (24 if unit == "d" else 1)


def parse_action(line: str) -> dict:
    """One action line → a JSON-able dict; ValueError with a message a lead understands."""
    try:
        words = shlex.split(line)
    except ValueError:
        raise ValueError(_("an opening quote has no closing quote")) from None
    name, args = words[0].lower(), words[1:]
    if name not in ACTION_NAMES:
        raise ValueError(
            _("unknown action “%(name)s”; use one of %(names)s")
            % {"name": name, "names": ", ".join(ACTION_NAMES)}
        )
    if name == "assign":
        if len(args) >= 2 and args[0] == "team":
            strategy = args[2] if len(args) > 2 else "round_robin"
            if strategy not in ASSIGN_STRATEGIES or len(args) > 3:
                raise ValueError(
                    _("assign team SLUG [%(options)s]") % {"options": "|".join(ASSIGN_STRATEGIES)}
                )
            if not Team.objects.filter(slug=args[1]).exists():
                raise ValueError(_("no team “%(slug)s”") % {"slug": args[1]})
            return {"action": "assign_team", "team": args[1], "strategy": strategy}
        if len(args) == 2 and args[0] == "agent":
            user = get_user_model().objects.filter(username=args[1], is_active=True).first()
            if user is None:
                raise ValueError(_("no active agent “%(name)s”") % {"name": args[1]})
            return {"action": "assign_agent", "username": args[1]}
        raise ValueError(_("write: assign team SLUG … or assign agent USERNAME"))
    if name == "priority":
        if len(args) != 1 or args[0].lower() not in PRIORITIES:
            raise ValueError(_("priority low|normal|high|urgent"))
        return {"action": "priority", "level": PRIORITIES[args[0].lower()]}
    if name == "tag":
        if not args:
            raise ValueError(_("tag needs at least one tag name"))
        return {"action": "tag", "tags": args}
    if name == "template":
        if len(args) != 1:
            raise ValueError(_('template "Template name" (in quotes)'))
        if not ReplyTemplate.objects.filter(name=args[0], is_active=True).exists():
            raise ValueError(_("no active template “%(name)s”") % {"name": args[0]})
        return {"action": "template", "template": args[0]}
    if name == "auto_reply":
        if len(args) != 1 or not args[0].strip():
            raise ValueError(_('auto_reply "the text" (in quotes)'))
        if unfilled_placeholders(args[0]):
            raise ValueError(
                _("auto_reply text is sent as written: remove %(names)s")
                % {"names": ", ".join(f"[[{n}]]" for n in unfilled_placeholders(args[0]))}
            )
        return {"action": "auto_reply", "text": args[0]}
    if name == "follow_up":
        if len(args) != 1:
            raise ValueError(_("follow_up 48h or follow_up 2d"))
        return {"action": "follow_up", "hours": _duration(args[0])}
    if name == "notify":
        if len(args) != 1 or not Team.objects.filter(slug=args[0]).exists():
            raise ValueError(_("notify TEAM_SLUG (an existing department)"))
        return {"action": "notify", "team": args[0]}
    if name == "status":
        if len(args) != 1 or args[0] not in SETTABLE_STATUSES:
            raise ValueError(_("status %(options)s") % {"options": "|".join(SETTABLE_STATUSES)})
        return {"action": "status", "status": args[0]}
    if args:
        raise ValueError(_("%(name)s takes no arguments") % {"name": name})
    return {"action": name}


def parse_actions(source: str) -> list[dict]:
    actions = []
    for number, line in enumerate((source or "").splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        try:
            actions.append(parse_action(line.strip()))
        except ValueError as error:
            raise RuleSyntaxError(
                "actions",
                _("Then, line %(line)s: %(message)s") % {"line": number, "message": error},
            ) from None
    if not actions:
        raise RuleSyntaxError("actions", _("Add at least one action."))
    return actions


def matching_rules(facts: dict, rules: list[RoutingRule] | None = None) -> list[RoutingRule]:
    """The active rules whose condition is definitely true for these facts, in order."""
    rules = rules if rules is not None else list(RoutingRule.objects.filter(is_active=True))
    matched = []
    for rule in rules:
        if evaluate(parse_condition(rule.condition).condition, facts) is True:
            matched.append(rule)
            if rule.stop_processing:
                break
    return matched


@dataclass
class RuleTest:
    tested: int
    matched: int
    examples: list[Ticket]


def try_condition(
    condition: str, *, days: int = 90, limit: int = MAX_TEST_TICKETS, now: datetime | None = None
) -> RuleTest:
    """How many of the recent tickets the condition would have matched (facts as of now)."""
    parsed = parse_condition(condition).condition
    now = now or timezone.now()
    ids = list(
        Ticket.objects.filter(created_at__gte=now - timedelta(days=days))
        .order_by("-created_at")
        .values_list("pk", flat=True)[:limit]
    )
    matched_ids: list[int] = []
    for start in range(0, len(ids), 500):
        facts = facts_for_tickets(ids[start : start + 500], now)
        matched_ids += [
            pk for pk in ids[start : start + 500] if evaluate(parsed, facts[pk]) is True
        ]
    examples = list(Ticket.objects.filter(pk__in=matched_ids[:20]).order_by("-created_at"))
    return RuleTest(tested=len(ids), matched=len(matched_ids), examples=examples)
