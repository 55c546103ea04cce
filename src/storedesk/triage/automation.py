"""What happens when a customer's message arrives: clocks, priority, rules, acknowledgement.

`on_message_received` runs after commit (outbox event); every step is idempotent, so a
replayed event changes nothing: a rule fires at most once per message (unique firing row) and
the acknowledgement goes out once per ticket.
"""

from __future__ import annotations

import logging

from django.db.models import Count, Q

from storedesk.accounts.models import Team
from storedesk.desk.models import Ticket
from storedesk.triage.defaults import INTENT_DEPARTMENTS, THREAT_DEPARTMENTS
from storedesk.triage.intents import Intent
from storedesk.triage.models import MessageAnalysis

logger = logging.getLogger(__name__)


# --- choosing an agent -----------------------------------------------------------------------


def team_agents(team: Team) -> list:
    return list(team.members.filter(is_active=True).order_by("pk"))


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
