"""Stripe events as received: stored raw and verified, once per `evt_…` id, before any use."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class StripeEvent(models.Model):
    """One verified webhook delivery of a Stripe `event`, kept whatever happens to it, so a
    failure is retried from our copy instead of depending on Stripe's redelivery."""

    class Status(models.TextChoices):
        RECEIVED = "received", "received"
        PROCESSED = "processed", "processed"
        IGNORED = "ignored", "ignored"
        FAILED = "failed", "failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    # data.object.id: the dispute, warning, … the event is about (events of one object in order).
    object_id = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(help_text="When Stripe created the event.")
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    correlation_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["received", "failed"]),
                name="stripe_event_due_idx",
            ),
            models.Index(fields=["object_id", "created_at"], name="stripe_event_object_idx"),
            models.Index(fields=["-received_at"], name="stripe_event_received_idx"),
        ]

    def __str__(self) -> str:
        return f"Stripe {self.type} {self.event_id}"
