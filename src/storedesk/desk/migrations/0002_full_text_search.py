"""Full-text indexes for desk search, one per database vendor (see storedesk.desk.search).

SQLite: FTS5 external-content tables over tickets and messages, kept in step by triggers, so a
new or edited message is searchable in the same transaction. The porter tokenizer stems
English ("shipped" finds "shipping"); remove_diacritics folds accents.

PostgreSQL: GIN indexes on the same tsvector expressions the search queries use (`english`
configuration, so stemming matches SQLite's), with nothing to keep in sync.

Other vendors get no index; search then tells the caller it is unavailable.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE desk_ticket_fts USING fts5(
        subject, requester_name, requester_email,
        content='desk_ticket', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER desk_ticket_fts_insert AFTER INSERT ON desk_ticket BEGIN
        INSERT INTO desk_ticket_fts(rowid, subject, requester_name, requester_email)
        VALUES (new.id, new.subject, new.requester_name, new.requester_email);
    END
    """,
    """
    CREATE TRIGGER desk_ticket_fts_delete AFTER DELETE ON desk_ticket BEGIN
        INSERT INTO desk_ticket_fts(desk_ticket_fts, rowid, subject, requester_name,
                                    requester_email)
        VALUES ('delete', old.id, old.subject, old.requester_name, old.requester_email);
    END
    """,
    """
    CREATE TRIGGER desk_ticket_fts_update
    AFTER UPDATE OF subject, requester_name, requester_email ON desk_ticket BEGIN
        INSERT INTO desk_ticket_fts(desk_ticket_fts, rowid, subject, requester_name,
                                    requester_email)
        VALUES ('delete', old.id, old.subject, old.requester_name, old.requester_email);
        INSERT INTO desk_ticket_fts(rowid, subject, requester_name, requester_email)
        VALUES (new.id, new.subject, new.requester_name, new.requester_email);
    END
    """,
    """
    CREATE VIRTUAL TABLE desk_message_fts USING fts5(
        subject, text,
        content='desk_message', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER desk_message_fts_insert AFTER INSERT ON desk_message BEGIN
        INSERT INTO desk_message_fts(rowid, subject, text) VALUES (new.id, new.subject, new.text);
    END
    """,
    """
    CREATE TRIGGER desk_message_fts_delete AFTER DELETE ON desk_message BEGIN
        INSERT INTO desk_message_fts(desk_message_fts, rowid, subject, text)
        VALUES ('delete', old.id, old.subject, old.text);
    END
    """,
    """
    CREATE TRIGGER desk_message_fts_update AFTER UPDATE OF subject, text ON desk_message BEGIN
        INSERT INTO desk_message_fts(desk_message_fts, rowid, subject, text)
        VALUES ('delete', old.id, old.subject, old.text);
        INSERT INTO desk_message_fts(rowid, subject, text) VALUES (new.id, new.subject, new.text);
    END
    """,
    # Rows written before this migration (an upgrade) enter the index too.
    "INSERT INTO desk_ticket_fts(desk_ticket_fts) VALUES ('rebuild')",
    "INSERT INTO desk_message_fts(desk_message_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS desk_ticket_fts_insert",
    "DROP TRIGGER IF EXISTS desk_ticket_fts_delete",
    "DROP TRIGGER IF EXISTS desk_ticket_fts_update",
    "DROP TABLE IF EXISTS desk_ticket_fts",
    "DROP TRIGGER IF EXISTS desk_message_fts_insert",
    "DROP TRIGGER IF EXISTS desk_message_fts_delete",
    "DROP TRIGGER IF EXISTS desk_message_fts_update",
    "DROP TABLE IF EXISTS desk_message_fts",
]

# Keep these expressions identical to storedesk.desk.search.PG_*_VECTOR, or the index is unused.
POSTGRES_FORWARD = [
    """
    CREATE INDEX IF NOT EXISTS desk_ticket_fts_idx ON desk_ticket USING gin (
        (setweight(to_tsvector('english'::regconfig, coalesce(subject, '')), 'A')
         || setweight(to_tsvector('english'::regconfig,
                      coalesce(requester_name, '') || ' ' || coalesce(requester_email, '')), 'B'))
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS desk_message_fts_idx ON desk_message USING gin (
        (setweight(to_tsvector('english'::regconfig, coalesce(subject, '')), 'A')
         || setweight(to_tsvector('english'::regconfig, coalesce(text, '')), 'B'))
    )
    """,
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS desk_ticket_fts_idx",
    "DROP INDEX IF EXISTS desk_message_fts_idx",
]


def forward(apps, schema_editor):
    _run(schema_editor, SQLITE_FORWARD, POSTGRES_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, SQLITE_BACKWARD, POSTGRES_BACKWARD)


def _run(schema_editor, sqlite: list[str], postgres: list[str]) -> None:
    statements = {"sqlite": sqlite, "postgresql": postgres}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
