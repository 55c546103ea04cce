"""Ground truth of the simulation, for evaluation only. Product logic never reads this table."""

from django.db import models


class GroundTruth(models.Model):
    order = models.OneToOneField("commerce.Order", on_delete=models.CASCADE, related_name="+")
    is_fraud = models.BooleanField(default=False)
    fraud_pattern = models.CharField(max_length=40, blank=True)
    parcel_lost = models.BooleanField(default=False)
    delivered_not_received = models.BooleanField(
        default=False, help_text="the carrier says delivered, the customer really did not get it"
    )
    friendly_fraud = models.BooleanField(
        default=False, help_text="the customer got the parcel but disputes anyway"
    )

    class Meta:
        indexes = [models.Index(fields=["is_fraud"], name="demo_truth_fraud_idx")]

    def __str__(self) -> str:
        return f"truth for order {self.order_id}"
