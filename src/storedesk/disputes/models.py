"""Disputes, chargebacks and inquiries as the gateways report them (Stripe `dispute`,
PayPal `customer.dispute`). Reason codes stay the gateway's own."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import MONEY, Order, Payment


class Family(models.TextChoices):
    """What a dispute is about, whatever the gateway or network calls it: the evidence that
    wins and the letter to write follow from it."""

    FRAUD = "fraud", _("Fraud")
    NOT_RECEIVED = "not_received", _("Not received")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    CREDIT_NOT_PROCESSED = "credit_not_processed", _("Credit not processed")
    DUPLICATE = "duplicate", _("Duplicate")
    SUBSCRIPTION = "subscription", _("Subscription")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    WARNING_CLOSED = "warning_closed", _("Inquiry closed")
    ACCEPTED = "accepted", _("Accepted")


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
    # The desk's own facts about the dispute (the gateway's stay above).
    family = models.CharField(
        _("reason family"), max_length=24, choices=Family.choices, default=Family.OTHER
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_disputes",
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, blank=True, default=""
    )
    responded_at = models.DateTimeField(
        null=True, blank=True, help_text="evidence submitted or the claim accepted, by us"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_id"], name="dispute_provider_once"
            ),
        ]
        indexes = [
            models.Index(fields=["order"], name="dispute_order_idx"),
            models.Index(fields=["-opened_at"], name="dispute_opened_idx"),
            # The queue: open disputes by deadline (the filters narrow this range).
            models.Index(
                fields=["evidence_due_by", "id"],
                condition=Q(closed_at__isnull=True),
                name="dispute_open_due_idx",
            ),
            models.Index(fields=["owner", "evidence_due_by"], name="dispute_owner_due_idx"),
            models.Index(fields=["family", "gateway", "outcome"], name="dispute_family_idx"),
        ]
        permissions = [
            ("work_dispute", "Can assign, prepare evidence for, submit and accept disputes"),
        ]

    def __str__(self) -> str:
        return f"{self.get_gateway_display()} dispute {self.provider_id}"


Stage = Dispute.Stage  # the stages as the workspace names them (forms, reason rules)


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


class ReasonRule(models.Model):
    """What one gateway reason (and card network code) means for the desk, as versioned data:
    its family, the response window, the evidence that wins (the checklist) and the actions
    allowed at each stage. An edit is a new version from its effective date; the one in force
    when a dispute opened applies to it."""

    gateway = models.CharField(max_length=20, choices=Payment.Gateway.choices)
    reason = models.CharField(_("gateway reason"), max_length=64)
    network_code = models.CharField(
        _("network reason code"), max_length=16, blank=True, help_text="blank: any network code"
    )
    version = models.PositiveIntegerField(default=1)
    family = models.CharField(_("reason family"), max_length=24, choices=Family.choices)
    response_days = models.PositiveSmallIntegerField(
        _("response window (days)"),
        help_text="used when the gateway gives no due date: days after the dispute opened",
    )
    checklist = models.JSONField(_("evidence that wins"), default=list)
    actions = models.JSONField(
        _("actions by stage"), default=dict, help_text='{"chargeback": ["submit", "accept"]}'
    )
    source = models.CharField(_("source"), max_length=300)
    effective_from = models.DateField(_("effective from"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "reason", "network_code", "version"],
                name="reason_rule_version_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["gateway", "reason", "network_code", "-effective_from"],
                name="reason_rule_lookup_idx",
            )
        ]

    def __str__(self) -> str:
        code = f" {self.network_code}" if self.network_code else ""
        return f"{self.gateway} {self.reason}{code} v{self.version}"


class DisputeEvent(models.Model):
    """One line of a dispute's own timeline, written by the services that change it."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    actor = models.CharField(max_length=150, blank=True)
    details = models.JSONField(default=dict, blank=True)
    happened_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["dispute", "happened_at"], name="dispute_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.happened_at:%Y-%m-%d %H:%M}"


class EvidencePack(models.Model):
    """What Storedesk holds that answers a dispute, assembled from the order, payment,
    shipments, conversation and policies; the specialist's edits kept apart so a re-assembly
    never overwrites them."""

    dispute = models.OneToOneField(Dispute, on_delete=models.CASCADE, related_name="pack")
    facts = models.JSONField(default=dict, help_text="the assembled sections")
    rebuttal = models.TextField(_("rebuttal letter"), blank=True)
    overrides = models.JSONField(default=dict, blank=True, help_text="gateway fields edited")
    completeness = models.PositiveSmallIntegerField(default=0, help_text="percent")
    missing = models.JSONField(default=list, blank=True)
    assembled_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"evidence pack of dispute {self.dispute_id}"


class DisputeSubmission(models.Model):
    """One response sent (or refused before sending) to the gateway; a unique key per action
    makes a double click or a retry send nothing more."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submit evidence")
        ACCEPT = "accept", _("Accept")
        OFFER = "offer", _("Make an offer")
        ESCALATE = "escalate", _("Escalate")

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="submissions")
    action = models.CharField(max_length=10, choices=Action.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    idempotency_key = models.CharField(max_length=80, unique=True)
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "action"],
                condition=Q(status__in=["sending", "sent"]),
                name="dispute_response_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.status} for dispute {self.dispute_id}"


class DisputeReminder(models.Model):
    """A deadline reminder given to the dispute's owner (or the team), once per threshold and
    deadline: the scheduled sweep may run any number of times."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="reminders")
    hours_before = models.PositiveSmallIntegerField()
    due_by = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    seen_at = models.DateTimeField(null=True, blank=True)
    # When the owner was e-mailed (claimed before sending, cleared again if the mailer failed).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "hours_before", "due_by"], name="dispute_reminder_once"
            )
        ]
        indexes = [
            models.Index(fields=["owner", "seen_at"], name="dispute_reminder_owner_idx"),
            models.Index(fields=["emailed_at", "created_at"], name="dispute_reminder_mail_idx"),
        ]

    def __str__(self) -> str:
        return f"reminder {self.hours_before}h before {self.due_by:%Y-%m-%d %H:%M}"
