"""Proactive outreach (X3): segments of customers defined as data, campaigns sent to them on a
US holiday or an occasion, each recipient a row (so nobody gets a campaign twice, even after a
crash), and the unsubscribes every later campaign honours.

A campaign's recipients are written set-based when it is queued, with a deterministic share
held out as the control group; the send task claims rows in batches and marks each sent in the
step that sends it. Results (delivered, bounced, unsubscribed, orders within 14 days against
the control group) are counted by queries over these rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import MONEY


class Segment(models.Model):
    """A named group of customers: a kind and its parameters (validated by SegmentForm).
    Unsubscribed customers and customers with an open problem (an open ticket, an open
    dispute, a resolution awaiting approval) are always left out."""

    class Kind(models.TextChoices):
        VIP = "vip", _("VIP by lifetime value")
        LAPSED = "lapsed", _("Lapsed buyers")
        RECENT = "recent", _("Recent buyers")
        GIFT = "gift", _("Gift buyers")
        ALL_BUYERS = "all_buyers", _("All buyers")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="segment_name_per_store"),
        ]
        indexes = [models.Index(fields=["store", "name"], name="segment_store_idx")]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """One e-mail to a segment, with an optional offer, on a date or an occasion."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    class Occasion(models.TextChoices):
        NONE = "", _("No occasion (send when asked)")
        VALENTINES_DAY = "valentines_day", _("Valentine's Day")
        MOTHERS_DAY = "mothers_day", _("Mother's Day")
        BLACK_FRIDAY = "black_friday", _("Black Friday")
        CHRISTMAS = "christmas", _("Christmas")
        FIRST_ORDER_ANNIVERSARY = "first_order_anniversary", _("First-order anniversary")

    class Offer(models.TextChoices):
        NONE = "", _("No offer")
        COUPON = "coupon", _("Coupon (one single-use code per recipient)")
        GIFT = "gift", _("Gift (described)")
        SERVICE = "service", _("Service package (described)")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("segment")
    )
    occasion = models.CharField(
        _("occasion"), max_length=32, choices=Occasion.choices, blank=True, default=""
    )
    send_on = models.DateField(
        _("send on"), null=True, blank=True, help_text="the store's date it goes out"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), help_text="Markdown with {{ first_name }}, {{ offer }} …")
    offer_kind = models.CharField(
        _("offer"), max_length=16, choices=Offer.choices, blank=True, default=""
    )
    offer_amount = models.DecimalField(_("coupon amount"), **MONEY, default=0)
    currency = models.CharField(max_length=3, default="USD")
    offer_text = models.CharField(_("offer described"), max_length=500, blank=True)
    control_percent = models.PositiveSmallIntegerField(_("control group %"), default=10)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    recipients_count = models.PositiveIntegerField(default=0)
    control_count = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_run_on = models.DateField(
        null=True, blank=True, help_text="the last day an anniversary campaign was queued"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "-created_at"], name="campaign_store_idx"),
            models.Index(fields=["status", "send_on"], name="campaign_due_idx"),
        ]
        permissions = [("send_campaign", "Can queue and send outreach campaigns")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_recurring(self) -> bool:
        return self.occasion == self.Occasion.FIRST_ORDER_ANNIVERSARY


class CampaignRecipient(models.Model):
    """One customer of one campaign (once: unique), or held out as control. `round` is the
    year for an anniversary campaign (a customer's anniversary comes once a year), else 0."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (unsubscribed before sending)")
        CONTROL = "control", _("Control group (not sent)")

    class Delivery(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey("commerce.Customer", on_delete=models.CASCADE, related_name="+")
    round = models.PositiveSmallIntegerField(default=0)
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_order = models.ForeignKey(
        "commerce.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    coupon_code = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    queued_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="when a sender took it")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer", "round"], name="campaign_recipient_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="queued"),
                name="campaign_recipient_queue_idx",
            ),
            models.Index(fields=["campaign", "status"], name="campaign_recipient_status_idx"),
            models.Index(fields=["message_id"], name="campaign_recipient_message_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.campaign_id})"


class MarketingSuppression(models.Model):
    """An address no campaign may write to again: unsubscribed (one click), complained or hard
    bounced. Kept per store and address, across campaigns."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Hard bounce")
        COMPLAINED = "complained", _("Marked as spam")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(help_text="lower-cased")
    customer = models.ForeignKey(
        "commerce.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "email"], name="marketing_suppression_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.reason}"
