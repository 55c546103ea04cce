"""The analysis panel on the ticket page (loaded by htmx after the page, so the ticket page's
own queries stay as they are) and the agent's confirm/correct form behind it."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from storedesk.core.permissions import permission_required
from storedesk.triage import queries
from storedesk.triage.forms import IntentLabelForm
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.services import do_label_message


@require_http_methods(["GET", "POST"])
@permission_required("desk.view_ticket", "triage.view_messageanalysis")
def ticket_analysis(request, number: int):
    """The latest inbound message's analysis; POST records the agent's intents for it."""
    ticket = queries.ticket_by_number(number)
    if ticket is None:
        raise Http404
    analysis = queries.latest_analysis(ticket)
    error = ""
    if request.method == "POST":
        if not request.user.has_perm("triage.add_intentlabel"):
            return render(request, "triage/_analysis.html", {"denied": True}, status=403)
        if analysis is None:
            raise Http404
        form = IntentLabelForm(request.POST)
        form.is_valid()  # the service says which intents are allowed
        try:
            do_label_message(analysis.message, form.cleaned_data["intent"], actor=request.user)
        except ValidationError as refused:
            error = " ".join(refused.messages)
    label = queries.intent_label(analysis.message_id) if analysis else None
    context = {
        "ticket": ticket,
        "analysis": analysis,
        "label": label,
        "error": error,
        "mood_name": dict(Mood.choices).get(analysis.mood, analysis.mood) if analysis else "",
        "threats": [dict(Threat.choices).get(t, t) for t in (analysis.threats if analysis else [])],
        "intent_choices": _choices(analysis, label),
        "notes": (analysis.explanation.get("notes", []) if analysis else []),
        "explained": _explained(analysis),
    }
    return render(request, "triage/_analysis.html", context, status=422 if error else 200)


def _choices(analysis, label) -> list[tuple[str, str, bool]]:
    chosen = set(label.intents) if label else set()
    if not chosen and analysis:
        chosen = {item["intent"] for item in analysis.intents}
    return [(value, name, value in chosen) for value, name in Intent.choices]


def _explained(analysis) -> list[dict]:
    if analysis is None:
        return []
    names = dict(Intent.choices)
    return [
        {
            "intent": item["intent"],
            "name": names.get(item["intent"], item["intent"]),
            "confidence": round(item["confidence"] * 100),
            "features": analysis.explanation.get(item["intent"], []),
        }
        for item in analysis.intents
    ]
