"""Payment risk: each order's signals, score and decision; rules and lists as versioned data."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.risk.language import Action, ValueType


class OrderIdentity(models.Model):
    """The keys velocity is counted on, one row per order, each indexed with the time, so
    "orders from this IP in the last hour" is an index range scan."""

    order = models.OneToOneField("commerce.Order", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    email = models.CharField(max_length=254, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    card = models.CharField(max_length=64, blank=True, help_text="card fingerprint or payer id")
    address = models.CharField(max_length=64, blank=True, help_text="normalised shipping address")
    declined = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["email", "created_at"], name="identity_email_idx"),
            models.Index(fields=["ip", "created_at"], name="identity_ip_idx"),
            models.Index(fields=["card", "created_at"], name="identity_card_idx"),
            models.Index(fields=["address", "created_at"], name="identity_address_idx"),
        ]

    def __str__(self) -> str:
        return f"identity of order {self.order_id}"


class OrderRisk(models.Model):
    """An order's assessment: signal values as they were when it was scored (so backtests see
    what the rules would have seen), the score, the rule that decided and the review."""

    class Status(models.TextChoices):
        CLEAR = "clear", _("Clear")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")
        # Closed without a decision: the order was refunded, voided, shipped or cancelled
        # outside the review, so there was nothing left to decide.
        OVERTAKEN = "overtaken", _("Overtaken by events")

    class Stage(models.TextChoices):
        DETECT = "detect", _("Detect")
        CHECK = "check", _("Check")
        CONTACT = "contact", _("Contact the customer")
        DECIDE = "decide", _("Decide")
        GATEWAY = "gateway", _("Work with the gateway")
        DONE = "done", _("Done")

    order = models.OneToOneField("commerce.Order", on_delete=models.CASCADE, related_name="risk")
    signals = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(_("risk score"), default=0)
    score_reasons = models.JSONField(default=list, help_text="top contributing signals")
    model_version = models.CharField(max_length=40, blank=True)
    action = models.CharField(
        max_length=24, choices=[(a.value, a.value) for a in Action], default=Action.ALLOW
    )
    decided_by_rule = models.ForeignKey(
        "RiskRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule_outcomes = models.JSONField(default=list, help_text="rules evaluated with their values")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CLEAR)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.DETECT)
    fulfillment_held = models.BooleanField(default=False)
    amount_usd = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["-score", "-amount_usd"],
                name="risk_review_queue_idx",
                condition=Q(status="in_review"),
            ),
            models.Index(fields=["status", "-scored_at"], name="risk_status_idx"),
        ]
        permissions = [("review_order", "Can decide orders in risk review")]

    def __str__(self) -> str:
        return f"risk of order {self.order_id}"


class RiskList(models.Model):
    """A named list rules can use (`@blocked_emails`); values are stored lower-cased."""

    name = models.SlugField(max_length=60, unique=True)
    value_type = models.CharField(
        max_length=8, choices=[(t.value, t.value) for t in ValueType], default=ValueType.TEXT
    )
    description = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"@{self.name}"


class RiskListEntry(models.Model):
    risk_list = models.ForeignKey(RiskList, on_delete=models.CASCADE, related_name="entries")
    value = models.CharField(max_length=254)
    note = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["risk_list", "value"], name="risk_list_value_once")
        ]

    def __str__(self) -> str:
        return self.value


class RiskRule(models.Model):
    """A rule in force; each edit writes a `RiskRuleVersion`. Lower priority runs first."""

    name = models.CharField(max_length=120)
    source = models.TextField(help_text="e.g. review if :amount_usd: > 500")
    action = models.CharField(max_length=24, choices=[(a.value, a.value) for a in Action])
    priority = models.PositiveIntegerField(default=100)
    is_enabled = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class RiskRuleVersion(models.Model):
    rule = models.ForeignKey(RiskRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    source = models.TextField()
    priority = models.PositiveIntegerField()
    is_enabled = models.BooleanField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="risk_rule_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule} v{self.version}"


class RiskDecision(models.Model):
    """What a person did on an order's review, and why: the review's timeline, the audit's
    business view, and (approve / cancel as fraud) the labels the score model learns from."""

    class Kind(models.TextChoices):
        APPROVE = "approve", _("Approved")
        CANCEL = "cancel", _("Cancelled")
        CANCEL_FRAUD = "cancel_fraud", _("Cancelled and reported as fraud")
        CONTACT = "contact", _("Asked the customer to verify")
        STAGE = "stage", _("Moved to a stage")
        NOTE = "note", _("Note")
        OPENED = "opened", _("Opened for review on request")
        OVERTAKEN = "overtaken", _("Closed: overtaken by events")
        REOPENED = "reopened", _("Reopened: new payment facts")

    order_risk = models.ForeignKey(OrderRisk, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    stage = models.CharField(
        max_length=10, choices=OrderRisk.Stage.choices, help_text="the stage after the decision"
    )
    reason = models.TextField(_("reason"), blank=True)
    details = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["order_risk", "created_at"], name="risk_decision_order_idx"),
            models.Index(fields=["kind", "-created_at"], name="risk_decision_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.order_risk_id}"


class RiskModel(models.Model):
    """A trained score model, versioned: its features, the time windows it was trained and
    tested on, held-out metrics, and the fitted estimator. At most one is active."""

    version = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=60)
    features = models.JSONField(default=list)
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    train_from = models.DateTimeField()
    train_until = models.DateTimeField()
    test_from = models.DateTimeField()
    test_until = models.DateTimeField()
    metrics = models.JSONField(default=dict, help_text="held-out precision, recall, AUC, counts")
    artifact = models.BinaryField(help_text="the fitted, calibrated estimator (joblib)")
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="risk_model_one_active"
            )
        ]

    def __str__(self) -> str:
        return self.version


class DigestDelivery(models.Model):
    """The daily payment digest emailed to one person for one store day. The unique row is
    claimed before sending, so a task that runs twice never mails anyone twice."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="the store day the digest covers")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "recipient"], name="risk_digest_once_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["-day"], name="risk_digest_day_idx")]

    def __str__(self) -> str:
        return f"digest {self.day} to {self.email}"
