"""The tracker a carrier-tracking service keeps for each of our shipments."""

from django.db import models
from django.utils import timezone


class CarrierTracker(models.Model):
    """One shipment followed at a tracking service (EasyPost `trk_…`), created once."""

    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        REFUSED = "refused", "refused"  # the service would not track this number

    shipment = models.OneToOneField(
        "commerce.Shipment", on_delete=models.CASCADE, related_name="carrier_tracker"
    )
    system = models.CharField(max_length=20, default="easypost")
    tracker_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["system", "tracker_id"], name="carrier_tracker_id_idx")]

    def __str__(self) -> str:
        return f"{self.system} {self.tracker_id}"
