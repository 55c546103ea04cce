"""Writes about messages: their analysis, agents' intent labels, and the intent model
trained on both."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.core.events import record_event
from storedesk.desk.services import (
    do_link_orders,
)
from storedesk.triage.analysis import (
    MAX_LABELLED_INTENTS,
    ORDER_INTENTS,
    analyse_text,
    message_subject,
    named_own_order,
    store_of,
    tracking_numbers,
)
from storedesk.triage.classifier import ALGORITHM, IntentClassifier, held_out_metrics, remember
from storedesk.triage.intents import Intent
from storedesk.triage.models import (
    IntentLabel,
    IntentModel,
    MessageAnalysis,
)
from storedesk.triage.orders import OrderRef, resolve_for_sender
from storedesk.triage.training import TrainingReport, agent_examples, build_training_set


def declared_intent(message, intents: list[dict], primary: str) -> tuple[list[dict], str]:
    """A structured form where the customer chose the situation (the tracking page's "delivered
    but not received" button) declares the intent in the message's `declared_intent` header:
    it comes first, certain, and the model's guesses follow it. Only our own forms set it
    (e-mail keeps a fixed list of headers, so a sender cannot)."""
    declared = (message.headers or {}).get("declared_intent")
    if message.channel != "form" or declared not in Intent.values:
        return intents, primary
    rest = [item for item in intents if item.get("intent") != declared]
    return [{"intent": declared, "confidence": 1.0, "declared": True}, *rest], declared


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
    found_intents, primary = declared_intent(message, found.intents, found.primary_intent)
    intents = {item["intent"] for item in found_intents}
    needs_order_number = (
        bool(intents & ORDER_INTENTS) and not sender.named and len(sender.recent) != 1
    )
    with transaction.atomic():
        analysis, _ = MessageAnalysis.objects.update_or_create(
            message=message,
            defaults={
                "ticket": ticket,
                "intents": found_intents,
                "primary_intent": primary,
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
