"""Triage's data: what each inbound message is about (analysis, labels, the intent model), and
the working data built on it: business calendars, SLA policies and clocks, priority scores and
weights, routing rules, playbooks and hand-offs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from storedesk.core.models import VersionedSettings
from storedesk.triage.intents import Intent, Mood


class IntentModel(models.Model):
    """A trained intent classifier, versioned; at most one is active."""

    version = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=80)
    trained_at = models.DateTimeField()
    training_size = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, help_text="held-out accuracy, macro-F1, per intent")
    artifact = models.BinaryField(help_text="the fitted pipeline (joblib)")
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="intent_model_one_active"
            )
        ]

    def __str__(self) -> str:
        return self.version


class MessageAnalysis(models.Model):
    """One inbound message understood: intents, orders it is about, mood, threats, language."""

    message = models.OneToOneField(
        "desk.Message", on_delete=models.CASCADE, related_name="analysis"
    )
    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="analyses")
    intents = models.JSONField(default=list, help_text="[{intent, confidence}], best first")
    primary_intent = models.CharField(max_length=24, choices=Intent.choices)
    explanation = models.JSONField(default=dict, help_text="top features per predicted intent")
    order_refs = models.JSONField(default=list, help_text="order numbers / tracking numbers found")
    needs_order_number = models.BooleanField(default=False)
    mood = models.CharField(max_length=12, choices=Mood.choices, default=Mood.CALM)
    anger = models.FloatField(default=0.0, help_text="0 calm … 1 furious")
    threats = models.JSONField(default=list)
    has_threat = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True)
    is_english = models.BooleanField(default=True)
    model_version = models.CharField(max_length=40, blank=True)
    analysed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["primary_intent", "-analysed_at"], name="analysis_intent_idx"),
            models.Index(
                fields=["-analysed_at"], condition=Q(has_threat=True), name="analysis_threat_idx"
            ),
            models.Index(fields=["ticket", "-analysed_at"], name="analysis_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.primary_intent} for message {self.message_id}"


class IntentLabel(models.Model):
    """An agent confirming or correcting a message's intents: training data for the model."""

    message = models.ForeignKey("desk.Message", on_delete=models.CASCADE, related_name="+")
    intents = models.JSONField(help_text="the correct intents")
    predicted = models.JSONField(default=list, help_text="what the model said")
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message"], name="intent_label_once")]
        verbose_name = _("intent label")

    def __str__(self) -> str:
        return f"label of message {self.message_id}"


# --- calendars, SLA clocks, priority, routing rules, playbooks and hand-offs ----------------


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4, 5]  # Monday … Saturday


def default_hours() -> list[list[str]]:
    return [["08:30", "12:00"], ["13:30", "17:30"]]


class BusinessCalendar(models.Model):
    """When the team works: zone, weekdays, shifts (several a day for breaks or split
    shifts) and public holidays from the `holidays` package, plus the store's own closed days."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Ho_Chi_Minh")
    working_days = models.JSONField(
        _("working days"), default=default_working_days, help_text="0 = Monday … 6 = Sunday"
    )
    hours = models.JSONField(
        _("working hours"), default=default_hours, help_text='[["08:30", "12:00"], …]'
    )
    holiday_country = models.CharField(_("holidays of"), max_length=8, default="VN", blank=True)
    holiday_subdivision = models.CharField(max_length=16, blank=True)
    closed_days = models.JSONField(
        _("other closed days"), default=list, blank=True, help_text="ISO dates"
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="calendar_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets in business minutes for the tickets it matches; the first match by position."""

    class Tier(models.TextChoices):
        ANY = "any", _("Any customer")
        VIP = "vip", _("VIP")
        STANDARD = "standard", _("Standard")

    name = models.CharField(_("name"), max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=100)
    priority = models.PositiveSmallIntegerField(
        _("priority"), null=True, blank=True, help_text="empty: any priority"
    )
    channel = models.CharField(_("channel"), max_length=8, blank=True, help_text="empty: any")
    tier = models.CharField(_("customer tier"), max_length=8, choices=Tier, default=Tier.ANY)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    first_response_minutes = models.PositiveIntegerField(_("first response (business min)"))
    next_response_minutes = models.PositiveIntegerField(_("next response (business min)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business min)"))
    warn_before_minutes = models.PositiveIntegerField(_("warn before (min)"), default=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class TicketSla(models.Model):
    """A ticket's clocks: due times of its targets and their warning/breach state. The next
    due time is indexed so "SLA at risk" and the breach sweep are index range scans."""

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    ticket = models.OneToOneField("desk.Ticket", on_delete=models.CASCADE, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="stored when solved: business minutes less pauses"
    )
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True, help_text="pending on customer")
    paused_business_minutes = models.PositiveIntegerField(default=0)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_target = models.CharField(max_length=16, choices=Target, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_for = models.DateTimeField(null=True, blank=True, help_text="the due time warned of")
    breached_for = models.DateTimeField(null=True, blank=True, help_text="the due time missed")
    breach_count = models.PositiveSmallIntegerField(default=0)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["warn_at"], condition=Q(warn_at__isnull=False), name="sla_warn_idx"
            ),
            models.Index(
                fields=["next_due_at"],
                condition=Q(next_due_at__isnull=False),
                name="sla_next_due_idx",
            ),
        ]
        permissions = [("view_sla_report", "Can see the SLA report")]

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"


