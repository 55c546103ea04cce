"""Surveys: CSAT after a solved ticket, NPS to recent buyers, and what customers answered.

An invitation snapshots what the reports group by (agent, intent, channel, reply template,
resolution kind) when it is sent, so a later reassignment never moves an old answer. The link
token is random and only its SHA-256 is stored; the one-to-one response makes a second answer
impossible, whatever the customer (or a mail scanner) clicks.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT)")
    NPS = "nps", _("Net Promoter Score (NPS)")


# The score scale of each kind: CSAT 1–5, NPS 0–10.
SCORE_RANGE = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10)}


class SurveyDefinition(models.Model):
    """The texts of one kind of survey, edited by leads; each edit bumps the version that the
    invitations sent afterwards record."""

    kind = models.CharField(_("survey"), max_length=8, choices=SurveyKind.choices, unique=True)
    subject = models.CharField(_("email subject"), max_length=200)
    intro = models.TextField(_("introduction"))
    question = models.CharField(_("question"), max_length=300)
    follow_up_question = models.CharField(_("follow-up question"), max_length=300)
    thank_you = models.TextField(_("thank-you text"))
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["kind"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"


class SurveyRecipient(models.Model):
    """One row per address ever invited: the row a new invitation locks, so two solves of the
    same customer's tickets at once still send one survey in 30 days."""

    email = models.EmailField(unique=True)
    last_invited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.email


class SurveyInvitation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    customer = models.ForeignKey(
        "commerce.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        "desk.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "commerce.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Snapshotted at send time for the reports.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    intent = models.CharField(max_length=24, blank=True)
    channel = models.CharField(max_length=8, blank=True)
    template = models.ForeignKey(
        "desk.ReplyTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_kind = models.CharField(max_length=16, blank=True)
    definition_version = models.PositiveIntegerField(default=1)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A solved ticket is surveyed once, however often it is solved again.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(ticket__isnull=False), name="survey_once_per_ticket"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="survey_inv_kind_created_idx"),
            models.Index(fields=["email", "-created_at"], name="survey_inv_email_idx"),
            models.Index(
                fields=["created_at"], condition=Q(status="queued"), name="survey_inv_queued_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} survey to {self.email}"


class SurveyResponse(models.Model):
    """The customer's answer: at most one per invitation (the first wins)."""

    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    follow_up_ticket = models.ForeignKey(
        "desk.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    commented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "created_at"], name="survey_resp_kind_created_idx"),
            models.Index(
                fields=["-created_at"], condition=~Q(comment=""), name="survey_resp_comment_idx"
            ),
        ]
        permissions = [("view_survey_results", "Can view survey results")]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"
