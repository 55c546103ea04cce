from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DomainEvent(models.Model):
    """A transactional-outbox row: written with the change, handled by a task after commit."""

    name = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    correlation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(handled_at__isnull=True),
                name="core_event_pending_idx",
            ),
            models.Index(fields=["name", "created_at"], name="core_event_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class ScheduledRun(models.Model):
    """One firing of a periodic job; the unique slot stops two schedulers firing it twice."""

    job = models.CharField(max_length=80)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "slot"], name="core_scheduledrun_once"),
        ]
        indexes = [models.Index(fields=["job", "-slot"], name="core_run_job_slot_idx")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M}"


class VersionedSettings(models.Model):
    """A set of settings a lead saves as a whole: each save is a new numbered version, never
    changed afterwards, so each decision can be traced to the settings of its day. Subclasses
    add the JSON field holding the set; `core.versioned.do_save_version` writes them."""

    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["-version"]

    @classmethod
    def newest(cls):
        return cls.objects.select_related("changed_by").order_by("-version").first()


class NamedSequence(models.Model):
    """A named gap-free sequence (ticket numbers), advanced under its row lock. Its row also
    serves as a named lock: a writer that must run alone locks the row of its name."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class WebhookEndpoint(models.Model):
    """An outside URL that follows our events; each delivery is signed with its secret."""

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80, help_text="HMAC-SHA256 key for the signature")
    events = models.JSONField(default=list, help_text="event names, or ['*'] for all")
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, retried with backoff until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WorkerHeartbeat(models.Model):
    """A running task worker: who and where it is, and when it last said so.

    A task row left RUNNING by a worker whose heartbeat stopped (or whose process is gone from
    this host) was abandoned mid-task; the abandoned-task sweep marks it failed with a reason.
    """

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
