# ruff: noqa: S608 - SQL is assembled from constants and placeholders; values are parameters
"""The reads of the experience app's pages and API, one section per feature."""

from __future__ import annotations

import hashlib
import hmac
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import holidays
from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from storedesk.accounts.models import User
from storedesk.accounts.roles import Role
from storedesk.commerce import queries as commerce_queries
from storedesk.commerce.models import Customer, Order, Policy, Shipment, ShipmentEvent, Store
from storedesk.commerce.queries import current_store, number_keys, vip_thresholds
from storedesk.commerce.services.tracking import (
    FINAL_STATUSES,
    business_days_between,
    stuck_thresholds,
    threshold_for,
)
from storedesk.desk.models import Channel, Message, ReplyTemplate, Ticket
from storedesk.desk.search import fts5_match, highlight, pg_tsquery, search_terms
from storedesk.disputes.models import Dispute
from storedesk.experience.models import (
    Campaign,
    CampaignRecipient,
    HelpArticle,
    HelpArticleVersion,
    HelpCategory,
    HelpEvent,
    HelpVote,
    MarketingSuppression,
    Segment,
    ShippingProblem,
    SurveyDefinition,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
    TrackingReport,
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


# A US shipping address's state gives the customer's zone when their record has none.
STATE_ZONES = {
    **dict.fromkeys(
        "CT DE DC FL GA ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV".split(), "America/New_York"
    ),
    **dict.fromkeys("IN KY".split(), "America/New_York"),
    **dict.fromkeys("AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI".split(), "America/Chicago"),
    **dict.fromkeys("CO MT NM UT WY ID".split(), "America/Denver"),
    "AZ": "America/Phoenix",
    **dict.fromkeys("CA NV OR WA".split(), "America/Los_Angeles"),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    "PR": "America/Puerto_Rico",
}
# Without a carrier's estimate, a parcel counts as late this long after it shipped.
LATE_WITHOUT_ESTIMATE = timedelta(days=14)
# The situations a customer can report from the page, and when each is offered.
REPORT_KINDS = (
    TrackingReport.Kind.NOT_RECEIVED,
    TrackingReport.Kind.DELIVERED_NOT_RECEIVED,
    TrackingReport.Kind.WRONG_ITEM,
    TrackingReport.Kind.DAMAGED,
    TrackingReport.Kind.SIZE_EXCHANGE,
)
# Where-is-my-order intents: a ticket with one of these is what a proactive notice prevents.
WISMO_INTENTS = ("order_status", "tracking_stalled", "not_received")
_NO_MATCH = "no-order@invalid"


def _same_email(given: str, known: str) -> bool:
    return hmac.compare_digest(given.encode(), (known or _NO_MATCH).strip().lower().encode())


def order_for_lookup(number: str, email: str) -> Order | None:
    """The order with this number whose e-mail (or its customer's) is the one given; None for
    any failure, and the same work whether the order exists or not (both e-mails are always
    compared in constant time), so a lookup tells nothing about orders of others. Two queries
    on unique indexes."""
    number, email = (number or "").strip()[:32], (email or "").strip().lower()[:254]
    store = current_store()
    order = None
    if store is not None and number:
        order = (
            Order.objects.filter(store=store, number_key__in=number_keys(number, store))
            .select_related("customer")
            .only("pk", "email", "created_at", "number_key", "customer__email")
            .order_by("pk")
            .first()
        )
        if order is not None:
            order.store = store  # its store, already read: the link needs the slug
    own_email = order.email if order else _NO_MATCH
    customer_email = order.customer.email if order and order.customer_id else _NO_MATCH
    matches = _same_email(email, own_email) | _same_email(email, customer_email)
    return order if order is not None and email and matches else None


def customer_zone(order: Order) -> str:
    """The zone dates are shown to the customer in: their own, else their shipping state's,
    else the store's."""
    customer: Customer | None = order.customer
    if customer is not None and customer.timezone:
        return customer.timezone
    state = str((order.shipping_address or {}).get("province_code", "")).upper()
    if (order.shipping_address or {}).get("country_code", "US") in ("US", "") and state:
        zone = STATE_ZONES.get(state)
        if zone:
            return zone
    return order.store.timezone or "America/New_York"


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("America/New_York")


def local_day(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """'Tuesday, December 8' in the customer's zone ('' for no date)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%A}, {local:%B} {local.day}"


def local_time(moment: datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%b} {local.day}, {hour}:{local:%M} {local:%p}"


@dataclass
class ScanLine:
    when: str
    text: str
    place: str


@dataclass
class TrackedShipment:
    """One parcel as the customer reads it."""

    shipment: Shipment
    state: str  # in_transit, out_for_delivery, delivered, exception, returned, stuck, waiting
    headline: str
    detail: str
    expected: str
    scans: list[ScanLine] = field(default_factory=list)
    is_late: bool = False


@dataclass
class TrackingPage:
    order: Order
    zone: str
    headline: str
    shipments: list[TrackedShipment]
    reports: list[TrackingReport]
    offered: list[str]


def _plain_words(shipment: Shipment, last_seen: datetime | None, stuck: bool, zone) -> tuple:
    """(state, headline, detail): the carrier's status in plain words, honest about trouble."""
    carrier = shipment.carrier or "the carrier"
    status = shipment.status
    if status == Shipment.Status.DELIVERED:
        detail = f"Delivered {local_day(shipment.delivered_at, zone)}".strip()
        if shipment.delivery_location:
            detail += f" ({shipment.delivery_location})"
        if shipment.signed_by:
            detail += f", signed for by {shipment.signed_by}"
        return "delivered", "Delivered", detail + "."
    if status == Shipment.Status.RETURNED_TO_SENDER:
        return (
            "returned",
            "On its way back to us",
            f"{carrier} is returning this parcel to us. We'll contact you about a reship "
            "or a refund.",
        )
    if status in (Shipment.Status.EXCEPTION, Shipment.Status.FAILURE):
        return (
            "exception",
            "Delayed: the carrier reported a problem",
            f"{carrier} reported a problem with this parcel. We're checking with them and will "
            "email you with what happens next.",
        )
    if stuck:
        return (
            "stuck",
            "Delayed: no new scan",
            f"{carrier} hasn't scanned this parcel since {local_day(last_seen, zone)}, longer "
            "than usual. We're checking with them; you don't need to do anything.",
        )
    if status == Shipment.Status.OUT_FOR_DELIVERY:
        return "out_for_delivery", "Out for delivery", "It should arrive today."
    if status == Shipment.Status.ATTEMPTED_DELIVERY:
        return (
            "out_for_delivery",
            "Delivery attempted",
            f"{carrier} tried to deliver it. They usually try again the next business day or "
            "leave a notice saying where to pick it up.",
        )
    if status == Shipment.Status.IN_TRANSIT:
        return "in_transit", "On its way", f"Your parcel is moving through the {carrier} network."
    return (
        "waiting",
        "Label created",
        f"The shipping label is ready; the first scan appears once {carrier} picks it up.",
    )


def tracking_page(order_id: int, now: datetime | None = None) -> TrackingPage | None:
    """The order as its tracking page shows it: five queries (order with store and customer,
    items, parcels with their last scan time, their scans, stuck thresholds) and one for the
    reports already made, whatever the number of parcels and scans."""
    now = now or timezone.now()
    order = (
        Order.objects.select_related("store", "customer")
        .prefetch_related("line_items")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return None
    zone_name = customer_zone(order)
    zone = _zone(zone_name)
    shipments = list(
        Shipment.objects.filter(order_id=order.pk)
        .annotate(last_scan=Max("events__happened_at"))
        .prefetch_related(
            Prefetch("events", queryset=ShipmentEvent.objects.order_by("-happened_at", "-id"))
        )
        .order_by("shipped_at", "id")
    )
    thresholds = stuck_thresholds() if shipments else {}
    tracked = []
    for shipment in shipments:
        last_seen = shipment.last_scan or shipment.shipped_at
        stuck = bool(
            shipment.tracking_number
            and shipment.status not in FINAL_STATUSES
            and last_seen is not None
            and business_days_between(last_seen, now)
            > threshold_for(thresholds, shipment.carrier, shipment.service)
        )
        state, headline, detail = _plain_words(shipment, last_seen, stuck, zone)
        expected_at = shipment.estimated_delivery_at
        late_after = expected_at or (
            shipment.shipped_at + LATE_WITHOUT_ESTIMATE if shipment.shipped_at else None
        )
        tracked.append(
            TrackedShipment(
                shipment=shipment,
                state=state,
                headline=headline,
                detail=detail,
                expected=local_day(expected_at, zone) if state != "delivered" else "",
                scans=[
                    ScanLine(
                        when=local_time(scan.happened_at, zone),
                        text=scan.message or scan.get_status_display(),
                        place=", ".join(p for p in (scan.city, scan.province) if p),
                    )
                    for scan in shipment.events.all()
                ],
                is_late=bool(state != "delivered" and late_after is not None and now > late_after),
            )
        )
    reports = list(TrackingReport.objects.filter(order=order).order_by("-created_at")[:10])
    return TrackingPage(
        order=order,
        zone=zone_name,
        headline=_order_headline(order, tracked),
        shipments=tracked,
        reports=reports,
        offered=offered_reports(tracked),
    )


def _order_headline(order: Order, tracked: list[TrackedShipment]) -> str:
    if order.cancelled_at:
        return "This order was cancelled."
    if not tracked:
        return "We're preparing your order. You'll get an email with tracking once it ships."
    states = {item.state for item in tracked}
    if states == {"delivered"}:
        return "Your order was delivered."
    if states & {"stuck", "exception", "returned"}:
        return "Your order is delayed. Here's what we know."
    return "Your order is on its way."


def offered_reports(tracked: list[TrackedShipment]) -> list[str]:
    """What the customer may report now: "not received" only once the carrier's expected date
    has passed; the delivered-parcel problems only for a delivered parcel."""
    offered = []
    if any(item.is_late for item in tracked):
        offered.append(TrackingReport.Kind.NOT_RECEIVED)
    if any(item.state == "delivered" for item in tracked):
        offered += [
            TrackingReport.Kind.DELIVERED_NOT_RECEIVED,
            TrackingReport.Kind.WRONG_ITEM,
            TrackingReport.Kind.DAMAGED,
            TrackingReport.Kind.SIZE_EXCHANGE,
        ]
    return [str(kind) for kind in offered]


def stuck_shipments(now: datetime | None = None, *, days: int = 45, limit: int = 5000) -> list:
    """Parcels on their way (shipped in the last `days`) with no carrier scan for longer than
    their carrier's usual gap, not yet recorded as stuck: (shipment id, order id, last seen)."""
    now = now or timezone.now()
    rows = (
        Shipment.objects.filter(shipped_at__gte=now - timedelta(days=days))
        .exclude(status__in=FINAL_STATUSES)
        .exclude(tracking_number="")
        .exclude(shipping_problems__kind=ShippingProblem.Kind.STUCK)
        .annotate(last_scan=Max("events__happened_at"))
        .values_list("pk", "order_id", "carrier", "service", "shipped_at", "last_scan")
        .order_by("pk")[:limit]
    )
    rows = list(rows)
    thresholds = stuck_thresholds() if rows else {}
    stuck = []
    for pk, order_id, carrier, service, shipped_at, last_scan in rows:
        seen = last_scan or shipped_at
        if business_days_between(seen, now) > threshold_for(thresholds, carrier, service):
            stuck.append((pk, order_id, seen))
    return stuck


# What the desk's report shows of proactive notices.


@dataclass
class NoticeWeek:
    """One week of shipping problems: how many customers were told, and how many of those
    (and of the problems nobody was told about) still wrote "where is my order"."""

    week_start: datetime
    problems: int = 0
    notified: int = 0
    wismo_after_notice: int = 0
    unnotified: int = 0
    wismo_without_notice: int = 0

    @property
    def prevented(self) -> int:
        return self.notified - self.wismo_after_notice

    @property
    def wismo_rate_notified(self) -> float | None:
        return self.wismo_after_notice / self.notified if self.notified else None

    @property
    def wismo_rate_unnotified(self) -> float | None:
        return self.wismo_without_notice / self.unnotified if self.unnotified else None


@dataclass
class NoticeReport:
    weeks: list[NoticeWeek]
    recent: list[ShippingProblem]
    window_days: int
    prevented_tickets: list[ShippingProblem]

    @property
    def baseline_rate(self) -> float | None:
        unnotified = sum(week.unnotified for week in self.weeks)
        wismo = sum(week.wismo_without_notice for week in self.weeks)
        return wismo / unnotified if unnotified else None

    @property
    def notified_rate(self) -> float | None:
        notified = sum(week.notified for week in self.weeks)
        wismo = sum(week.wismo_after_notice for week in self.weeks)
        return wismo / notified if notified else None

    @property
    def estimated_prevented(self) -> int | None:
        """Where-is-my-order tickets the notices saved against the weeks without them."""
        if self.baseline_rate is None:
            return None
        notified = sum(week.notified for week in self.weeks)
        wismo = sum(week.wismo_after_notice for week in self.weeks)
        return round(notified * self.baseline_rate) - wismo


def wismo_ticket_orders(problems: list[ShippingProblem], window: timedelta) -> set[int]:
    """The problems (by id) whose order got a where-is-my-order ticket from the customer within
    `window` after the problem was found (the notice's own ticket does not count): one query."""
    if not problems:
        return set()
    order_ids = {problem.order_id for problem in problems}
    own_tickets = {problem.ticket_id for problem in problems if problem.ticket_id}
    start = min(problem.detected_at for problem in problems)
    rows = (
        MessageAnalysis.objects.filter(
            ticket__orders__in=order_ids,
            ticket__created_at__gte=start,
            primary_intent__in=WISMO_INTENTS,
        )
        .exclude(ticket_id__in=own_tickets)
        .values_list("ticket__orders", "ticket__created_at")
        .distinct()
    )
    asked: dict[int, list[datetime]] = {}
    for order_id, created_at in rows:
        asked.setdefault(order_id, []).append(created_at)
    found = set()
    for problem in problems:
        end = problem.detected_at + window
        if any(problem.detected_at <= at <= end for at in asked.get(problem.order_id, ())):
            found.add(problem.pk)
    return found


def notice_report(now: datetime | None = None, *, weeks: int = 8) -> NoticeReport:
    """Shipping problems of the last `weeks` weeks by week, with the where-is-my-order tickets
    that followed them: three queries whatever the volume shown."""
    now = now or timezone.now()
    window = timedelta(days=settings.TRACKING_WISMO_WINDOW_DAYS)
    since = now - timedelta(weeks=weeks)
    problems = list(
        ShippingProblem.objects.filter(detected_at__gte=since)
        .select_related("order", "ticket")
        .order_by("-detected_at", "-id")[:5000]
    )
    asked = wismo_ticket_orders(problems, window)
    by_week: dict = {}
    for problem in problems:
        day = problem.detected_at.date()
        start = datetime.combine(
            day - timedelta(days=day.weekday()), datetime.min.time(), tzinfo=UTC
        )
        week = by_week.setdefault(start, NoticeWeek(week_start=start))
        week.problems += 1
        if problem.notified_at:
            week.notified += 1
            week.wismo_after_notice += problem.pk in asked
        else:
            week.unnotified += 1
            week.wismo_without_notice += problem.pk in asked
    prevented = [
        problem
        for problem in problems
        if problem.notified_at and problem.pk not in asked and problem.detected_at + window <= now
    ]
    return NoticeReport(
        weeks=sorted(by_week.values(), key=lambda week: week.week_start, reverse=True),
        recent=problems[:20],
        window_days=window.days,
        prevented_tickets=prevented[:20],
    )


# --- outreach -------------------------------------------------------------------------------------

# Orders that count as bought (cancelled and unpaid ones left out), as lifetime value counts them.
BOUGHT_STATUSES = ("paid", "partially_paid", "partially_refunded", "refunded")
RESULT_WINDOW_DAYS = 14
SAMPLE_SIZE = 10
HOLIDAY_NAMES = {
    Campaign.Occasion.VALENTINES_DAY: "Valentine's Day",
    Campaign.Occasion.MOTHERS_DAY: "Mother's Day",
    Campaign.Occasion.CHRISTMAS: "Christmas Day",
}


def occasion_date(occasion: str, year: int) -> date | None:
    """The day of a US occasion in `year`, from the `holidays` package's US calendar (public
    and unofficial days); Black Friday is the day after Thanksgiving. None for occasions
    without a fixed day (no occasion, a customer's first-order anniversary)."""
    calendar = holidays.US(years=year, categories=("public", "unofficial"))
    by_name = {name: day for day, name in calendar.items()}
    if occasion == Campaign.Occasion.BLACK_FRIDAY:
        return by_name["Thanksgiving Day"] + timedelta(days=1)
    name = HOLIDAY_NAMES.get(occasion)
    return by_name.get(name) if name else None


def next_occasion_date(occasion: str, today: date) -> date | None:
    """The occasion's next day on or after `today`."""
    this_year = occasion_date(occasion, today.year)
    if this_year is None or this_year >= today:
        return this_year
    return occasion_date(occasion, today.year + 1)


def _open_problem(store_id: int) -> Q:
    """Customers with something open: a ticket, a dispute on one of their orders, a
    resolution awaiting approval. An offer to them now would read as tone-deaf."""
    open_ticket = Ticket.objects.filter(customer=OuterRef("pk"), status__in=Ticket.OPEN_STATUSES)
    open_dispute = Dispute.objects.filter(order__customer=OuterRef("pk"), closed_at__isnull=True)
    pending = Resolution.objects.filter(
        customer=OuterRef("pk"), status=Resolution.Status.PENDING_APPROVAL
    )
    return Q(Exists(open_ticket)) | Q(Exists(open_dispute)) | Q(Exists(pending))


def _suppressed(store_id: int) -> Exists:
    return Exists(MarketingSuppression.objects.filter(store_id=store_id, email=OuterRef("email")))


def _kind_condition(segment: Segment, now: datetime) -> Q:
    """The segment's own rule, on the aggregates commerce keeps on the customer row
    (`total_spent` is the lifetime value: paid orders less succeeded refunds)."""
    parameters = segment.parameters or {}
    kind = segment.kind
    if kind == Segment.Kind.VIP:
        minimum = Decimal(str(parameters.get("min_lifetime_value", vip_thresholds()[0])))
        return Q(total_spent__gte=minimum)
    if kind == Segment.Kind.LAPSED:
        days = int(parameters.get("days", 180))
        return Q(last_order_at__lt=now - timedelta(days=days))
    if kind == Segment.Kind.RECENT:
        days = int(parameters.get("days", 30))
        return Q(last_order_at__gte=now - timedelta(days=days))
    if kind == Segment.Kind.GIFT:
        since = now - timedelta(days=int(parameters.get("days", 365)))
        gift_orders = Order.objects.filter(
            customer=OuterRef("pk"),
            created_at__gte=since,
            financial_status__in=BOUGHT_STATUSES,
        ).filter(
            ~Q(note="")
            | Q(tags__icontains="gift")
            | _different_recipient("first_name")
            | _different_recipient("last_name")
        )
        return Q(Exists(gift_orders))
    return Q(orders_count__gte=1)


def _different_recipient(key: str) -> Q:
    """Shipped to someone other than the buyer (Shopify's address keys): a gift."""
    return Q(**{"shipping_address__has_key": key, "billing_address__has_key": key}) & ~Q(
        **{f"shipping_address__{key}": F(f"billing_address__{key}")}
    )


def segment_members(segment: Segment, now: datetime | None = None) -> QuerySet[Customer]:
    """The segment's customers as one query (no rows read here): its rule, an e-mail address,
    less the suppressed addresses and the customers with an open problem."""
    now = now or timezone.now()
    return (
        Customer.objects.filter(store_id=segment.store_id)
        .filter(_kind_condition(segment, now))
        .exclude(email="")
        .exclude(_suppressed(segment.store_id))
        .exclude(_open_problem(segment.store_id))
    )


def anniversary_members(
    segment: Segment, today: date, now: datetime | None = None
) -> QuerySet[Customer]:
    """The segment's customers whose first order was on this month and day of an earlier year."""
    return segment_members(segment, now).filter(
        first_order_at__month=today.month,
        first_order_at__day=today.day,
        first_order_at__year__lt=today.year,
    )


def campaign_audience(
    campaign: Campaign, today: date | None = None, *, now: datetime | None = None
) -> QuerySet[Customer]:
    """Who the campaign would be queued to now (an anniversary campaign: today's)."""
    if campaign.is_recurring:
        return anniversary_members(campaign.segment, today or timezone.localdate(), now)
    return segment_members(campaign.segment, now)


@dataclass(frozen=True)
class Preview:
    count: int
    control: int
    sample: list[Customer]


def audience_preview(members: QuerySet[Customer], control_percent: int = 0) -> Preview:
    """The exact count, the expected control share and a sample (two queries)."""
    count = members.count()
    sample = list(
        members.only(
            "pk", "email", "first_name", "last_name", "total_spent", "last_order_at"
        ).order_by("-total_spent", "pk")[:SAMPLE_SIZE]
    )
    return Preview(count=count, control=count * control_percent // 100, sample=sample)


def last_order_id() -> Subquery:
    """The customer's newest bought order (the coupon is created against it)."""
    return Subquery(
        Order.objects.filter(customer=OuterRef("pk"), financial_status__in=BOUGHT_STATUSES)
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )


def segments_for_list(store: Store) -> QuerySet[Segment]:
    return Segment.objects.filter(store=store).order_by("name", "pk")


def campaigns_for_list(store: Store) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(store=store)
        .select_related("segment")
        .order_by("-created_at", "-pk")
    )


def campaign_for_page(store: Store, pk: int) -> Campaign:
    return Campaign.objects.select_related("segment", "created_by").get(store=store, pk=pk)


@dataclass(frozen=True)
class CampaignResults:
    """What a campaign did: messages, their fate, and orders placed within 14 days of the
    send by recipients against the held-out control group."""

    recipients: int
    control: int
    queued: int
    sent: int
    failed: int
    skipped: int
    delivered: int
    bounced: int
    unsubscribed: int
    buyers: int
    control_buyers: int
    orders: int
    control_orders: int
    revenue: Decimal
    window_days: int = RESULT_WINDOW_DAYS

    @property
    def treated(self) -> int:
        return self.sent + self.failed

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.treated if self.treated else None

    @property
    def control_conversion(self) -> float | None:
        return self.control_buyers / self.control if self.control else None

    @property
    def uplift(self) -> float | None:
        """Percentage points of conversion the e-mail added over the control group."""
        if self.conversion is None or self.control_conversion is None:
            return None
        return self.conversion - self.control_conversion


def campaign_results(campaign: Campaign) -> CampaignResults:
    """Counted in three queries: the recipients by status and fate, their orders placed
    within the window after the campaign went out (the control's window starts then too), and
    the recipients' revenue."""
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        recipients=Count("pk"),
        control=Count("pk", filter=Q(status=CampaignRecipient.Status.CONTROL)),
        queued=Count("pk", filter=Q(status=CampaignRecipient.Status.QUEUED)),
        sent=Count("pk", filter=Q(status=CampaignRecipient.Status.SENT)),
        failed=Count("pk", filter=Q(status=CampaignRecipient.Status.FAILED)),
        skipped=Count("pk", filter=Q(status=CampaignRecipient.Status.SKIPPED)),
        delivered=Count("pk", filter=Q(delivery=CampaignRecipient.Delivery.DELIVERED)),
        bounced=Count("pk", filter=Q(delivery=CampaignRecipient.Delivery.BOUNCED)),
        unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
    )
    start = campaign.queued_at
    orders = {"buyers": 0, "control_buyers": 0, "orders": 0, "control_orders": 0}
    revenue = Decimal(0)
    if start is not None:
        end = start + timedelta(days=RESULT_WINDOW_DAYS)
        window = Q(
            customer__orders__created_at__gte=start,
            customer__orders__created_at__lt=end,
            customer__orders__financial_status__in=BOUGHT_STATUSES,
        )
        treated = Q(status__in=(CampaignRecipient.Status.SENT, CampaignRecipient.Status.FAILED))
        control = Q(status=CampaignRecipient.Status.CONTROL)
        row = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
            buyers=Count("customer", filter=window & treated, distinct=True),
            control_buyers=Count("customer", filter=window & control, distinct=True),
            orders=Count("customer__orders", filter=window & treated),
            control_orders=Count("customer__orders", filter=window & control),
        )
        orders = {key: value or 0 for key, value in row.items()}
        revenue = Order.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            financial_status__in=BOUGHT_STATUSES,
            customer__in=CampaignRecipient.objects.filter(
                campaign=campaign, status=CampaignRecipient.Status.SENT
            ).values("customer_id"),
        ).aggregate(total=Sum("total_price"))["total"] or Decimal(0)
    return CampaignResults(**counts, **orders, revenue=revenue)


def recipients_for_list(campaign: Campaign, status: str = "") -> QuerySet[CampaignRecipient]:
    rows = CampaignRecipient.objects.filter(campaign=campaign)
    if status in CampaignRecipient.Status.values:
        rows = rows.filter(status=status)
    return rows.order_by("pk")


def recipient_for_token(recipient_id: int) -> CampaignRecipient | None:
    return (
        CampaignRecipient.objects.select_related("campaign", "campaign__store")
        .filter(pk=recipient_id)
        .first()
    )


def is_suppressed(store_id: int, email: str) -> bool:
    return MarketingSuppression.objects.filter(store_id=store_id, email=email.lower()).exists()


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
