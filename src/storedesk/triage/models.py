"""Triage: what each inbound message is about, how the customer feels, and the model behind it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.triage.intents import Intent, Mood


class IntentModel(models.Model):
    """A trained intent classifier, versioned; at most one is active."""

    version = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=80)
    trained_at = models.DateTimeField()
    training_size = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, help_text="held-out accuracy, macro-F1, per intent")
    artifact = models.BinaryField(help_text="the fitted pipeline (joblib)")
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="intent_model_one_active"
            )
        ]

    def __str__(self) -> str:
        return self.version


class MessageAnalysis(models.Model):
    """One inbound message understood: intents, orders it is about, mood, threats, language."""

    message = models.OneToOneField(
        "desk.Message", on_delete=models.CASCADE, related_name="analysis"
    )
    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="analyses")
    intents = models.JSONField(default=list, help_text="[{intent, confidence}], best first")
    primary_intent = models.CharField(max_length=24, choices=Intent.choices)
    explanation = models.JSONField(default=dict, help_text="top features per predicted intent")
    order_refs = models.JSONField(default=list, help_text="order numbers / tracking numbers found")
    needs_order_number = models.BooleanField(default=False)
    mood = models.CharField(max_length=12, choices=Mood.choices, default=Mood.CALM)
    anger = models.FloatField(default=0.0, help_text="0 calm … 1 furious")
    threats = models.JSONField(default=list)
    has_threat = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True)
    is_english = models.BooleanField(default=True)
    model_version = models.CharField(max_length=40, blank=True)
    analysed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["primary_intent", "-analysed_at"], name="analysis_intent_idx"),
            models.Index(
                fields=["-analysed_at"], condition=Q(has_threat=True), name="analysis_threat_idx"
            ),
            models.Index(fields=["ticket", "-analysed_at"], name="analysis_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.primary_intent} for message {self.message_id}"


class IntentLabel(models.Model):
    """An agent confirming or correcting a message's intents: training data for the model."""

    message = models.ForeignKey("desk.Message", on_delete=models.CASCADE, related_name="+")
    intents = models.JSONField(help_text="the correct intents")
    predicted = models.JSONField(default=list, help_text="what the model said")
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message"], name="intent_label_once")]
        verbose_name = _("intent label")

    def __str__(self) -> str:
        return f"label of message {self.message_id}"


# Calendars, SLA clocks, priority, routing rules, playbooks and hand-offs.
from storedesk.triage.workflow_models import *  # noqa: E402, F403
