"""The desk: tickets and their conversations, from every channel, in one thread per issue.

A ticket is one customer problem; its messages are what was said (inbound, outbound, internal
notes) and its events are what was done (status, assignment, tags, merges). Message bodies are
stored sanitized: the raw source is kept as a file for evidence and re-parsing, never rendered.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.fields.json import KT
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _

from storedesk.desk.lookups import InConstants
from storedesk.desk.numbering import ticket_token

# The idempotency key a reply was sent with, kept in the message's headers (a text expression,
# so one unique index serves the constraint and the look-up).
IDEMPOTENCY_KEY = KT("headers__idempotency_key")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    FORM = "form", _("Web form")
    API = "api", _("API")
    PHONE = "phone", _("Phone")


class Tag(models.Model):
    name = models.SlugField(max_length=60, unique=True, allow_unicode=True)

    def __str__(self) -> str:
        return self.name


class Mailbox(models.Model):
    """An address customers write to, polled over IMAP (or fed by an inbound webhook)."""

    name = models.CharField(_("name"), max_length=80)
    address = models.EmailField(_("address"), unique=True)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_username = models.CharField(max_length=200, blank=True)
    imap_password = models.CharField(
        max_length=200, blank=True, help_text="or leave empty and set the env var named below"
    )
    imap_password_env = models.CharField(max_length=80, blank=True)
    imap_folder = models.CharField(max_length=200, default="INBOX")
    imap_done_folder = models.CharField(
        max_length=200, blank=True, help_text="move processed mail here; empty: mark it seen"
    )
    uid_validity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.address


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        ON_HOLD = "on_hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Stage(models.TextChoices):
        """S1's ticket SOP."""

        RECEIVE = "receive", _("Receive")
        CLASSIFY = "classify", _("Classify")
        HANDLE = "handle", _("Handle")
        CLOSE = "close", _("Close")
        FOLLOW_UP = "follow_up", _("Follow up")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    number = models.PositiveIntegerField(_("number"), unique=True)
    store = models.ForeignKey(
        "commerce.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="tickets"
    )
    subject = models.CharField(_("subject"), max_length=250, blank=True)
    customer = models.ForeignKey(
        "commerce.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    requester_email = models.EmailField(_("requester"), blank=True, help_text="lower-cased")
    requester_name = models.CharField(max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default="new")
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.RECEIVE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    orders = models.ManyToManyField("commerce.Order", blank=True, related_name="tickets")
    follow_up_at = models.DateTimeField(_("follow up"), null=True, blank=True)
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_tickets"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField()
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(
        null=True, blank=True, help_text="stored once, never recomputed"
    )
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-last_message_at"], name="ticket_status_idx"),
            models.Index(
                fields=["assignee", "status", "-last_message_at"], name="ticket_assignee_idx"
            ),
            models.Index(fields=["team", "status", "-last_message_at"], name="ticket_team_idx"),
            models.Index(fields=["channel", "status", "-last_message_at"], name="ticket_chan_idx"),
            models.Index(
                fields=["priority", "-last_message_at"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
                name="ticket_open_priority_idx",
            ),
            # "All open": newest conversation first, read in index order and stopped at a page.
            models.Index(
                fields=["-last_message_at", "-id"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
                name="ticket_open_recent_idx",
            ),
            # "Mine" and "Unassigned": one agent's (or nobody's) open tickets, newest first.
            models.Index(
                fields=["assignee", "-last_message_at", "-id"],
                condition=Q(status__in=["new", "open", "pending", "on_hold"]),
                name="ticket_open_assignee_idx",
            ),
            # The inbox's view counts: every live ticket (open, or solved and still listed)
            # read from this index alone, without a visit to the table's wide rows.
            models.Index(
                fields=["status", "assignee", "priority", "channel", "team", "solved_at"],
                condition=Q(status__in=["new", "open", "pending", "on_hold", "solved"]),
                name="ticket_live_counts_idx",
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            # Reports over a range of days (the SLA report) read only the range's tickets.
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            models.Index(fields=["requester_email", "-created_at"], name="ticket_requester_idx"),
            models.Index(
                fields=["follow_up_at"],
                condition=Q(follow_up_at__isnull=False),
                name="ticket_follow_up_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.token} {self.subject}".strip()

    @property
    def token(self) -> str:
        """What replies carry in the subject so they thread: `[#SD-1234]`."""
        return ticket_token(self.number)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


# The open-ticket views name their statuses as constants, so SQLite can use the partial indexes.
Ticket._meta.get_field("status").register_lookup(InConstants)


class Message(models.Model):
    class Kind(models.TextChoices):
        INBOUND = "inbound", _("From the customer")
        OUTBOUND = "outbound", _("Reply")
        NOTE = "note", _("Internal note")

    class Delivery(models.TextChoices):
        """For outbound messages; inbound and notes stay `none`."""

        NONE = "none", ""
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_email = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    text = models.TextField(help_text="the full plain text")
    html = models.TextField(blank=True, help_text="sanitized HTML (nh3), safe to render")
    new_text = models.TextField(blank=True, help_text="what is new: no quoted history")
    quoted_text = models.TextField(blank=True)
    signature = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True, help_text="RFC 5322 Message-ID")
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True, help_text="the headers we act on")
    is_automatic = models.BooleanField(
        default=False, help_text="auto-reply, bounce or loop: never answered automatically"
    )
    automatic_reason = models.CharField(max_length=40, blank=True)
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", blank=True)
    template = models.ForeignKey(
        "ReplyTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.NONE)
    delivery_error = models.TextField(blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="message_id_once"
            ),
            # A reply's idempotency key (the composer's form token, an API client's key) is
            # unique within its ticket: a double submit can store one message, never two.
            models.UniqueConstraint(
                "ticket",
                IDEMPOTENCY_KEY,
                condition=Q(GreaterThan(IDEMPOTENCY_KEY, Value(""))),
                name="message_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_idx"),
            models.Index(
                fields=["delivery", "created_at"],
                condition=Q(delivery__in=["queued", "sending", "failed"]),
                name="message_delivery_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="mail/attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=255, blank=True, help_text="inline image cid")
    is_inline = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.filename


class Participant(models.Model):
    class Role(models.TextChoices):
        REQUESTER = "requester", _("Requester")
        CC = "cc", _("CC")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CC)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "email"], name="participant_once"),
        ]

    def __str__(self) -> str:
        return self.email


