"""The open-ticket views name their statuses as SQL constants, so SQLite reads the first page
from the partial indexes instead of scanning the history (a bound IN list hides them)."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storedesk.desk import queries
from storedesk.desk.models import Ticket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def test_the_open_status_list_is_written_as_constants():
    sql, params = Ticket.objects.filter(
        status__in_constants=["new", "open"]
    ).query.sql_with_params()
    assert "IN ('new', 'open')" in sql
    assert params == ()


@pytest.mark.parametrize("bad", [["open'; DROP TABLE desk_ticket; --"], ["Open"], [], [1]])
def test_anything_but_plain_names_is_refused(bad):
    with pytest.raises(ValueError, match="in_constants"):
        str(Ticket.objects.filter(status__in_constants=bad).query)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
@pytest.mark.parametrize(("view", "index"), [("mine", "ticket_open_assignee_idx")])
def test_the_open_views_read_their_partial_index(view, index):
    """(Which index 'all open' takes depends on the table's statistics: bench/desk_scale.py
    shows it at a million tickets.)"""
    agent = UserFactory()
    views = {v.key: v for v in queries.builtin_views(agent, now=timezone.now())}
    queryset = (
        queries.not_merged(Ticket.objects.filter(views[view].condition))
        .order_by(F("last_message_at").desc(nulls_last=True), "-pk")  # as ticket_page
        .values("pk")[:51]
    )
    assert index in _plan(queryset)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_the_view_counts_read_the_live_counts_index_alone():
    agent = UserFactory()
    now = timezone.now()
    views = queries.builtin_views(agent, now=now)
    with CaptureQueriesContext(connection) as captured:
        queries.count_views(views, now)
    (counting,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {counting['sql']}")
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH desk_ticket USING COVERING INDEX ticket_live_counts_idx" in plan
