"""`status__in_constants`: an IN list written into the SQL as constants, not bound.

SQLite uses a partial index only when the query's WHERE clause visibly implies the index's
condition, and a bound `status IN (?, ?, ?, ?)` proves nothing at prepare time: the open-ticket
views then scan a million rows through another index instead of reading the first page of
`ticket_open_recent_idx`. The values are our own status names, checked against a strict
pattern before they are written in; anything else is refused, never quoted.
"""

from __future__ import annotations

import re

from django.db.models import Lookup

_CONSTANT = re.compile(r"[a-z][a-z0-9_]{0,31}")


class InConstants(Lookup):
    lookup_name = "in_constants"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        values = list(self.rhs)
        if not values or not all(
            isinstance(value, str) and _CONSTANT.fullmatch(value) for value in values
        ):
            raise ValueError(f"in_constants takes short lower-case names, not {values!r}")
        lhs, params = self.process_lhs(compiler, connection)
        constants = ", ".join(f"'{value}'" for value in values)
        return f"{lhs} IN ({constants})", params
