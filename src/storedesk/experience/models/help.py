"""The help center: articles in fixed categories, each edit a new version, the customers'
votes and the deflection events (searches, views, suggestions, contacts after a suggestion).

An article's searchable text (the published version's title and plain text) is kept on the
article row, so one full-text index per database covers it (experience migration 0002): an
FTS5 table kept in step by triggers on SQLite, a stored tsvector with a GIN index on PostgreSQL.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HelpCategory(models.Model):
    """One of the help center's fixed sections, seeded by the migration."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "help categories"

    def __str__(self) -> str:
        return self.title


class HelpArticle(models.Model):
    """A help article; what customers read is `current_version` while it is published."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    store = models.ForeignKey(
        "commerce.Store", on_delete=models.CASCADE, related_name="help_articles"
    )
    category = models.ForeignKey(HelpCategory, on_delete=models.PROTECT, related_name="articles")
    slug = models.SlugField(_("slug"), max_length=120)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    current_version = models.ForeignKey(
        "HelpArticleVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="the version customers read",
    )
    # The published version's title and text, for the lists and the full-text index.
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    search_text = models.TextField(blank=True)
    view_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "slug"], name="help_article_slug_once"),
        ]
        indexes = [
            models.Index(
                fields=["store", "status", "category", "-view_count"],
                name="help_article_popular_idx",
            ),
            models.Index(fields=["store", "-updated_at"], name="help_article_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def helpful_percent(self) -> int | None:
        votes = self.helpful_count + self.not_helpful_count
        return round(100 * self.helpful_count / votes) if votes else None


class HelpArticleVersion(models.Model):
    """One edit of an article: its Markdown and the sanitized HTML made from it at save."""

    article = models.ForeignKey(HelpArticle, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body_markdown = models.TextField()
    body_html = models.TextField(help_text="rendered and sanitized when the version is saved")
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="help_article_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"


class HelpVote(models.Model):
    """'Did this answer your question?': one answer per visitor (a hashed cookie or address)."""

    article = models.ForeignKey(HelpArticle, on_delete=models.CASCADE, related_name="votes")
    voter = models.CharField(max_length=64, help_text="sha256 of the visitor's help cookie")
    helpful = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "voter"], name="help_vote_once"),
        ]

    def __str__(self) -> str:
        return f"{'yes' if self.helpful else 'no'} on article {self.article_id}"


class HelpEvent(models.Model):
    """What the deflection report counts: one row per search, view, suggestion and contact.

    `help_session` is a random token the visitor's browser keeps for its tab: it ties the
    suggestions shown while typing to the ticket the same visitor opened (or did not)."""

    class Kind(models.TextChoices):
        SEARCH = "search", _("Search")
        VIEW = "view", _("Article view")
        SUGGESTION_SHOWN = "suggestion_shown", _("Suggestion shown")
        SUGGESTION_CLICKED = "suggestion_clicked", _("Suggestion clicked")
        TICKET_OPENED = "ticket_opened", _("Ticket opened after a suggestion")

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    help_session = models.CharField(max_length=64, blank=True)
    query = models.CharField(max_length=200, blank=True)
    result_count = models.PositiveIntegerField(null=True, blank=True)
    article = models.ForeignKey(
        HelpArticle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, blank=True, help_text="center, form or chat")
    ticket_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "kind", "created_at"], name="help_event_kind_idx"),
            models.Index(fields=["help_session", "kind"], name="help_event_session_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket_id"],
                condition=models.Q(kind="ticket_opened"),
                name="help_event_ticket_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"
