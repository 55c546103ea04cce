"""Triage's writes: every change to triage's state is a `do_*` function of this package, one
transaction each, with its audit entry and events. One module per feature: `messages`
(analysis, agents' labels, the intent model), `routing` (rules and what they do, the
where-is-my-order answer), `sla` (calendars and clocks), `priority` (weights, scores,
re-scoring), `playbooks`, `handoffs`. Import from this package: the names below are its public
surface. The feature modules of `triage` (`analysis`, `rules`, `sla`, `priority`, ...) hold the
pure parts these use: parsing, validating, computing. Desk rows change only through
`desk.services`.
"""

from storedesk.triage.services.handoffs import (
    do_hand_off,
    do_return_handoff,
)
from storedesk.triage.services.messages import (
    do_analyse_message,
    do_label_message,
    do_train_intent_model,
)
from storedesk.triage.services.playbooks import (
    do_save_playbook,
    do_set_step,
)
from storedesk.triage.services.priority import (
    RESCORE_BATCH,
    RescoreResult,
    do_rescore_open_tickets,
    do_rescore_ticket,
    do_rescore_tickets_of_orders,
    do_save_priority_weights,
    do_score_priority,
)
from storedesk.triage.services.routing import (
    do_answer_wismo,
    do_delete_rule,
    do_fire_rule,
    do_move_rule,
    do_route_first_message,
    do_run_rules,
    do_save_rule,
    do_take_round_robin_turn,
)
from storedesk.triage.services.sla import (
    do_acknowledge,
    do_backfill_resolution_times,
    do_refresh_sla,
    do_save_calendar,
    do_save_policy,
    do_sweep_sla,
)

__all__ = [
    "RESCORE_BATCH",
    "RescoreResult",
    "do_acknowledge",
    "do_analyse_message",
    "do_answer_wismo",
    "do_backfill_resolution_times",
    "do_delete_rule",
    "do_fire_rule",
    "do_hand_off",
    "do_label_message",
    "do_move_rule",
    "do_refresh_sla",
    "do_rescore_open_tickets",
    "do_rescore_ticket",
    "do_rescore_tickets_of_orders",
    "do_return_handoff",
    "do_route_first_message",
    "do_run_rules",
    "do_save_calendar",
    "do_save_playbook",
    "do_save_policy",
    "do_save_priority_weights",
    "do_save_rule",
    "do_score_priority",
    "do_set_step",
    "do_sweep_sla",
    "do_take_round_robin_turn",
    "do_train_intent_model",
]
