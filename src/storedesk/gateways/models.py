"""Gateway account health: the networks' monitoring thresholds (versioned data) and the cases
a payments specialist works when a gateway holds payouts, keeps a reserve, limits or reviews the
account, or a payout fails."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Payment, Store

RATIO = {"max_digits": 7, "decimal_places": 5}


class MonitoringThreshold(models.Model):
    """One version of a card network monitoring program's rule, in force from `effective_from`
    until a later version of the same program. Loaded from data/monitoring_thresholds.json."""

    class Program(models.TextChoices):
        VAMP = "vamp", "Visa VAMP"
        ECM = "ecm", "Mastercard ECM"
        HECM = "hecm", "Mastercard HECM"
        EFM = "efm", "Mastercard EFM"

    class Measure(models.TextChoices):
        DISPUTES = "disputes", _("Disputes")
        FRAUD_DISPUTES = "fraud_disputes", _("Fraud disputes")
        VAMP = "vamp", _("Fraud reports and disputes")

    class Denominator(models.TextChoices):
        THIS_MONTH = "this_month", _("This month's transactions")
        PREVIOUS_MONTH = "previous_month", _("Last month's transactions")

    program = models.CharField(max_length=8, choices=Program.choices)
    network = models.CharField(max_length=20, help_text="card brand as gateways name it: visa …")
    measure = models.CharField(max_length=16, choices=Measure.choices)
    denominator = models.CharField(max_length=16, choices=Denominator.choices)
    early_warning = models.DecimalField(_("early warning"), **RATIO)
    threshold = models.DecimalField(_("threshold"), **RATIO)
    min_count = models.PositiveIntegerField(default=0, help_text="counted cases a month")
    effective_from = models.DateField(_("effective from"))
    source = models.TextField(_("source"))
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "effective_from"], name="threshold_version_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_program_display()} from {self.effective_from}"


class AccountHealthCase(models.Model):
    """Something a gateway did to the store's account that needs a person: who owns it, by
    when, which documents the gateway wants, and what happened so far (its events)."""

    class Kind(models.TextChoices):
        PAYOUT_HOLD = "payout_hold", _("Payout hold")
        RESERVE = "reserve", _("Reserve")
        LIMITATION = "limitation", _("Account limitation")
        ACCOUNT_REVIEW = "account_review", _("Account review")
        FAILED_PAYOUT = "failed_payout", _("Failed payout")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="account_cases")
    gateway = models.CharField(max_length=20, choices=Payment.Gateway.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(_("title"), max_length=200)
    provider_ref = models.CharField(
        max_length=100, help_text="what the gateway names it: po_…, acct_…, a notice id"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account_cases",
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    required_documents = models.JSONField(default=list, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One open case per thing the gateway reported; a new one after it is resolved.
            models.UniqueConstraint(
                fields=["gateway", "kind", "provider_ref"],
                condition=Q(status="open"),
                name="account_case_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "deadline", "id"], name="account_case_queue_idx"),
            models.Index(fields=["store", "-opened_at"], name="account_case_store_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class AccountHealthEvent(models.Model):
    """One line of a case's timeline."""

    case = models.ForeignKey(AccountHealthCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    text = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "at"], name="account_event_case_idx")]

    def __str__(self) -> str:
        return self.text
