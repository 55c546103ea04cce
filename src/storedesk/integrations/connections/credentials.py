"""What an adapter asks for to talk to a system: `credentials_for(store, system)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection as db_connection

from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.secrets import SecretValues, decrypt_secrets


class NotConnected(Exception):
    """The store has no active connection to that system (none, broken or disconnected)."""


@dataclass(frozen=True)
class Credentials:
    connection_id: int
    store_id: int
    system: str
    config: dict[str, Any]
    secrets: SecretValues  # its repr hides the values

    def __repr__(self) -> str:
        return (
            f"Credentials(connection_id={self.connection_id}, system={self.system!r}, "
            f"config={self.config!r}, secrets={self.secrets!r})"
        )


def credentials_for(store, system: str) -> Credentials:
    """The settings and decrypted secrets of the store's active connection to `system`;
    NotConnected (with why) otherwise."""
    store_id = getattr(store, "pk", store)
    connection = Connection.objects.filter(store_id=store_id, system=system).first()
    if connection is None:
        raise NotConnected(f"store {store_id} is not connected to {system}")
    if connection.status != Connection.Status.ACTIVE:
        reason = f": {connection.broken_reason}" if connection.broken_reason else ""
        raise NotConnected(f"the {system} connection is {connection.status}{reason}")
    return credentials_of(connection)


def credentials_of(connection: Connection) -> Credentials:
    return Credentials(
        connection_id=connection.pk,
        store_id=connection.store_id,
        system=connection.system,
        config=dict(connection.config),
        secrets=decrypt_secrets(connection.secrets_token),
    )


_LOOKUP_FIELDS = ("id", "store_id", "system", "status", "lookup_key", "secrets_token")


def connection_by_lookup(system: str, value: str) -> Connection | None:
    """The connection a webhook's sender names (Shopify's X-Shopify-Shop-Domain …), with the
    fields a webhook endpoint needs (the rest load on first use).

    Every delivery asks this, up to a thousand times a second: one prepared statement over
    the unique (system, lookup_key) index, not a query built by the ORM each time."""
    from storedesk.integrations.connections.services import normalise_lookup

    key = normalise_lookup(system, value)
    if not key:
        return None
    quote = db_connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(quote(name) for name in _LOOKUP_FIELDS)} "  # noqa: S608 - our names
        f"FROM {quote(Connection._meta.db_table)} "
        f"WHERE {quote('system')} = %s AND {quote('lookup_key')} = %s"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [system, key])
        row = cursor.fetchone()
    if row is None:
        return None
    return Connection.from_db(db_connection.alias, list(_LOOKUP_FIELDS), list(row))
