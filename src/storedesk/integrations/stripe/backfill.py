"""Stripe backfill: the account's charges and disputes, listed with the official SDK's
auto-pagination (`StripeClient.v1.charges.list(...).auto_paging_iter()`), applied through the
same functions as their webhook events (`events.apply_charge`, `apply_charge_refunds`,
`apply_dispute`).

Resumable: every `CHECKPOINT_EVERY` objects the last id applied is saved in the connection's
`sync_state` (`stripe_charges_after`, `stripe_disputes_after`); a run that crashed continues
after it (`starting_after`), and a finished list clears its mark. A revoked key (401) marks
the connection broken; an outage raises, for the task to run again later. The SDK retries
429s and 5xx with backoff (`max_network_retries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import stripe
from django.conf import settings

from storedesk.integrations.connections.credentials import credentials_of
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import (
    do_mark_broken,
    do_mark_synced,
    do_save_sync_state,
)
from storedesk.integrations.stripe.events import (
    EventNotApplied,
    UnknownCharge,
    apply_charge,
    apply_charge_refunds,
    apply_dispute,
)

ACTOR = "stripe-backfill"
PAGE_SIZE = 100
CHECKPOINT_EVERY = 100


@dataclass
class StripeBackfill:
    charges: int = 0
    disputes: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)  # objects for orders not stored yet
    refused: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def client_for(connection: Connection) -> stripe.StripeClient:
    credentials = credentials_of(connection)
    return stripe.StripeClient(
        credentials.secrets["api_key"],
        base_addresses={"api": credentials.config.get("api_base_url") or settings.STRIPE_API_BASE},
        max_network_retries=3,
        http_client=stripe.RequestsClient(timeout=settings.GATEWAY_TIMEOUT_SECONDS),
    )


def _listed(listing, params: dict) -> Iterator[dict]:
    for stripe_object in listing(params=params).auto_paging_iter():
        yield stripe_object.to_dict()


def do_backfill(
    connection: Connection,
    *,
    since: datetime | None = None,
    client: stripe.StripeClient | None = None,
) -> StripeBackfill:
    """List the charges, then the disputes (created since `since`, else all), and apply each."""
    client = client or client_for(connection)
    result = StripeBackfill()
    try:
        _run(connection, "charges", client.v1.charges.list, since, result, _apply_charge)
        _run(connection, "disputes", client.v1.disputes.list, since, result, _apply_dispute)
    except stripe.AuthenticationError as error:
        do_mark_broken(connection, f"Stripe refused the API key: {error}", actor=ACTOR)
        raise
    do_mark_synced(connection)
    return result


def _apply_charge(charge: dict, result: StripeBackfill) -> str:
    result.charges += 1
    outcome = apply_charge(charge, ACTOR)
    if int(charge.get("amount_refunded") or 0) > 0:
        refunded = apply_charge_refunds(charge, ACTOR)
        if refunded == "recorded":
            result.count("refund_recorded")
    return outcome


def _apply_dispute(dispute: dict, result: StripeBackfill) -> str:
    result.disputes += 1
    return apply_dispute(dispute, ACTOR)


def _run(
    connection: Connection,
    kind: str,
    listing,
    since: datetime | None,
    result: StripeBackfill,
    apply: Callable[[dict, StripeBackfill], str],
) -> None:
    mark = f"stripe_{kind}_after"
    params: dict = {"limit": PAGE_SIZE}
    if since is not None:
        params["created"] = {"gte": int(since.timestamp())}
    resume = connection.sync_state.get(mark)
    if resume:
        params["starting_after"] = resume
    applied = 0
    for stripe_object in _listed(listing, params):
        try:
            result.count(apply(stripe_object, result))
        except UnknownCharge as why:
            result.waiting.append(f"{stripe_object.get('id')}: {why}")
            result.count("waiting")
        except EventNotApplied as why:
            result.refused.append(f"{stripe_object.get('id')}: {why}")
            result.count("refused")
        applied += 1
        if applied % CHECKPOINT_EVERY == 0:
            do_save_sync_state(connection, **{mark: stripe_object["id"]})
            connection.sync_state[mark] = stripe_object["id"]
    do_save_sync_state(connection, **{mark: None})
    connection.sync_state.pop(mark, None)
