# ruff: noqa: S608 - SQL is assembled from constants and placeholders; values are parameters
"""The reads of the experience app's pages and API, one section per feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.safestring import SafeString

from storedesk.commerce import queries as commerce_queries
from storedesk.commerce.models import Policy, Store
from storedesk.desk.search import fts5_match, highlight, pg_tsquery, search_terms
from storedesk.experience.models import (
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
)

# --- help center

# The stored tsvector column of experience migration 0002 (GIN-indexed).
PG_ARTICLE_VECTOR = "a.search_vector"
PUBLIC_POLICY_KINDS = ("returns", "shipping", "warranty", "privacy", "terms")
SUGGESTIONS = 3
POPULAR = 8
# Words too common to say what a customer is asking about; left out when any word may match.
STOP_WORDS = frozenset(
    "a about an and are as at be but by can could did do does for from get got had has have "
    "hi hello how i if in is it its me my no not of on or our please should so that the their "
    "them there this to was we were what when where which who why will with would you your "
    "thanks thank".split()
)


@dataclass
class ArticleHit:
    article: HelpArticle
    snippet: SafeString


def help_store() -> Store | None:
    """The store whose help center this is (one store per installation)."""
    return commerce_queries.current_store()


def help_categories() -> list[HelpCategory]:
    return list(HelpCategory.objects.all())


def help_categories_with_counts(store: Store) -> list[HelpCategory]:
    """The categories with how many published articles each holds, in one query."""
    return list(
        HelpCategory.objects.annotate(
            published=Count(
                "articles",
                filter=Q(articles__store=store, articles__status=HelpArticle.Status.PUBLISHED),
            )
        )
    )


def published_articles(store: Store) -> QuerySet[HelpArticle]:
    return HelpArticle.objects.filter(
        store=store, status=HelpArticle.Status.PUBLISHED, current_version__isnull=False
    )


def popular_articles(store: Store, limit: int = POPULAR) -> list[HelpArticle]:
    """The most read published articles (one query, along the popularity index)."""
    return list(
        published_articles(store)
        .select_related("category")
        .defer("search_text")
        .order_by("-view_count", "pk")[:limit]
    )


def articles_in_category(store: Store, category: HelpCategory) -> QuerySet[HelpArticle]:
    return (
        published_articles(store)
        .filter(category=category)
        .defer("search_text")
        .order_by("-view_count", "title", "pk")
    )


def published_article(store: Store, slug: str) -> HelpArticle | None:
    """A published article with the version customers read, in one query."""
    return (
        published_articles(store)
        .select_related("category", "current_version")
        .filter(slug=slug[:120])
        .first()
    )


def _any_word_match(terms: list[str]) -> str:
    """An FTS5 expression matching any of the terms (each quoted, the last also a prefix)."""
    return " OR ".join(
        f"({fts5_match([term], prefix=i == len(terms) - 1)})" for i, term in enumerate(terms)
    )


def _any_word_tsquery(terms: list[str]) -> str:
    return " | ".join(
        pg_tsquery([term], prefix=i == len(terms) - 1) for i, term in enumerate(terms)
    )


def _article_hit_ids(
    store: Store, terms: list[str], limit: int, offset: int, *, any_word: bool = False
) -> list[int]:
    """Published articles matching every term (the last also as a prefix), best first; with
    `any_word`, those matching any of them, the rarer words counting most (bm25, ts_rank)."""
    if any_word:
        terms = [term for term in terms if term not in STOP_WORDS] or terms
    if connection.vendor == "sqlite":
        sql = (
            "SELECT a.id FROM experience_helparticle_fts f"
            " JOIN experience_helparticle a ON a.id = f.rowid"
            " WHERE experience_helparticle_fts MATCH %s AND a.store_id = %s AND a.status = %s"
            " ORDER BY bm25(experience_helparticle_fts, 4.0, 2.0, 1.0), a.id LIMIT %s OFFSET %s"
        )
        match = _any_word_match(terms) if any_word else fts5_match(terms)
        params: list[Any] = [match, store.pk, "published", limit, offset]
    elif connection.vendor == "postgresql":
        sql = (
            f"SELECT a.id FROM experience_helparticle a WHERE {PG_ARTICLE_VECTOR}"
            " @@ to_tsquery('english', %s) AND a.store_id = %s AND a.status = %s"
            f" ORDER BY ts_rank({PG_ARTICLE_VECTOR}, to_tsquery('english', %s)) DESC, a.id"
            " LIMIT %s OFFSET %s"
        )
        query = _any_word_tsquery(terms) if any_word else pg_tsquery(terms)
        params = [query, store.pk, "published", query, limit, offset]
    else:
        return [
            article.pk
            for article in published_articles(store)
            .filter(title__icontains=" ".join(terms))
            .order_by("pk")[offset : offset + limit]
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def search_articles(
    store: Store, query: str, *, limit: int = 20, offset: int = 0, snippets: bool = True
) -> list[ArticleHit]:
    """Published articles for a customer's words, best first (two queries): those with every
    word, or when none has them all (a question typed as a sentence), those with any."""
    terms = search_terms(query)
    if not terms:
        return []
    ids = _article_hit_ids(store, terms, limit, offset)
    if not ids and len(terms) > 1 and (offset == 0 or not _article_hit_ids(store, terms, 1, 0)):
        ids = _article_hit_ids(store, terms, limit, offset, any_word=True)
    if not ids:
        return []
    fields = ["pk", "slug", "title", "summary", "category__slug", "category__title"]
    if snippets:
        fields.append("search_text")
    by_id = {
        article.pk: article
        for article in HelpArticle.objects.filter(pk__in=ids)
        .select_related("category")
        .only(*fields)
    }
    return [
        ArticleHit(
            by_id[pk],
            highlight(by_id[pk].search_text if snippets else by_id[pk].summary, terms),
        )
        for pk in ids
        if pk in by_id
    ]


def suggest_articles(store: Store, query: str) -> list[HelpArticle]:
    """The three best articles for what a customer is typing (titles and slugs only): a
    message is a sentence, so any of its words may match, the rare ones weighing most."""
    terms = search_terms(query)
    if not terms:
        return []
    ids = _article_hit_ids(store, terms, SUGGESTIONS, 0, any_word=True)
    by_id = {a.pk: a for a in HelpArticle.objects.filter(pk__in=ids).only("pk", "slug", "title")}
    return [by_id[pk] for pk in ids if pk in by_id]


def public_policy(store: Store, kind: str, at: datetime) -> Policy | None:
    """The version of a policy in force now, as the help center shows it."""
    if kind not in PUBLIC_POLICY_KINDS:
        return None
    return commerce_queries.policy_in_force(store, kind, at)


def public_policy_version(store: Store, kind: str, version: int) -> Policy | None:
    if kind not in PUBLIC_POLICY_KINDS:
        return None
    return commerce_queries.policy_version(store, kind, version)


def policy_history(store: Store, kind: str) -> list[Policy]:
    return list(commerce_queries.policy_versions(store, kind)[:50])


def policies_in_force_now(store: Store, at: datetime) -> list[Policy]:
    return list(commerce_queries.policies_in_force(store, at).values())


# The desk's pages


def desk_articles(
    store: Store | None, *, category: str = "", status: str = ""
) -> QuerySet[HelpArticle]:
    """The desk's list: every article of the store, newest edit first, filtered."""
    articles = (
        HelpArticle.objects.filter(store=store)
        .select_related("category", "current_version")
        .defer("search_text", "current_version__body_markdown", "current_version__body_html")
        .order_by("-updated_at", "-pk")
    )
    if category:
        articles = articles.filter(category__slug=category)
    if status in HelpArticle.Status.values:
        articles = articles.filter(status=status)
    return articles