class TicketEvent(models.Model):
    """What happened to a ticket besides messages, for its timeline (the audit has the rest)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, help_text="status, assigned, tagged, merged, …")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_event_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"


class QuarantinedMail(models.Model):
    """Mail we could not turn into a message: kept whole, with the reason, for a person."""

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=200, help_text="imap uid, webhook, file path …")
    raw = models.FileField(upload_to="mail/quarantine/%Y/%m/")
    size = models.PositiveBigIntegerField(default=0)
    reason = models.TextField()
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-received_at"], name="quarantine_received_idx")]

    def __str__(self) -> str:
        return f"quarantined {self.source}"


class ChatSession(models.Model):
    """A website visitor's chat; its secret token is the visitor's only credential."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="chat")
    token = models.CharField(max_length=64, unique=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.EmailField(blank=True)
    page_url = models.URLField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    started_at = models.DateTimeField()
    visitor_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"chat on {self.ticket_id}"


class ReplyTemplate(models.Model):
    """A reply for a recurring situation, with variables; edits write versions."""

    class Category(models.TextChoices):
        WHERE_IS_MY_ORDER = "where_is_my_order", _("Where is my order")
        TRACKING_STALLED = "tracking_stalled", _("Tracking not updating")
        NOT_RECEIVED = "not_received", _("Not received")
        DELIVERED_NOT_RECEIVED = "delivered_not_received", _("Delivered but not received")
        WRONG_ITEM = "wrong_item", _("Wrong item or details")
        WRONG_SIZE = "wrong_size", _("Wrong size or fit")
        DAMAGED = "damaged", _("Damaged or quality problem")
        RETURN = "return", _("Return or exchange")
        REFUND = "refund", _("Refund")
        CANCEL = "cancel", _("Cancel or change order")
        PAYMENT = "payment", _("Payment or charge")
        ANGRY = "angry", _("Unhappy customer")
        PRODUCT = "product", _("Product, care and sizing")
        WARRANTY = "warranty", _("Warranty")
        VERIFICATION = "verification", _("Payment verification")
        GENERAL = "general", _("General")

    name = models.CharField(_("name"), max_length=120, unique=True)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), help_text="text with {{ variables }}")
    version = models.PositiveIntegerField(default=1)
    usage_count = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class ReplyTemplateVersion(models.Model):
    """A template's text at a version: what was approved, by whom, or a pending proposal."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    template = models.ForeignKey(ReplyTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(null=True, blank=True, help_text="set when approved")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "version"],
                condition=Q(version__isnull=False),
                name="template_version_once",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="template_status_idx")]

    def __str__(self) -> str:
        return f"{self.template} v{self.version or '?'}"


class SavedView(models.Model):
    """An inbox view: a named set of filters, the user's own or shared with the team."""

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    filters = models.JSONField(default=dict)
    is_shared = models.BooleanField(_("shared with the team"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
