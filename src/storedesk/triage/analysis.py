"""Understanding one message: intents (with the features behind them), the orders it is about,
mood and threats, language. `analyse_text` is pure (the CLI and the API use it); the services
store it for inbound messages and take agents' confirmations as training labels.

Bad input never raises: HTML is stripped first, only the first MODEL_TEXT_LIMIT characters go to
the model and the first ANALYSIS_TEXT_LIMIT to the rest (the notes say so), and a message with
no words is "other" with confidence 0.
"""

import logging
import re
from dataclasses import asdict, dataclass, field

from storedesk.triage.intents import Intent
from storedesk.triage.language import detect_language
from storedesk.triage.mood import read_mood
from storedesk.triage.orders import extract_refs

logger = logging.getLogger(__name__)

ANALYSIS_TEXT_LIMIT = 20_000
MAX_LABELLED_INTENTS = 3
_HTML_HINT = re.compile(r"<\s*(?:html|body|div|p|br|span|table|td|font|a\s|img|style)\b", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")

# Intents that are about one particular order: without one, the agent should ask for it.
ORDER_INTENTS = frozenset(
    {
        Intent.ORDER_STATUS,
        Intent.TRACKING_STALLED,
        Intent.NOT_RECEIVED,
        Intent.DELIVERED_NOT_RECEIVED,
        Intent.WRONG_ITEM,
        Intent.WRONG_SIZE,
        Intent.DAMAGED,
        Intent.RETURN_EXCHANGE,
        Intent.REFUND_REQUEST,
        Intent.CANCEL_CHANGE,
    }
)


@dataclass
class TextAnalysis:
    intents: list[dict]
    primary_intent: str
    explanation: dict
    order_refs: list[dict]
    mood: str
    anger: float
    mood_signals: list[str]
    threats: list[str]
    language: str
    is_english: bool
    model_version: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def plain_text(text: str) -> str:
    """The readable text of a message that may be HTML soup."""
    if _HTML_HINT.search(text[:50_000]):
        from storedesk.desk.mailparse import html_to_text

        return html_to_text(text)
    return text


def analyse_text(text: str, subject: str = "", *, model=None) -> TextAnalysis:
    """Everything the desk wants to know about a text; never raises on odd input. `model` is
    a (version, classifier) pair; the active one by default."""
    # Imported on first use: scikit-learn and SciPy would add a second to every command's
    # start (migrate, web, worker), most of which never classify a message.
    from storedesk.triage.classifier import MODEL_TEXT_LIMIT, active_classifier

    notes = []
    text = plain_text(text or "")
    if subject:
        text = f"{subject}\n{text}"
    if len(text) > ANALYSIS_TEXT_LIMIT:
        notes.append(
            f"truncated: analysed the first {ANALYSIS_TEXT_LIMIT:,} of {len(text):,} characters "
            f"(the intent model reads the first {MODEL_TEXT_LIMIT:,})"
        )
        text = text[:ANALYSIS_TEXT_LIMIT]
    mood = read_mood(text)
    language = detect_language(text)
    refs = [ref.as_dict() for ref in extract_refs(text)]
    if not _WORD.search(text):
        notes.append("no words to understand")
        intents = [{"intent": Intent.OTHER.value, "confidence": 0.0}]
        explanation, version = {}, ""
    else:
        version, classifier = model or active_classifier()
        prediction = classifier.predict(text, explain=True)
        intents, explanation = prediction.intents, prediction.explanation
    if not language.is_english:
        notes.append(f"not English ({language.code}): the intents may be unreliable")
    return TextAnalysis(
        intents=intents,
        primary_intent=intents[0]["intent"],
        explanation=explanation,
        order_refs=refs,
        mood=mood.mood,
        anger=mood.anger,
        mood_signals=mood.signals,
        threats=mood.threats,
        language=language.code,
        is_english=language.is_english,
        model_version=version,
        notes=notes,
    )


def store_of(ticket):
    if ticket.store_id:
        return ticket.store
    from storedesk.commerce.queries import current_store

    return current_store()


def message_subject(message) -> str:
    subject = message.subject or ""
    return "" if subject.lower().startswith(("re:", "fwd:", "fw:")) else subject


def tracking_numbers(orders, refs: list[dict]) -> dict[str, int]:
    """Tracking number (upper-cased) → order id, for the sender's orders a message names by
    tracking number (one query, only when it names one)."""
    from storedesk.commerce.models import Shipment

    if not orders or not any(ref["kind"] == "tracking" for ref in refs):
        return {}
    shipments = Shipment.objects.filter(order__in=orders).values_list("tracking_number", "order")
    return {number.upper(): order_id for number, order_id in shipments if number}


def named_own_order(ref: dict, orders, tracked: dict[str, int]):
    """The sender's order a written reference means (by number or by tracking number)."""
    if ref["kind"] == "tracking":
        order_id = tracked.get(ref["value"].upper())
        return next((order for order in orders if order.pk == order_id), None)
    digits = re.sub(r"\D", "", ref["value"])
    for order in orders:
        if ref["kind"] == "order" and re.sub(r"\D", "", order.number) == digits:
            return order
    return None
