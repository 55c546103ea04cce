"""Keyset ("cursor") pagination for API lists, reusable by every app.

Offsets get slower with every page and skip or repeat rows when new ones arrive; a keyset over a
unique ordering (e.g. created_at, id) reads one index range per page and stays stable under
inserts. The cursor is the last row's key, signed (so a tampered cursor is refused, not
misread) and base64url-encoded (so callers treat it as opaque).
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.core import signing
from django.db import models
from django.db.models import Q, QuerySet
from ninja import Schema
from pydantic import Field

from storedesk.core.api import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(Schema):
    """The query parameters of every paginated list; endpoint filters inherit from it."""

    cursor: str | None = Field(
        None,
        max_length=512,
        description="The `next_cursor` of the previous page; leave out for the first page.",
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")


@dataclass(frozen=True, slots=True)
class Keyset:
    """A unique ordering to page over; `scope` ties cursors to one list so they can't be mixed."""

    scope: str
    fields: tuple[str, ...] = ("created_at", "id")
    descending: bool = True

    def order_by(self) -> list[str]:
        prefix = "-" if self.descending else ""
        return [prefix + name for name in self.fields]


def paginate(queryset: QuerySet, keyset: Keyset, page: PageQuery) -> dict[str, Any]:
    """One page of `queryset` after `page.cursor`, plus the cursor of the page that follows."""
    queryset = queryset.order_by(*keyset.order_by())
    if page.cursor:
        queryset = queryset.filter(
            _after(keyset, decode_cursor(queryset.model, keyset, page.cursor))
        )
    rows = list(queryset[: page.limit + 1])
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(keyset, rows[-1]) if has_more else None
    return {"items": rows, "next_cursor": next_cursor}


def _after(keyset: Keyset, values: list[Any]) -> Q:
    """Rows strictly after the key, in the keyset's order: (a < x) or (a = x and b < y) …"""
    lookup = "lt" if keyset.descending else "gt"
    branches = []
    for position, name in enumerate(keyset.fields):
        equal = {field: values[i] for i, field in enumerate(keyset.fields[:position])}
        branches.append(Q(**equal, **{f"{name}__{lookup}": values[position]}))
    return reduce(or_, branches)


def _signer(keyset: Keyset) -> signing.Signer:
    return signing.Signer(salt=f"storedesk.api.cursor.{keyset.scope}")


def encode_cursor(keyset: Keyset, row: models.Model) -> str:
    values = [_to_json(getattr(row, name)) for name in keyset.fields]
    signed = _signer(keyset).sign(json.dumps(values, separators=(",", ":")))
    return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def decode_cursor(model: type[models.Model], keyset: Keyset, cursor: str) -> list[Any]:
    """The key a cursor stands for; anything not minted by us for this list is a 400."""
    try:
        signed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        values = json.loads(_signer(keyset).unsign(signed))
        if not isinstance(values, list) or len(values) != len(keyset.fields):
            raise ValueError("wrong shape")
        return [
            _from_json(model._meta.get_field(name), value)
            for name, value in zip(keyset.fields, values, strict=True)
        ]
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error, signing.BadSignature):
        raise ApiError(
            400,
            "invalid_cursor",
            "The cursor is not valid for this list; start again without it.",
            {"field": "cursor"},
        ) from None


def _to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, datetime) else value


def _from_json(field: models.Field, value: Any) -> Any:
    if isinstance(field, models.DateTimeField):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive datetime in cursor")
        return parsed
    if isinstance(field, models.IntegerField | models.AutoField):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("integer key expected")
        return value
    if not isinstance(value, str):
        raise TypeError("string key expected")
    return value
