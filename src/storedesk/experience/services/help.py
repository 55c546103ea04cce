"""The help center's writes: articles and their versions (the team, in the desk), and what
customers do (views, votes, searches, suggestions) counted for the deflection report."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Store
from storedesk.core.errors import ServiceError
from storedesk.core.events import record_event
from storedesk.experience.help_data import HELP_CATEGORIES
from storedesk.experience.help_markdown import (
    MAX_MARKDOWN_LENGTH,
    plain_text,
    render_markdown,
    summary_of,
)
from storedesk.experience.models import (
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
)

HELP_SESSION = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TITLE_LENGTH = 200
MAX_QUERY_LENGTH = 200


class HelpArticleError(ServiceError):
    """An article edit that cannot be saved; the message says why."""

    code = "invalid_help_article"
    status = 400


def clean_help_session(token: str | None) -> str:
    """The visitor's help-session token when it has the expected shape, else ''."""
    token = (token or "").strip()
    return token if HELP_SESSION.match(token) else ""


def voter_key(secret_source: str) -> str:
    """What a vote is stored under: a keyed hash, never the cookie or address itself."""
    material = f"{settings.SECRET_KEY}:help-vote:{secret_source}".encode()
    return hashlib.sha256(material).hexdigest()


def ensure_help_categories() -> None:
    """The fixed categories (the migration seeds them; a flushed test database loses them)."""
    for position, (slug, title, description) in enumerate(HELP_CATEGORIES):
        HelpCategory.objects.update_or_create(
            slug=slug, defaults={"title": title, "description": description, "position": position}
        )


def lock_article(pk: int) -> HelpArticle:
    return HelpArticle.objects.select_for_update(of=("self",)).get(pk=pk)


def _publish(article: HelpArticle, version: HelpArticleVersion, now) -> None:
    article.current_version = version
    article.status = HelpArticle.Status.PUBLISHED
    article.title = version.title
    article.summary = summary_of(version.body_html)
    article.search_text = plain_text(version.body_html)
    article.published_at = now


@transaction.atomic
def do_save_article(
    store: Store,
    *,
    actor,
    title: str,
    body: str,
    category: HelpCategory,
    slug: str = "",
    article: HelpArticle | None = None,
    note: str = "",
    publish: bool = False,
) -> HelpArticleVersion:
    """Save an edit as the article's next version (a new article starts at version 1).

    A published article keeps showing its current version until this one is published:
    `publish` does both at once."""
    title = " ".join((title or "").split())[:MAX_TITLE_LENGTH]
    if not title:
        raise HelpArticleError(_("An article needs a title."))
    if not (body or "").strip():
        raise HelpArticleError(_("An article needs a text."))
    if len(body) > MAX_MARKDOWN_LENGTH:
        raise HelpArticleError(_("The text is too long."))
    now = timezone.now()
    slug = slugify(slug or title)[:120]
    if not slug:
        raise HelpArticleError(_("The address of the article needs letters or digits."))
    if article is None:
        if HelpArticle.objects.filter(store=store, slug=slug).exists():
            raise HelpArticleError(_("Another article already has this address."))
        article = HelpArticle.objects.create(
            store=store,
            category=category,
            slug=slug,
            title=title,
            created_at=now,
            updated_at=now,
        )
        number = 1
    else:
        article = lock_article(article.pk)
        if slug != article.slug and (
            HelpArticle.objects.filter(store=article.store_id, slug=slug).exists()
        ):
            raise HelpArticleError(_("Another article already has this address."))
        article.slug, article.category = slug, category
        number = (article.versions.aggregate(latest=Max("number"))["latest"] or 0) + 1
    version = HelpArticleVersion.objects.create(
        article=article,
        number=number,
        title=title,
        body_markdown=body,
        body_html=render_markdown(body),
        note=(note or "").strip()[:200],
        author=actor if getattr(actor, "pk", None) else None,
        created_at=now,
    )
    if article.status == HelpArticle.Status.DRAFT and article.current_version_id is None:
        article.title = title  # an unpublished article's lists show its newest title
    if publish:
        _publish(article, version, now)
    article.updated_at = now
    article.save()
    record_audit(
        actor=actor,
        action="help_article.saved",
        obj=article,
        changes={"version": number, "published": publish, "slug": slug},
    )
    if publish:
        record_event("help_article_published", article_id=article.pk, version=number)
    return version


@transaction.atomic
def do_publish_article(article: HelpArticle, version: HelpArticleVersion, *, actor) -> None:
    """Make `version` what customers read (an older one too: that is a rollback)."""
    article = lock_article(article.pk)
    if version.article_id != article.pk:
        raise HelpArticleError(_("That version belongs to another article."))
    now = timezone.now()
    _publish(article, version, now)
    article.updated_at = now
    article.save()
    record_audit(
        actor=actor,
        action="help_article.published",
        obj=article,
        changes={"version": version.number},
    )
    record_event("help_article_published", article_id=article.pk, version=version.number)


