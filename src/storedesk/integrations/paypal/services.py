"""PayPal backfill: the disputes PayPal holds for the account, paged, into the disputes app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from storedesk.disputes.services import do_ingest_disputes
from storedesk.integrations.connections.credentials import credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_mark_broken, do_mark_synced
from storedesk.integrations.paypal import mappers
from storedesk.integrations.paypal.client import PayPalAuthError, PayPalClient

ACTOR = "paypal-backfill"


def base_url_for(config) -> str:
    """The connection's own API base URL, else PAYPAL_API_BASE_URL, else its environment's
    (live unless the connection says sandbox)."""
    return (
        config.get("api_base_url")
        or settings.PAYPAL_API_BASE_URL
        or (
            settings.PAYPAL_SANDBOX_URL
            if config.get("environment") == "sandbox"
            else settings.PAYPAL_LIVE_URL
        )
    )


def client_for(connection: Connection, **kwargs) -> PayPalClient:
    credentials = credentials_of(connection)
    base = base_url_for(credentials.config)
    return PayPalClient(
        base,
        credentials.config["client_id"],
        credentials.secrets["client_secret"],
        **kwargs,
    )


@dataclass
class DisputeBackfill:
    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def do_backfill_disputes(
    connection: Connection,
    *,
    updated_after: datetime | None = None,
    client: PayPalClient | None = None,
) -> DisputeBackfill:
    """List every dispute (PayPal keeps 180 days), fetch each one's details (the list is a
    summary without the disputed transaction) and ingest them; known ones are updated.

    A revoked client secret (401) marks the connection broken: the team is told and nothing is
    retried until it is connected again."""
    client = client or client_for(connection)
    result = DisputeBackfill()
    batch = []
    try:
        for summary in client.list_disputes(updated_after=updated_after):
            result.listed += 1
            detail = client.get_dispute(summary["dispute_id"])
            try:
                batch.append(mappers.dispute_in(detail))
            except mappers.MappingError as error:
                result.refused.append(f"{summary.get('dispute_id')}: {error}")
    except PayPalAuthError as error:
        do_mark_broken(connection, f"PayPal refused the credentials: {error}", actor=ACTOR)
        raise
    ingested = do_ingest_disputes(batch, actor=ACTOR)
    result.created, result.updated = ingested.created, ingested.updated
    result.unchanged, result.unmatched = ingested.unchanged, ingested.unmatched
    result.refused.extend(f"{provider_id}: {code}" for provider_id, code in ingested.rejected)
    do_mark_synced(connection)
    return result
