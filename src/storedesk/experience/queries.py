# ruff: noqa: S608 - SQL is assembled from constants and placeholders; values are parameters
"""The reads of the experience app's pages and API, one section per feature."""

from __future__ import annotations

import hashlib
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Avg, Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from storedesk.accounts.models import User
from storedesk.accounts.roles import Role
from storedesk.commerce import queries as commerce_queries
from storedesk.commerce.models import Order, Policy, Store
from storedesk.desk.models import Channel, Message, ReplyTemplate, Ticket
from storedesk.desk.search import fts5_match, highlight, pg_tsquery, search_terms
from storedesk.experience.models import (
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
    SurveyDefinition,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from storedesk.resolutions.models import Kind as ResolutionKind
from storedesk.resolutions.models import Resolution
from storedesk.triage.intents import Intent
from storedesk.triage.models import MessageAnalysis
from storedesk.triage.queries import ReportRange, report_range, team_zone

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


# --- surveys -------------------------------------------------------------------------------

SATISFIED_FROM = 4  # CSAT 4 and 5 count as satisfied
PROMOTER_FROM, DETRACTOR_UP_TO = 9, 6  # NPS: 9–10 promoters, 0–6 detractors
BAD_SCORE = {SurveyKind.CSAT: 2, SurveyKind.NPS: DETRACTOR_UP_TO}  # at or below: a follow-up
DEFAULT_RESULTS_DAYS = 365
NPS_REPEAT_DAYS = 180  # a buyer is asked the NPS question at most twice a year
BREAKDOWNS = ("agent", "intent", "channel", "template", "resolution_kind")
BREAKDOWN_LABELS = {
    "agent": _("Agent"),
    "intent": _("Intent"),
    "channel": pgettext_lazy("the way a ticket arrived: email, chat, web form", "Channel"),
    "template": _("Reply template"),
    "resolution_kind": _("Resolution"),
}


def hash_survey_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def invitation_for_token(raw: str) -> SurveyInvitation | None:
    """The invitation a link names, with its answer; None for a forged or mangled token."""
    if not raw or len(raw) > 100:
        return None
    return (
        SurveyInvitation.objects.select_related("store", "response")
        .filter(token_hash=hash_survey_token(raw))
        .first()
    )


def survey_definitions() -> list[SurveyDefinition]:
    return list(SurveyDefinition.objects.select_related("updated_by").order_by("kind"))


def recently_invited(email: str, since: datetime) -> bool:
    return SurveyRecipient.objects.filter(email=email, last_invited_at__gte=since).exists()


def ticket_snapshot(ticket: Ticket) -> dict:
    """What the reports group a CSAT answer by, as the ticket stands when it is solved: the
    agent, the last analysed intent, the channel, the last reply template and the last done
    resolution."""
    intent = (
        MessageAnalysis.objects.filter(ticket=ticket)
        .order_by("-analysed_at", "-pk")
        .values_list("primary_intent", flat=True)
        .first()
    )
    template_id = (
        Message.objects.filter(ticket=ticket, kind=Message.Kind.OUTBOUND, template__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("template_id", flat=True)
        .first()
    )
    resolution_kind = (
        Resolution.objects.filter(ticket=ticket, status=Resolution.Status.DONE)
        .order_by("-created_at", "-pk")
        .values_list("kind", flat=True)
        .first()
    )
    return {
        "agent_id": ticket.assignee_id,
        "intent": intent or "",
        "channel": ticket.channel,
        "template_id": template_id,
        "resolution_kind": resolution_kind or "",
    }


def follow_up_lead() -> User | None:
    """The active lead with the fewest open tickets (then the oldest account)."""
    open_statuses = [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING]
    return (
        User.objects.filter(is_active=True, groups__name=Role.LEAD.value)
        .annotate(
            open_tickets=Count(
                "assigned_tickets", filter=Q(assigned_tickets__status__in=open_statuses)
            )
        )
        .order_by("open_tickets", "pk")
        .first()
    )


def recent_buyers(now: datetime, *, min_days: int, max_days: int, limit: int) -> list[Order]:
    """Paid orders placed `min_days`–`max_days` ago, one per address (the latest), whose
    buyer was sent no survey in the last `max_days` days and no NPS survey in
    NPS_REPEAT_DAYS; the caller's lock re-checks the throttle."""
    since, until = now - timedelta(days=max_days), now - timedelta(days=min_days)
    recently_surveyed = SurveyRecipient.objects.filter(
        last_invited_at__gte=now - timedelta(days=max_days)
    ).values("email")
    asked_nps = SurveyInvitation.objects.filter(
        kind=SurveyKind.NPS, created_at__gte=now - timedelta(days=NPS_REPEAT_DAYS)
    ).values("email")
    orders = (
        Order.objects.filter(
            created_at__gte=since,
            created_at__lt=until,
            cancelled_at__isnull=True,
            financial_status__in=[
                Order.FinancialStatus.PAID,
                Order.FinancialStatus.PARTIALLY_REFUNDED,
            ],
        )
        .exclude(email="")
        .exclude(email__in=recently_surveyed)
        .exclude(email__in=asked_nps)
        .select_related("customer", "store")
        .order_by("-created_at", "-pk")
    )
    chosen, seen = [], set()
    for order in orders[: limit * 4]:
        email = order.email.strip().lower()
        if email in seen:
            continue
        seen.add(email)
        chosen.append(order)
        if len(chosen) >= limit:
            break
    return chosen


def results_range(start: str | date | None, end: str | date | None) -> ReportRange:
    """Days in the team's zone; by default the last 365 days up to today. ValueError for the
    page or the API when a date is unreadable or the range is backwards or too long."""
    zone = team_zone()
    period = report_range(start, end, zone)
    if start in (None, ""):
        period = report_range(
            period.end - timedelta(days=DEFAULT_RESULTS_DAYS - 1), period.end, zone
        )
    return period


def _pct(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _average(value) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


@dataclass
class CsatFigures:
    responses: int = 0
    average: float | None = None
    satisfied: int = 0

    @property
    def satisfied_pct(self) -> float | None:
        return _pct(self.satisfied, self.responses)


@dataclass
class NpsFigures:
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def score(self) -> float | None:
        """%promoters − %detractors, from −100 to 100."""
        if not self.responses:
            return None
        value = Decimal(self.promoters - self.detractors) * 100 / Decimal(self.responses)
        return float(value.quantize(Decimal("0.1"), ROUND_HALF_UP))


@dataclass
class BreakdownRow:
    key: object
    label: str
    csat: CsatFigures


@dataclass
class MonthRow:
    month: date
    csat: CsatFigures
    nps: NpsFigures


@dataclass
class SurveyResults:
    period: ReportRange
    csat: CsatFigures
    nps: NpsFigures
    invitations_sent: int
    invitations_answered: int
    months: list[MonthRow]
    breakdowns: dict[str, list[BreakdownRow]] = field(default_factory=dict)

    @property
    def response_rate(self) -> float | None:
        return _pct(self.invitations_answered, self.invitations_sent)


_FIGURES = {
    "responses": Count("pk"),
    "average": Avg("score"),
    "satisfied": Count("pk", filter=Q(score__gte=SATISFIED_FROM)),
    "promoters": Count("pk", filter=Q(score__gte=PROMOTER_FROM)),
    "detractors": Count("pk", filter=Q(score__lte=DETRACTOR_UP_TO)),
}


def _csat(row: dict) -> CsatFigures:
    return CsatFigures(row["responses"], _average(row["average"]), row["satisfied"])


def _nps(row: dict) -> NpsFigures:
    passives = row["responses"] - row["promoters"] - row["detractors"]
    return NpsFigures(row["responses"], row["promoters"], passives, row["detractors"])


def responses_in(period: ReportRange) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(created_at__gte=period.since, created_at__lt=period.until)


def _labels(dimension: str, keys: list) -> dict:
    if dimension == "agent":
        return {user.pk: user.display_name for user in User.objects.filter(pk__in=keys)}
    if dimension == "template":
        return dict(ReplyTemplate.objects.filter(pk__in=keys).values_list("pk", "name"))
    choices = {"intent": Intent, "channel": Channel, "resolution_kind": ResolutionKind}[dimension]
    return {value: str(label) for value, label in choices.choices}


def survey_results(period: ReportRange, *, breakdowns: bool = True) -> SurveyResults:
    """CSAT and NPS of the answers given in the range, the response rate of the invitations
    sent in it, a trend per month (team time) and the CSAT by agent, intent, channel, reply
    template and resolution kind. A fixed number of grouped queries, whatever the rows."""
    responses = responses_in(period)
    by_kind = {row["kind"]: row for row in responses.values("kind").annotate(**_FIGURES)}
    empty = dict.fromkeys(_FIGURES, 0) | {"average": None}
    sent = SurveyInvitation.objects.filter(
        kind__in=SurveyKind.values,
        created_at__gte=period.since,
        created_at__lt=period.until,
        sent_at__isnull=False,
    ).aggregate(sent=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
    months: dict[date, MonthRow] = {}
    month_rows = (
        responses.annotate(month=_month_of(period))
        .values("month", "kind")
        .annotate(**_FIGURES)
        .order_by("month", "kind")
    )
    for row in month_rows:
        month = date.fromisoformat(row["month"])
        item = months.setdefault(month, MonthRow(month, CsatFigures(), NpsFigures()))
        if row["kind"] == SurveyKind.CSAT:
            item.csat = _csat(row)
        else:
            item.nps = _nps(row)
    results = SurveyResults(
        period=period,
        csat=_csat(by_kind.get(SurveyKind.CSAT, empty)),
        nps=_nps(by_kind.get(SurveyKind.NPS, empty)),
        invitations_sent=sent["sent"],
        invitations_answered=sent["answered"],
        months=list(months.values()),
    )
    if breakdowns:
        for dimension in BREAKDOWNS:
            results.breakdowns[dimension] = csat_breakdown(period, dimension)
    return results


def _month_of(period: ReportRange) -> Case:
    """The month (team time) an answer falls in, as plain SQL ranges: SQLite's time zone
    conversion is a Python function called per row, ten times slower on a year of answers."""
    zone = zoneinfo.ZoneInfo(period.zone)
    whens, month = [], period.start.replace(day=1)
    while month <= period.end:
        following = (month + timedelta(days=32)).replace(day=1)
        since = datetime.combine(month, time(0), zone).astimezone(UTC)
        until = datetime.combine(following, time(0), zone).astimezone(UTC)
        whens.append(
            When(created_at__gte=since, created_at__lt=until, then=Value(month.isoformat()))
        )
        month = following
    return Case(*whens, output_field=CharField())


def csat_breakdown(period: ReportRange, dimension: str) -> list[BreakdownRow]:
    """The CSAT answers of the range grouped by one snapshotted dimension, most answers first
    (two queries: the groups, then their labels)."""
    column = {"agent": "invitation__agent_id", "template": "invitation__template_id"}.get(
        dimension, f"invitation__{dimension}"
    )
    rows = list(
        responses_in(period)
        .filter(kind=SurveyKind.CSAT)
        .values(key=F(column))
        .annotate(**_FIGURES)
        .order_by("-responses", "key")
    )
    keys = [row["key"] for row in rows if row["key"] not in (None, "")]
    labels = _labels(dimension, keys) if keys else {}
    return [
        BreakdownRow(row["key"], str(labels.get(row["key"], row["key"] or "—")), _csat(row))
        for row in rows
    ]


def survey_comments(period: ReportRange) -> QuerySet[SurveyResponse]:
    """Answers with a comment, newest first, for the paginated list under the figures."""
    return (
        responses_in(period)
        .exclude(comment="")
        .select_related("invitation", "invitation__agent", "invitation__ticket", "follow_up_ticket")
        .order_by("-created_at", "-pk")
    )
