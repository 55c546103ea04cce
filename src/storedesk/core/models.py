from django.db import models
from django.db.models import Q


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
