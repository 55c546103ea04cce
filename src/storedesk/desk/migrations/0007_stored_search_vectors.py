"""PostgreSQL keeps each ticket's and message's tsvector in a stored generated column.

With only an expression index, every row the search reads (to filter, count or rank it) had
its tsvector computed again from its text: a common word cost seconds at 300,000 messages.
The stored column is computed once per write by PostgreSQL itself, so nothing in the code has
to keep it in step, and the GIN indexes keep their names. SQLite's FTS5 tables are unchanged.

A later migration that changes the type of a column used here (subject, text, requester name
or email) must drop and re-add the generated column around that change.
"""

from django.db import migrations

TICKET_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(subject, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig,"
    " coalesce(requester_name, '') || ' ' || coalesce(requester_email, '')), 'B')"
)
MESSAGE_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(subject, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(text, '')), 'B')"
)

FORWARD = [
    "DROP INDEX IF EXISTS desk_ticket_fts_idx",
    f"ALTER TABLE desk_ticket ADD COLUMN search_vector tsvector"
    f" GENERATED ALWAYS AS ({TICKET_VECTOR}) STORED",
    "CREATE INDEX desk_ticket_fts_idx ON desk_ticket USING gin (search_vector)",
    "DROP INDEX IF EXISTS desk_message_fts_idx",
    f"ALTER TABLE desk_message ADD COLUMN search_vector tsvector"
    f" GENERATED ALWAYS AS ({MESSAGE_VECTOR}) STORED",
    "CREATE INDEX desk_message_fts_idx ON desk_message USING gin (search_vector)",
]
BACKWARD = [
    "ALTER TABLE desk_ticket DROP COLUMN search_vector",
    f"CREATE INDEX desk_ticket_fts_idx ON desk_ticket USING gin (({TICKET_VECTOR}))",
    "ALTER TABLE desk_message DROP COLUMN search_vector",
    f"CREATE INDEX desk_message_fts_idx ON desk_message USING gin (({MESSAGE_VECTOR}))",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("desk", "0006_ticket_created_index")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
