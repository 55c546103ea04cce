"""Connections to outside systems, and every webhook delivery they send us, kept as received.

A `Connection` is one store's link to one system (a Shopify shop, a Stripe account …): its
settings in clear, its secrets encrypted (`secrets.py`), and its health. An `InboundDelivery`
is one verified webhook delivery from any system, stored once by (system, delivery id) before
anything is done with it, then applied by a task; its row is the record of what happened.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from storedesk.integrations.connections.systems import SYSTEM_CHOICES


class Connection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BROKEN = "broken", _("Broken")
        DISCONNECTED = "disconnected", _("Disconnected")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    system = models.CharField(_("system"), max_length=20, choices=SYSTEM_CHOICES)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    broken_reason = models.CharField(max_length=500, blank=True)
    broken_at = models.DateTimeField(null=True, blank=True)
    # Non-secret settings: shop domain, site URL, account id, webhook id, API base URL …
    config = models.JSONField(default=dict, blank=True)
    # The setting webhooks name their sender by, lower-cased, to find the connection fast.
    lookup_key = models.CharField(max_length=255, blank=True)
    # Fernet token of the JSON secrets; never shown, never logged, never in the API.
    secrets_token = models.TextField(blank=True, editable=False)
    secret_names = models.JSONField(default=list, blank=True)
    # Backfill and reconcile progress (a bulk operation's id, the last synced `updated_at` …).
    sync_state = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "system"], name="connection_per_store"),
            models.UniqueConstraint(
                fields=["system", "lookup_key"],
                condition=~Q(lookup_key=""),
                name="connection_lookup_unique",
            ),
        ]
        ordering = ["store_id", "system"]

    def __str__(self) -> str:
        return f"{self.get_system_display()} – {self.lookup_key or self.store_id}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class InboundDelivery(models.Model):
    """One webhook delivery as received (raw body kept byte for byte) and what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        APPLIED = "applied", _("Applied")
        IGNORED = "ignored", _("Ignored")
        PARKED = "parked", _("Parked")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    system = models.CharField(max_length=20, choices=SYSTEM_CHOICES)
    delivery_id = models.CharField(max_length=255)
    topic = models.CharField(max_length=100)
    body = models.TextField()
    # What the delivery is about ("order:820982911946154508"): parked deliveries wait on it.
    object_key = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    # When the sender says the event happened (X-Shopify-Triggered-At …): for the lag shown.
    occurred_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=2000, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "delivery_id"], name="inbound_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["received", "parked", "failed"]),
                name="inbound_delivery_due_idx",
            ),
            models.Index(
                fields=["connection", "topic", "-received_at"], name="inbound_delivery_topic_idx"
            ),
            models.Index(
                fields=["id"],
                condition=Q(status="received"),
                name="inbound_delivery_received_idx",
            ),
            models.Index(
                fields=["connection", "object_key"],
                condition=Q(status="parked"),
                name="inbound_delivery_parked_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.topic} {self.delivery_id}"