def desk_article(pk: int) -> HelpArticle:
    return HelpArticle.objects.select_related("category", "current_version", "store").get(pk=pk)


def article_versions(article: HelpArticle) -> QuerySet[HelpArticleVersion]:
    return article.versions.select_related("author").defer("body_html").order_by("-number")


def latest_version(article: HelpArticle) -> HelpArticleVersion | None:
    return article.versions.order_by("-number").first()


@dataclass
class DeflectionReport:
    searches: int
    searches_without_results: int
    views: int
    helpful: int
    not_helpful: int
    suggestion_sessions: int
    contacted_sessions: int
    suggestion_clicks: int
    top_queries_without_results: list[dict]
    top_queries: list[dict]

    @property
    def helpful_percent(self) -> int | None:
        votes = self.helpful + self.not_helpful
        return round(100 * self.helpful / votes) if votes else None

    @property
    def deflected_sessions(self) -> int:
        return max(0, self.suggestion_sessions - self.contacted_sessions)

    @property
    def deflection_percent(self) -> int | None:
        if not self.suggestion_sessions:
            return None
        return round(100 * self.deflected_sessions / self.suggestion_sessions)


def deflection_report(store: Store, start: datetime, end: datetime) -> DeflectionReport:
    """Searches, views, votes and suggestions over [start, end), each an indexed aggregate.

    A visitor (help session) shown suggestions while writing to us counts as deflected when
    no ticket came from the same session afterwards."""
    events = HelpEvent.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    counts = events.aggregate(
        searches=Count("pk", filter=Q(kind=HelpEvent.Kind.SEARCH)),
        empty=Count("pk", filter=Q(kind=HelpEvent.Kind.SEARCH, result_count=0)),
        views=Count("pk", filter=Q(kind=HelpEvent.Kind.VIEW)),
        clicks=Count("pk", filter=Q(kind=HelpEvent.Kind.SUGGESTION_CLICKED)),
        shown=Count("help_session", distinct=True, filter=Q(kind=HelpEvent.Kind.SUGGESTION_SHOWN)),
    )
    shown_sessions = events.filter(kind=HelpEvent.Kind.SUGGESTION_SHOWN).values("help_session")
    contacted = (
        HelpEvent.objects.filter(
            kind=HelpEvent.Kind.TICKET_OPENED,
            help_session__in=shown_sessions,
            created_at__gte=start,
        )
        .values("help_session")
        .distinct()
        .count()
    )
    votes = HelpVote.objects.filter(
        article__store=store, created_at__gte=start, created_at__lt=end
    ).aggregate(
        yes=Count("pk", filter=Q(helpful=True)),
        no=Count("pk", filter=Q(helpful=False)),
    )
    searches = events.filter(kind=HelpEvent.Kind.SEARCH).exclude(query="")
    top_empty = list(
        searches.filter(result_count=0)
        .values(text=Lower("query"))
        .annotate(times=Count("pk"))
        .order_by("-times", "text")[:15]
    )
    top = list(
        searches.values(text=Lower("query"))
        .annotate(times=Count("pk"))
        .order_by("-times", "text")[:15]
    )
    return DeflectionReport(
        searches=counts["searches"],
        searches_without_results=counts["empty"],
        views=counts["views"],
        helpful=votes["yes"],
        not_helpful=votes["no"],
        suggestion_sessions=counts["shown"],
        contacted_sessions=contacted,
        suggestion_clicks=counts["clicks"],
        top_queries_without_results=top_empty,
        top_queries=top,
    )


def article_report_rows(store: Store, limit: int = 20) -> list[HelpArticle]:
    """The most read articles with their helpful share (the counters on the row)."""
    return list(
        HelpArticle.objects.filter(store=store)
        .select_related("category")
        .defer("search_text")
        .order_by("-view_count", "pk")[:limit]
    )
