"""`storedesk backup` / `storedesk restore`: a round trip through a file loses nothing."""

import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from storedesk.commerce.models import Order, Store
from storedesk.commerce.services import do_create_store, do_ingest_orders
from tests.commerce.builders import order_in

pytestmark = pytest.mark.django_db(transaction=True)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's online backup API; PostgreSQL uses pg_dump"
)


def every_table_content() -> dict[str, list[tuple]]:
    """Each table's rows in a stable order: what "loses nothing" compares."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
        tables = [row[0] for row in cursor.fetchall()]
        content = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')  # noqa: S608 - our own names
            content[table] = cursor.fetchall()
    return content


@sqlite_only
def test_backup_then_restore_brings_back_every_row(tmp_path):
    store = do_create_store(name="Tiny Pearl", slug="tiny-pearl")
    do_ingest_orders(store, [order_in(n) for n in range(25)])
    before = every_table_content()
    assert len(before["commerce_order"]) == 25
    out = io.StringIO()

    call_command("backup", str(tmp_path / "desk.sqlite3"), stdout=out)
    # Life goes on after the backup: orders deleted, another store added.
    Order.objects.filter(number__endswith="1").delete()
    do_create_store(name="Other", slug="other")
    assert every_table_content() != before
    call_command("restore", str(tmp_path / "desk.sqlite3"), "--no-input", stdout=io.StringIO())

    assert "integrity ok" in out.getvalue()
    assert every_table_content() == before
    assert list(Store.objects.values_list("slug", flat=True)) == ["tiny-pearl"]


@sqlite_only
def test_backup_refuses_to_overwrite_and_restore_refuses_a_foreign_file(tmp_path):
    target = tmp_path / "desk.sqlite3"
    target.write_bytes(b"something else")
    with pytest.raises(CommandError, match="exists; pass --overwrite"):
        call_command("backup", str(target))
    with pytest.raises(CommandError, match="not a SQLite database"):
        call_command("restore", str(target), "--no-input")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as database:
        database.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(CommandError, match="not a Storedesk database"):
        call_command("restore", str(other), "--no-input")
    assert connection.introspection.table_names()  # the live database is still whole


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL guidance")
def test_on_postgresql_backup_says_how_to_use_pg_dump(tmp_path):
    out = io.StringIO()
    call_command("backup", str(tmp_path / "desk.dump"), stdout=out)
    assert "pg_dump --format=custom" in out.getvalue()
    assert not (tmp_path / "desk.dump").exists()
    with pytest.raises(CommandError, match="pg_restore --clean"):
        call_command("restore", str(tmp_path / "desk.dump"), "--no-input")
