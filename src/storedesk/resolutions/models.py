"""What the desk did to make a customer's problem right: refunds, reships, coupons, store
credit, cancellations (C4); the limits each role may do alone (S3); the approvals asked for
above them; and the monthly care budget they are spent against (X4).

A resolution is written BEFORE any outside system is called, with its idempotency key, so a
crash, a retry or a second click finds it and never moves money twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import MONEY
from storedesk.core.models import VersionedSettings


class Kind(models.TextChoices):
    REFUND = "refund", _("Full refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    RESHIP = "reship", _("Reship")
    COUPON = "coupon", _("Coupon")
    STORE_CREDIT = "store_credit", _("Store credit")
    CANCEL = "cancel", _("Cancel and refund")
    NO_COMPENSATION = "no_compensation", _("No compensation")


class Reason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Not received")
    DELIVERED_NOT_RECEIVED = "delivered_not_received", _("Delivered, not received")
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    WRONG_SIZE = "wrong_size", _("Wrong size")
    LATE = "late", _("Late")
    QUALITY = "quality", _("Quality")
    GOODWILL = "goodwill", _("Goodwill")
    FRAUD = "fraud", _("Fraud")
    DUPLICATE = "duplicate", _("Duplicate")
    CANCELLATION = "cancellation", _("Cancellation")


class Resolution(models.Model):
    """One action taken (or asked for) on an order, with what it cost the business."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(
        "commerce.Order", on_delete=models.PROTECT, related_name="resolutions"
    )
    ticket = models.ForeignKey(
        "desk.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resolutions",
    )
    customer = models.ForeignKey(
        "commerce.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)
    amount = models.DecimalField(_("amount"), **MONEY, default=0)
    currency = models.CharField(max_length=3)
    lines = models.JSONField(default=list, blank=True, help_text="line items and shipping chosen")
    cost = models.DecimalField(
        _("cost to the business"), **MONEY, default=0, help_text="what the budget is charged"
    )
    cost_breakdown = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    gateway = models.CharField(max_length=20, blank=True, help_text="stripe, paypal, demo …")
    gateway_reference = models.CharField(max_length=128, blank=True, help_text="re_…, PayPal id")
    platform_reference = models.CharField(
        max_length=128, blank=True, help_text="the coupon code, draft order or credit id"
    )
    refund = models.ForeignKey(
        "commerce.Refund", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=120, unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(_("note"), blank=True)
    error = models.TextField(blank=True, help_text="the last refusal or gateway error")
    error_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["order", "-created_at"], name="resolution_order_idx"),
            models.Index(fields=["store", "-created_at"], name="resolution_store_idx"),
            models.Index(fields=["status", "-created_at"], name="resolution_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="resolution_customer_idx"),
            models.Index(fields=["ticket", "-created_at"], name="resolution_ticket_idx"),
            models.Index(
                fields=["store", "done_at"],
                condition=Q(status="done"),
                name="resolution_spend_idx",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="processing"),
                name="resolution_retry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} on {self.order_id}"

    @property
    def moves_money(self) -> bool:
        return self.kind in MONEY_KINDS

    @property
    def is_demo(self) -> bool:
        return self.gateway == DEMO_GATEWAY


MONEY_KINDS = (Kind.REFUND, Kind.PARTIAL_REFUND, Kind.CANCEL)
DEMO_GATEWAY = "demo"


class ResolutionLimits(VersionedSettings):
    """One version of the limits per role and action, as a lead saved them; the newest applies.
    Versions are never changed, so each decision can be traced to the limits of its day."""

    limits = models.JSONField(help_text="the whole set, validated (see resolutions.limits)")

    class Meta(VersionedSettings.Meta):
        verbose_name = _("resolution limits")
        verbose_name_plural = _("resolution limits")

    def __str__(self) -> str:
        return f"resolution limits v{self.version}"


class Approval(models.Model):
    """A request to do more than the requester's limits allow; someone else decides."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    resolution = models.OneToOneField(Resolution, on_delete=models.CASCADE, related_name="approval")
    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reason = models.TextField(_("why"), blank=True, help_text="the requester's reason")
    why_needed = models.JSONField(default=list, help_text="the limits the request is over")
    approver_role = models.CharField(
        max_length=24, blank=True, help_text="the role that must decide (empty: any approver)"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_amount = models.DecimalField(**MONEY)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_amount = models.DecimalField(**MONEY, null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-created_at"], name="approval_queue_idx"),
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="approval_expiry_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"approval {self.pk} of resolution {self.resolution_id}"


class CareBudget(models.Model):
    """A store's plan for one month, per category; spend is read live from resolutions."""

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="the first day of the month")
    currency = models.CharField(max_length=3, default="USD")
    refunds = models.DecimalField(_("refunds"), **MONEY, default=0)
    reships = models.DecimalField(_("reships at cost"), **MONEY, default=0)
    coupons = models.DecimalField(_("coupons"), **MONEY, default=0)
    gifts = models.DecimalField(_("store credit and gifts"), **MONEY, default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "month"], name="care_budget_month_once")
        ]

    def __str__(self) -> str:
        return f"care budget {self.month:%Y-%m} of store {self.store_id}"
