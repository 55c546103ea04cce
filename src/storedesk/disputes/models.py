"""Disputes, chargebacks and inquiries as the gateways report them (Stripe `dispute`,
PayPal `customer.dispute`). Reason codes stay the gateway's own."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import MONEY, Order, Payment


class Dispute(models.Model):
    class Kind(models.TextChoices):
        INQUIRY = "inquiry", _("Inquiry")
        CHARGEBACK = "chargeback", _("Chargeback")
        CLAIM = "claim", _("PayPal claim")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=20, choices=Payment.Gateway.choices)
    provider_id = models.CharField(max_length=64, help_text="dp_… or PP-D-…")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHARGEBACK)
    reason = models.CharField(
        _("reason"),
        max_length=64,
        help_text="the gateway's reason: fraudulent, product_not_received, "
        "MERCHANDISE_OR_SERVICE_NOT_RECEIVED …",
    )
    network_reason_code = models.CharField(
        max_length=16, blank=True, help_text="card network code such as 10.4 or 13.1"
    )
    status = models.CharField(
        _("status"),
        max_length=32,
        help_text="the gateway's status: needs_response, under_review, won …",
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    opened_at = models.DateTimeField()
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_id"], name="dispute_provider_once"
            ),
        ]
        indexes = [
            models.Index(fields=["order"], name="dispute_order_idx"),
            models.Index(fields=["-opened_at"], name="dispute_opened_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_gateway_display()} dispute {self.provider_id}"
