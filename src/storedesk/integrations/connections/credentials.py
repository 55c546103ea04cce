"""What an adapter asks for to talk to a system: `credentials_for(store, system)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def connection_by_lookup(system: str, value: str) -> Connection | None:
    """The connection a webhook's sender names (Shopify's X-Shopify-Shop-Domain …)."""
    from storedesk.integrations.connections.services import normalise_lookup

    key = normalise_lookup(system, value)
    if not key:
        return None
    return Connection.objects.filter(system=system, lookup_key=key).first()
