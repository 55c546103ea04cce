from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from storedesk.core.bulk import bulk_insert
from storedesk.core.models import DomainEvent

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