class TicketPriority(models.Model):
    """The computed priority score of a ticket, with the reasons behind it."""

    ticket = models.OneToOneField(
        "desk.Ticket", on_delete=models.CASCADE, related_name="priority_score"
    )
    score = models.IntegerField(default=0)
    level = models.PositiveSmallIntegerField(default=2)
    reasons = models.JSONField(default=list, help_text="[{reason, points}] biggest first")
    weights_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="the PriorityWeights version; empty: the defaults"
    )
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"priority {self.score} of ticket {self.ticket_id}"


class PriorityWeights(VersionedSettings):
    """One version of the priority score's weights, as a lead saved it; the newest applies.
    Versions are never changed, so each ticket's score can be traced to the weights of its day."""

    weights = models.JSONField(help_text="the whole set, validated (see triage.priority)")

    class Meta(VersionedSettings.Meta):
        verbose_name = _("priority weights")
        verbose_name_plural = _("priority weights")

    def __str__(self) -> str:
        return f"priority weights v{self.version}"


class RoutingRule(models.Model):
    """When `condition` holds for a new customer message, run `actions` (one per line).
    Saved only when both parse; evaluated in `position` order."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    condition = models.TextField(_("when"))
    actions = models.TextField(_("then"), help_text="one action per line")
    parsed_actions = models.JSONField(default=list)
    stop_processing = models.BooleanField(_("stop after this rule"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    fire_count = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["is_active", "position"], name="routing_rule_order_idx")]

    def __str__(self) -> str:
        return self.name


class RuleFiring(models.Model):
    """A rule that fired on a message: at most once, so replayed events change nothing."""

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("desk.Message", on_delete=models.CASCADE, related_name="+")
    results = models.JSONField(default=list)
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "message"], name="rule_fires_once")]
        indexes = [models.Index(fields=["rule", "-fired_at"], name="rule_firing_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.message_id}"


class AssignmentCursor(models.Model):
    """Where a team's round-robin stands: the last agent given a ticket."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="+")
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"round-robin of {self.team_id}"


class Playbook(models.Model):
    """The checklist for one situation (intent), editable by leads."""

    intent = models.CharField(_("intent"), max_length=24, choices=Intent.choices, unique=True)
    title = models.CharField(_("title"), max_length=120)
    steps = models.JSONField(_("steps"), default=list, help_text="[{key, text}] in order")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["intent"]

    def __str__(self) -> str:
        return self.title


class PlaybookStep(models.Model):
    """A step's status on one ticket."""

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="+")
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="+")
    step_key = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=Status, default=Status.TODO)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "playbook", "step_key"], name="playbook_step_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step_key} on {self.ticket_id}"


class Handoff(models.Model):
    """A ticket handed to another department, with what they need; returns to its owner."""

    class Status(models.TextChoices):
        OPEN = "open", _("With the department")
        RETURNED = "returned", _("Returned")

    ticket = models.ForeignKey("desk.Ticket", on_delete=models.CASCADE, related_name="handoffs")
    to_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+")
    from_team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    summary = models.TextField(_("summary"))
    facts = models.JSONField(default=dict, help_text="order, shipment, photos at hand-off")
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    outcome = models.TextField(_("outcome"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["to_team", "status", "-created_at"], name="handoff_queue_idx"),
            models.Index(fields=["ticket", "-created_at"], name="handoff_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"hand-off of {self.ticket_id} to {self.to_team_id}"