@transaction.atomic
def do_archive_article(article: HelpArticle, *, actor) -> None:
    """Take an article off the help center; its versions stay."""
    article = lock_article(article.pk)
    if article.status == HelpArticle.Status.ARCHIVED:
        return
    old = article.status
    article.status = HelpArticle.Status.ARCHIVED
    article.updated_at = timezone.now()
    article.save(update_fields=["status", "updated_at"])
    record_audit(
        actor=actor,
        action="help_article.archived",
        obj=article,
        changes={"status": [old, article.status]},
    )
    record_event("help_article_archived", article_id=article.pk)


def do_vote(article: HelpArticle, *, voter: str, helpful: bool, at=None) -> bool:
    """Count one visitor's answer once; False when they had already answered. (`at` is for
    imported or simulated history; a live vote is now.)"""
    try:
        with transaction.atomic():
            HelpVote.objects.create(
                article=article, voter=voter, helpful=helpful, created_at=at or timezone.now()
            )
            counter = "helpful_count" if helpful else "not_helpful_count"
            HelpArticle.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    except IntegrityError:
        return False
    return True


@transaction.atomic
def do_record_view(
    article: HelpArticle, *, help_session: str = "", from_suggestion: bool = False, at=None
) -> None:
    """A customer opened an article (from a suggestion while typing, or not)."""
    now = at or timezone.now()
    HelpArticle.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    events = [
        HelpEvent(
            store_id=article.store_id,
            kind=HelpEvent.Kind.VIEW,
            article=article,
            help_session=help_session,
            created_at=now,
        )
    ]
    if from_suggestion and help_session:
        events.append(
            HelpEvent(
                store_id=article.store_id,
                kind=HelpEvent.Kind.SUGGESTION_CLICKED,
                article=article,
                help_session=help_session,
                created_at=now,
            )
        )
    HelpEvent.objects.bulk_create(events)


def do_record_search(
    store: Store,
    *,
    query: str,
    result_count: int,
    help_session: str = "",
    channel: str = "",
    at=None,
) -> None:
    """A search in the help center, kept with its result count (searches that find nothing
    are what the team writes next)."""
    HelpEvent.objects.create(
        store=store,
        kind=HelpEvent.Kind.SEARCH,
        query=" ".join((query or "").split())[:MAX_QUERY_LENGTH].lower(),
        result_count=result_count,
        help_session=help_session,
        channel=channel or "center",
        created_at=at or timezone.now(),
    )


def do_record_suggestions(
    store: Store,
    *,
    query: str,
    article_ids: Sequence[int],
    help_session: str,
    channel: str,
    at=None,
) -> None:
    """Articles suggested while a customer typed to us; kept once per session and article,
    so the report counts visitors, not keystrokes."""
    if not help_session or not article_ids:
        return
    seen = set(
        HelpEvent.objects.filter(
            help_session=help_session, kind=HelpEvent.Kind.SUGGESTION_SHOWN
        ).values_list("article_id", flat=True)
    )
    now = at or timezone.now()
    HelpEvent.objects.bulk_create(
        HelpEvent(
            store=store,
            kind=HelpEvent.Kind.SUGGESTION_SHOWN,
            article_id=article_id,
            help_session=help_session,
            query=" ".join((query or "").split())[:MAX_QUERY_LENGTH].lower(),
            channel=channel,
            created_at=now,
        )
        for article_id in article_ids
        if article_id not in seen
    )


def do_record_contact_after_help(
    *, help_session: str, ticket_id: int, channel: str, store_id: int | None, at=None
) -> bool:
    """The visitor who was shown suggestions opened a ticket anyway (once per ticket).
    False when the session was never shown a suggestion (nothing to count)."""
    help_session = clean_help_session(help_session)
    if not help_session:
        return False
    shown = (
        HelpEvent.objects.filter(help_session=help_session, kind=HelpEvent.Kind.SUGGESTION_SHOWN)
        .values_list("store_id", flat=True)
        .first()
    )
    if shown is None:
        return False
    try:
        with transaction.atomic():
            HelpEvent.objects.create(
                store_id=store_id or shown,
                kind=HelpEvent.Kind.TICKET_OPENED,
                help_session=help_session,
                channel=channel,
                ticket_id=ticket_id,
                created_at=at or timezone.now(),
            )
    except IntegrityError:
        pass  # the event was delivered twice: the ticket is counted once
    return True
