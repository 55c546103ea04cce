from contextlib import nullcontext
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from storedesk.core.bulk import bulk_insert
from storedesk.core.models import DomainEvent, NamedSequence

pytestmark = pytest.mark.django_db


def test_bulk_rows_read_back_like_rows_the_orm_wrote():
    moments = [
        datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 30, 0, 250, tzinfo=UTC),
        datetime(2026, 3, 1, 16, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")),
        datetime(2026, 1, 15, 9, 30, tzinfo=ZoneInfo("Europe/London")),
    ]
    bulk_insert(
        DomainEvent,
        [
            {
                "name": f"bulk-{index}",
                "payload": {"n": index},
                "correlation_id": "",
                "last_error": "",
                "created_at": moment,
            }
            for index, moment in enumerate(moments)
        ],
    )
    for index in range(len(moments)):
        DomainEvent.objects.create(name=f"orm-{index}", payload={"n": index})
    for index, moment in enumerate(moments):
        DomainEvent.objects.filter(name=f"orm-{index}").update(created_at=moment)

    bulk = list(
        DomainEvent.objects.filter(name__startswith="bulk-")
        .order_by("name")
        .values_list("created_at", "payload")
    )
    orm = list(
        DomainEvent.objects.filter(name__startswith="orm-")
        .order_by("name")
        .values_list("created_at", "payload")
    )
    assert bulk == orm
    assert [created for created, _ in bulk] == moments


def test_more_rows_than_one_statement_holds_all_arrive_in_order():
    count = 2_500  # over the rows of one statement (ROWS_PER_STATEMENT)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    inserted = bulk_insert(
        DomainEvent,
        [
            {"name": f"e{n:05}", "correlation_id": "", "last_error": "", "created_at": at}
            for n in range(count)
        ],
    )

    names = list(DomainEvent.objects.order_by("pk").values_list("name", flat=True))
    assert inserted == count
    assert names == [f"e{n:05}" for n in range(count)]


@pytest.mark.parametrize("logged", [False, True], ids=["driver", "django-cursor"])
def test_a_broken_row_raises_djangos_error_and_rolls_the_statement_back(logged):
    """Both ways of running the statement (straight on the driver, or through Django's cursor
    when queries are logged) translate the driver's error into Django's."""
    NamedSequence.objects.create(name="tickets", value=7)
    rows = [{"name": "orders", "value": 1}, {"name": "tickets", "value": 2}]

    capture = CaptureQueriesContext(connection) if logged else nullcontext()

    with capture, pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(NamedSequence, rows)

    assert dict(NamedSequence.objects.values_list("name", "value")) == {"tickets": 7}
    if logged:
        assert any("INSERT" in query["sql"] for query in capture.captured_queries)


def test_rows_missing_a_column_take_its_default():
    bulk_insert(NamedSequence, [{"name": "with-value", "value": 5}, {"name": "without-value"}])

    assert dict(NamedSequence.objects.values_list("name", "value")) == {
        "with-value": 5,
        "without-value": NamedSequence._meta.get_field("value").get_default(),
    }


def test_json_columns_read_back_as_the_values_written():
    payloads = [
        {"text": 'Đồng hồ \u2014 "quoted" <b>', "n": 2**70, "pi": 0.1 + 0.2, "none": None},
        {"nested": [{"a": [1, 2.5, True]}], "7": "seven"},
        [],
    ]
    bulk_insert(
        DomainEvent,
        [
            {
                "name": f"j{n}",
                "payload": payload,
                "correlation_id": "",
                "last_error": "",
                "created_at": datetime(2026, 3, 1, tzinfo=UTC),
            }
            for n, payload in enumerate(payloads)
        ],
    )

    stored = list(DomainEvent.objects.order_by("name").values_list("payload", flat=True))
    assert stored == payloads


def test_a_text_column_left_out_is_stored_empty_not_null():
    bulk_insert(DomainEvent, [{"name": "no-text", "created_at": datetime(2026, 3, 1, tzinfo=UTC)}])

    assert DomainEvent.objects.values_list("correlation_id", "last_error").get() == ("", "")
