"""Back up and restore the desk's database.

On SQLite the copy goes through SQLite's online backup API (`sqlite3.Connection.backup`), which
reads a consistent snapshot while the desk keeps running and writing (WAL readers never block
writers). On PostgreSQL the right tool is `pg_dump`/`pg_restore`; `pg_dump_command` builds it.
"""

import shlex
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, connections
from django.utils import timezone


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    tables: int


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def _raw_sqlite_connection() -> sqlite3.Connection:
    connection.ensure_connection()
    return connection.connection


def backup_database(path: str | Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the live SQLite database to `path`, checked with `PRAGMA integrity_check`."""
    if not is_sqlite():
        raise BackupError(
            "This desk runs on PostgreSQL: back it up with pg_dump, e.g.\n  "
            + " ".join(pg_dump_command(str(path)))
        )
    target = Path(path)
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; pass --overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    destination = sqlite3.connect(partial)
    try:
        _raw_sqlite_connection().backup(destination)
        tables = _check(destination, partial)
    finally:
        destination.close()
    partial.replace(target)  # the backup appears whole or not at all
    return BackupResult(target, target.stat().st_size, tables)


def restore_database(path: str | Path, *, keep_current: bool = True) -> Path | None:
    """Replace the live SQLite database's content with the backup at `path`.

    Stop the web, worker and scheduler processes first: they would keep writing into what is
    being replaced. The current database is first saved beside itself (unless `keep_current`
    is False) and that copy's path returned, so a wrong restore can be undone.
    """
    if not is_sqlite():
        raise BackupError(
            "This desk runs on PostgreSQL: restore with pg_restore, e.g.\n  "
            'pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" '
            + shlex.quote(str(path))
        )
    source_path = Path(path)
    if not source_path.is_file():
        raise BackupError(f"no backup at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        try:
            _check(source, source_path)
            has_migrations = source.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='django_migrations'"
            ).fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source_path} is not a SQLite database: {error}") from None
        if not has_migrations:
            raise BackupError(f"{source_path} is not a Storedesk database (no django_migrations)")
        saved = None
        name = str(connection.settings_dict["NAME"])
        if keep_current and name != ":memory:" and "mode=memory" not in name:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
            saved = Path(name).with_name(f"{Path(name).name}.before-restore-{stamp}")
            backup_database(saved)
        source.backup(_raw_sqlite_connection())
    finally:
        source.close()
    for other in connections.all():
        other.close()  # nobody keeps cached state of the replaced database
    return saved


def _check(database: sqlite3.Connection, path: Path) -> int:
    verdict = database.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")
    return database.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]


def pg_dump_command(path: str) -> list[str]:
    """pg_dump in its custom format (compressed, restorable table by table with pg_restore)."""
    return ["pg_dump", "--format=custom", f"--file={shlex.quote(path)}", '"$DATABASE_URL"']


def pg_dump_available() -> bool:
    return shutil.which("pg_dump") is not None
