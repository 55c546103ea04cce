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

    class Stage(models.TextChoices):
        """PayPal's dispute_life_cycle_stage; Stripe disputes leave it empty."""

        INQUIRY = "inquiry", _("Inquiry")
        CHARGEBACK = "chargeback", _("Chargeback")
        PRE_ARBITRATION = "pre_arbitration", _("Pre-arbitration")
        ARBITRATION = "arbitration", _("Arbitration")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=20, choices=Payment.Gateway.choices)
    provider_id = models.CharField(max_length=64, help_text="dp_… or PP-D-…")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHARGEBACK)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, blank=True)
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


class EarlyFraudWarning(models.Model):
    """A card issuer's early fraud warning (Stripe `radar.early_fraud_warning`, id `issfr_…`):
    the cardholder reported the charge as fraud, and most such charges become fraud disputes
    if nothing is done. Kept even before its payment is known (the charge may arrive later)."""

    gateway = models.CharField(
        max_length=20, choices=Payment.Gateway.choices, default=Payment.Gateway.STRIPE
    )
    provider_id = models.CharField(max_length=64, help_text="issfr_…")
    charge_provider_id = models.CharField(max_length=64, blank=True, help_text="ch_…")
    payment_intent_provider_id = models.CharField(max_length=64, blank=True, help_text="pi_…")
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="early_fraud_warnings",
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="early_fraud_warnings"
    )
    fraud_type = models.CharField(
        _("fraud type"),
        max_length=40,
        help_text="the issuer's words: card_never_received, fraudulent_card_application, "
        "made_with_counterfeit_card, made_with_lost_card, made_with_stolen_card, misc, "
        "unauthorized_use_of_card",
    )
    actionable = models.BooleanField(
        _("actionable"), default=True, help_text="a refund can still prevent the dispute"
    )
    warned_at = models.DateTimeField(help_text="when the gateway created the warning")
    recorded_at = models.DateTimeField()
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_id"], name="early_fraud_warning_provider_once"
            ),
        ]
        indexes = [
            models.Index(fields=["order"], name="efw_order_idx"),
            models.Index(fields=["-warned_at"], name="efw_warned_idx"),
            models.Index(fields=["charge_provider_id"], name="efw_charge_idx"),
        ]

    def __str__(self) -> str:
        return f"early fraud warning {self.provider_id}"
