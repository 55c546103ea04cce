"""The analysis panel on the ticket page (loaded by htmx after the page, so the ticket page's
own queries stay as they are) and the agent's confirm/correct form behind it."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from storedesk.core.permissions import permission_required
from storedesk.desk.models import Ticket
from storedesk.triage.intents import Intent, Mood, Threat
from storedesk.triage.models import IntentLabel, MessageAnalysis
from storedesk.triage.services import do_label_message


@require_http_methods(["GET", "POST"])
@permission_required("desk.view_ticket", "triage.view_messageanalysis")
def ticket_analysis(request, number: int):
    """The latest inbound message's analysis; POST records the agent's intents for it."""
    ticket = Ticket.objects.filter(number=number).only("pk", "number").first()
    if ticket is None:
        raise Http404
    analysis = (
        MessageAnalysis.objects.filter(ticket=ticket)
        .select_related("message")
        .only("message__id", "message__ticket_id", "message__created_at", *_ANALYSIS_FIELDS)
        .order_by("-analysed_at", "-pk")
        .first()
    )
    error = ""
    if request.method == "POST":
        if not request.user.has_perm("triage.add_intentlabel"):
            return render(request, "triage/_analysis.html", {"denied": True}, status=403)
        if analysis is None:
            raise Http404
        try:
            do_label_message(analysis.message, request.POST.getlist("intent"), actor=request.user)
        except ValidationError as refused:
            error = " ".join(refused.messages)
    label = (
        IntentLabel.objects.filter(message_id=analysis.message_id).only("intents").first()
        if analysis
        else None
    )
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


_ANALYSIS_FIELDS = (
    "intents",
    "primary_intent",
    "explanation",
    "order_refs",
    "needs_order_number",
    "mood",
    "anger",
    "threats",
    "language",
    "is_english",
    "model_version",
    "analysed_at",
    "ticket_id",
)


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
