"""The priority score's weights: leads change them (a new version, audited) and can have the
open tickets scored again with them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from storedesk.core.permissions import permission_required
from storedesk.core.tasks import enqueue_on_commit
from storedesk.triage import queries
from storedesk.triage.forms import PriorityWeightsForm
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.priority import (
    LEVEL_KEYS,
    WeightsError,
    bands_text,
    latest_weights,
    level_thresholds,
    weights_of,
)
from storedesk.triage.services import do_save_priority_weights
from storedesk.triage.tasks import rescore_open_tickets

WEIGHT_LABELS = {
    "anger": gettext_lazy("Anger (times the 0–1 level)"),
    "vip": gettext_lazy("VIP customer"),
    "open_dispute": gettext_lazy("Open dispute on the order"),
    "early_fraud_warning": gettext_lazy("Early fraud warning on the payment"),
    "payment_in_review": gettext_lazy("Payment in risk review"),
    "shipment_stuck": gettext_lazy("Parcel stuck (no carrier scan)"),
    "delivered_said_missing": gettext_lazy("Delivered per the carrier, customer says not"),
    "age_points_per_hour": gettext_lazy("Waiting time: points per hour"),
    "age_max": gettext_lazy("Waiting time: at most"),
    "sla_breached": gettext_lazy("SLA breached"),
    "sla_close": gettext_lazy("SLA due within the hour"),
    "order_value": gettext_lazy("Order value (USD at or above : points)"),
    "lifetime_spend": gettext_lazy("Lifetime spend (USD at or above : points)"),
    "levels.urgent": gettext_lazy("Urgent from score"),
    "levels.high": gettext_lazy("High from score"),
    "levels.normal": gettext_lazy("Normal from score (below: low)"),
}
HISTORY_SHOWN = 20


def _weight_sections(value) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The page's fields as (section, [(name, label, value)]); `value(name)` fills them."""

    def fields(names_labels):
        return [(name, str(label), value(name)) for name, label in names_labels]

    return [
        (_("What the message says"), fields((f"intent.{k}", v) for k, v in Intent.choices)),
        (
            _("Mood and threats"),
            fields(
                [
                    *((f"mood.{k}", v) for k, v in Mood.choices),
                    ("anger", WEIGHT_LABELS["anger"]),
                    *((f"threat.{k}", v) for k, v in Threat.choices),
                ]
            ),
        ),
        (
            _("What is at stake"),
            fields(
                (name, WEIGHT_LABELS[name])
                for name in (
                    "order_value",
                    "vip",
                    "lifetime_spend",
                    "open_dispute",
                    "early_fraud_warning",
                    "payment_in_review",
                    "shipment_stuck",
                    "delivered_said_missing",
                )
            ),
        ),
        (
            _("Time"),
            fields(
                (name, WEIGHT_LABELS[name])
                for name in ("age_points_per_hour", "age_max", "sla_breached", "sla_close")
            ),
        ),
        (
            _("Priority levels"),
            fields((f"levels.{key}", WEIGHT_LABELS[f"levels.{key}"]) for key in LEVEL_KEYS),
        ),
    ]


def _weight_value(w: dict):
    levels = level_thresholds(w)

    def value(name: str) -> str:
        group, _dot, key = name.partition(".")
        if group in ("intent", "mood", "threat"):
            return str(w[group].get(key, 0))
        if group == "levels":
            return str(levels[key])
        if group in ("order_value", "lifetime_spend"):
            return bands_text(w[group])
        return str(w[group])

    return value


@permission_required("triage.view_priorityweights")
def priority_weights(request):
    """The priority score's weights: leads change them (a new version, audited); new scores
    use them at once, open tickets when re-scored."""
    can_change = request.user.has_perm("triage.change_priorityweights")
    error, error_field, status = "", "", 200
    current = latest_weights()
    value = _weight_value(weights_of(current))
    note = ""
    if request.method == "POST":
        if not can_change:
            return render(request, "error.html", status=403)
        form = PriorityWeightsForm(request.POST)
        form.is_valid()  # every weight as typed: the service validates the whole set
        if form.wants_rescore:
            enqueue_on_commit(rescore_open_tickets)
            messages.success(
                request,
                _(
                    "Re-scoring the open tickets with the current weights; priorities set by "
                    "hand stay."
                ),
            )
            return redirect("triage:priority")
        note = form.cleaned_data["note"]
        try:
            saved = do_save_priority_weights(form.weights(), actor=request.user, note=note)
        except WeightsError as problem:
            error, error_field, status = problem.messages[0], problem.field, 400
            value = form.typed
        else:
            if saved is current:
                messages.info(request, _("Nothing changed; no new version."))
            else:
                messages.success(
                    request,
                    _(
                        "Weights saved as version %(version)s. Tickets scored from now on use "
                        "them; re-score the open tickets to apply them there too."
                    )
                    % {"version": saved.version},
                )
            return redirect("triage:priority")
    return render(
        request,
        "triage/priority_weights.html",
        {
            "sections": _weight_sections(value),
            "current": current,
            "history": queries.priority_weights_history()[:HISTORY_SHOWN],
            "note": note,
            "error": error,
            "error_field": error_field,
            "can_change": can_change,
        },
        status=status,
    )
