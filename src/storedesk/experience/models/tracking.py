"""Self-service order tracking: what customers reported from the tracking page, and the
shipping problems we told them about before they asked."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackingReport(models.Model):
    """A problem a customer reported from the order's tracking page: it opened a ticket.

    `form_key` is the report form's one-time key, so a double submit opens one ticket.
    """

    class Kind(models.TextChoices):
        NOT_RECEIVED = "not_received", _("Not received")
        DELIVERED_NOT_RECEIVED = "delivered_not_received", _("Delivered but not received")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        DAMAGED = "damaged", _("Damaged item")
        SIZE_EXCHANGE = "size_exchange", _("Size exchange")

    order = models.ForeignKey(
        "commerce.Order", on_delete=models.CASCADE, related_name="tracking_reports"
    )
    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    form_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["order", "-created_at"], name="tracking_report_order_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on order {self.order_id}"


class ShippingProblem(models.Model):
    """A parcel in trouble (stuck without a scan, or a carrier exception), found once per
    shipment and problem, and the notice the customer got about it (none when notices were
    off: those rows are the baseline the prevented where-is-my-order tickets are measured by).
    """

    class Kind(models.TextChoices):
        STUCK = "stuck", _("Stuck (no carrier scan)")
        EXCEPTION = "exception", _("Carrier exception")

    shipment = models.ForeignKey(
        "commerce.Shipment", on_delete=models.CASCADE, related_name="shipping_problems"
    )
    order = models.ForeignKey("commerce.Order", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "commerce.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("problem"), max_length=12, choices=Kind.choices)
    detected_at = models.DateTimeField(_("detected"))
    notified_at = models.DateTimeField(_("customer told"), null=True, blank=True)
    ticket = models.ForeignKey(
        "desk.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template_name = models.CharField(max_length=120, blank=True)
    skipped_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "kind"], name="shipping_problem_once_per_shipment"
            ),
        ]
        indexes = [models.Index(fields=["-detected_at"], name="shipping_problem_detected_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on shipment {self.shipment_id}"
