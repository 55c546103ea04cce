"""Reads of the connection pages and API: each a fixed number of queries, whatever the size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery

from storedesk.integrations.connections.models import Connection, InboundDelivery

Status = InboundDelivery.Status


def connections() -> QuerySet[Connection]:
    """Every connection with its store and when its last delivery came (one query)."""
    last = (
        InboundDelivery.objects.filter(connection=OuterRef("pk"))
        .order_by("-received_at")
        .values("received_at")[:1]
    )
    return (
        Connection.objects.select_related("store")
        .annotate(last_received_at=Subquery(last))
        .order_by("store__name", "system")
    )


@dataclass(frozen=True)
class TopicHealth:
    topic: str
    received: int
    applied: int
    ignored: int
    parked: int
    failed: int
    pending: int
    last_received_at: datetime | None
    last_occurred_at: datetime | None
    oldest_waiting_at: datetime | None

    @property
    def lag(self) -> timedelta | None:
        """How far behind the source the last event reached us."""
        if self.last_received_at and self.last_occurred_at:
            return max(self.last_received_at - self.last_occurred_at, timedelta(0))
        return None

    @property
    def only_ignored(self) -> bool:
        return self.ignored == self.received


def topic_health(connection: Connection) -> list[TopicHealth]:
    """Per topic: counts by status, the last event and its lag, the oldest waiting (one
    query over the (connection, topic, received_at) index)."""
    waiting = Q(status__in=[Status.RECEIVED, Status.PARKED, Status.FAILED])
    rows = (
        InboundDelivery.objects.filter(connection=connection)
        .values("topic")
        .annotate(
            received=Count("pk"),
            applied=Count("pk", filter=Q(status=Status.APPLIED)),
            ignored=Count("pk", filter=Q(status=Status.IGNORED)),
            parked=Count("pk", filter=Q(status=Status.PARKED)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            pending=Count("pk", filter=Q(status=Status.RECEIVED)),
            last_received_at=Max("received_at"),
            last_occurred_at=Max("occurred_at"),
            oldest_waiting_at=Min("received_at", filter=waiting),
        )
        .order_by("topic")
    )
    return [TopicHealth(**row) for row in rows]


def problems(connection: Connection) -> QuerySet[InboundDelivery]:
    """Failed and parked deliveries, newest first, without their bodies (paginate it)."""
    return (
        InboundDelivery.objects.filter(
            connection=connection, status__in=[Status.FAILED, Status.PARKED]
        )
        .defer("body")
        .order_by("-received_at", "-pk")
    )
