"""The only writers of connections and inbound deliveries.

Connections: `do_connect` (add or replace credentials), `do_mark_broken` (a revoked token, an
uninstalled app: the team is told through the `connection_broken` event and nothing retries
against it), `do_disconnect`, `do_rotate_secrets`.

Deliveries, for every system: a verified webhook is stored once by (system, delivery id) with
`do_receive_delivery` and answered at once; a task applies it through the applier its system
registered (`register_applier`). An applier raises `DeliveryParked` when the delivery is about
something not known yet (a refund before its order): it is retried with backoff, for as long as
it takes, and woken as soon as the object arrives (`wake_parked`). Any other failure is retried
with backoff up to `MAX_ATTEMPTS`, then waits for a person. A topic no applier takes is stored
as ignored. These services never queue tasks (`tasks.py` imports them): they record the
`inbound_deliveries_due` outbox event, which `tasks.py` handles by queueing the deliveries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.core.context import get_correlation_id, set_correlation_id
from storedesk.core.events import record_event
from storedesk.core.retry import RetryPolicy
from storedesk.core.tasks import enqueue_on_commit
from storedesk.integrations.connections.models import Connection, InboundDelivery
from storedesk.integrations.connections.secrets import (
    decrypt_secrets,
    encrypt_secrets,
    rotate_token,
)
from storedesk.integrations.connections.systems import SYSTEMS, SystemSpec

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # failures (not parking): about half a day of retries, then a person looks
# A failure: 30 s, 1 min, 2 min … capped at an hour, MAX_ATTEMPTS in all.
FAILED_RETRIES = RetryPolicy(
    base=timedelta(seconds=30), cap=timedelta(hours=1), max_attempts=MAX_ATTEMPTS, jitter=0.1
)
# A parked delivery waits for its object as long as it takes: the same waits, never given up
# (the policy's attempt limit is beyond any count a delivery can reach).
PARKED_RETRIES = RetryPolicy(
    base=timedelta(seconds=30), cap=timedelta(hours=1), max_attempts=2**31, jitter=0.1
)
DUE_BATCH = 500

Status = InboundDelivery.Status
PENDING_STATUSES = (Status.RECEIVED, Status.PARKED, Status.FAILED)
# The outbox event that has deliveries applied now (tasks.py queues them after commit).
DELIVERIES_DUE = "inbound_deliveries_due"


# --- connections -------------------------------------------------------------------------------


def spec_for(system: str) -> SystemSpec:
    try:
        return SYSTEMS[system]
    except KeyError:
        raise ValidationError(f"unknown system {system!r} (known: {', '.join(SYSTEMS)})") from None


def normalise_lookup(system: str, value: str) -> str:
    """Shop domains and site URLs compared as webhooks send them: lower-case, no scheme or
    trailing slash."""
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    return value.rstrip("/")[:255]


def _clean(spec: SystemSpec, config: Mapping[str, Any], secrets: Mapping[str, str]):
    config = {k: str(v).strip() for k, v in config.items() if v not in (None, "")}
    secrets = {k: str(v).strip() for k, v in secrets.items() if v not in (None, "")}
    errors = {}
    for name in spec.config_fields:
        if not config.get(name):
            errors[name] = "required"
    for name in spec.secret_fields:
        if not secrets.get(name):
            errors[name] = "required"
    for name in set(config) - set(spec.all_config):
        errors[name] = f"not a {spec.label} setting"
    for name in set(secrets) - set(spec.all_secrets):
        errors[name] = f"not a {spec.label} secret"
    if spec.key == "shopify" and config.get("shop_domain"):
        domain = normalise_lookup("shopify", config["shop_domain"])
        if not domain.endswith(".myshopify.com") or "/" in domain:
            errors["shop_domain"] = "a shop's domain ends with .myshopify.com"
        config["shop_domain"] = domain
    if errors:
        raise ValidationError({name: [message] for name, message in sorted(errors.items())})
    return config, secrets


@transaction.atomic
def do_connect(
    store,
    system: str,
    *,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    actor=None,
) -> Connection:
    """Connect a store to a system, or replace the credentials of its connection (which is
    then active again). Secrets are encrypted before they reach the database; the audit
    trail names which secrets were set, never their values."""
    spec = spec_for(system)
    config, secrets = _clean(spec, config, secrets)
    lookup = (
        normalise_lookup(system, config.get(spec.lookup_field, "")) if spec.lookup_field else ""
    )
    clash = (
        Connection.objects.filter(system=system, lookup_key=lookup).exclude(store=store).first()
        if lookup
        else None
    )
    if clash is not None:
        raise ValidationError(
            {spec.lookup_field: [f"{lookup} is already connected to another store"]}
        )
    connection = Connection.objects.select_for_update().filter(store=store, system=system).first()
    created = connection is None
    if created:
        connection = Connection(store=store, system=system)
    before = {} if created else {"status": connection.status, "config": connection.config}
    connection.config = config
    connection.lookup_key = lookup
    connection.secrets_token = encrypt_secrets(secrets)
    connection.secret_names = sorted(secrets)
    connection.status = Connection.Status.ACTIVE
    connection.broken_reason, connection.broken_at = "", None
    connection.save()
    record_audit(
        actor=actor,
        action="connection.connected" if created else "connection.credentials_replaced",
        obj=connection,
        changes={
            "system": system,
            "config": config,
            "secrets_set": sorted(secrets),
            "before": before,
        },
    )
    record_event("connection_connected", connection_id=connection.pk, system=system)
    return connection


@transaction.atomic
def do_mark_broken(connection: Connection, reason: str, *, actor=None) -> Connection:
    """The system refuses us (a revoked token, the app uninstalled): stop using the
    connection until someone reconnects it, and tell the team (`connection_broken`).
    Marking a broken connection again changes nothing."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    if locked.status != Connection.Status.ACTIVE:
        return locked
    locked.status = Connection.Status.BROKEN
    locked.broken_reason, locked.broken_at = reason[:500], timezone.now()
    locked.save(update_fields=["status", "broken_reason", "broken_at", "updated_at"])
    record_audit(
        actor=actor,
        action="connection.broken",
        obj=locked,
        changes={"system": locked.system, "reason": locked.broken_reason},
    )
    record_event(
        "connection_broken",
        connection_id=locked.pk,
        store_id=locked.store_id,
        system=locked.system,
        reason=locked.broken_reason,
    )
    logger.error("Connection %s is broken: %s", locked.pk, locked.broken_reason)
    connection.status, connection.broken_reason = locked.status, locked.broken_reason
    connection.broken_at = locked.broken_at
    return locked


@transaction.atomic
def do_disconnect(connection: Connection, *, actor=None) -> Connection:
    """Forget the secrets and stop using the connection; its deliveries stay as history."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    locked.status = Connection.Status.DISCONNECTED
    locked.secrets_token, locked.secret_names = "", []
    locked.save(update_fields=["status", "secrets_token", "secret_names", "updated_at"])
    record_audit(
        actor=actor, action="connection.disconnected", obj=locked, changes={"system": locked.system}
    )
    return locked


def do_rotate_secrets() -> int:
    """Re-encrypt every connection's secrets under the first configured key; returns how
    many. One row at a time, each in its own transaction, so a desk at work is not held."""
    rotated = 0
    for pk in Connection.objects.exclude(secrets_token="").values_list("pk", flat=True):
        with transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=pk)
            token = rotate_token(connection.secrets_token)
            if token != connection.secrets_token:
                connection.secrets_token = token
                connection.save(update_fields=["secrets_token", "updated_at"])
                rotated += 1
    return rotated


@transaction.atomic
def do_save_sync_state(connection: Connection, **changes) -> None:
    """Record backfill/reconcile progress (merged into `sync_state`), so a crash resumes."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    state = dict(locked.sync_state)
    for key, value in changes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    locked.sync_state = state
    locked.save(update_fields=["sync_state", "updated_at"])
    connection.sync_state = state


@transaction.atomic
def do_mark_synced(connection: Connection, at: datetime | None = None) -> None:
    at = at or timezone.now()
    Connection.objects.filter(pk=connection.pk).update(last_synced_at=at)
    connection.last_synced_at = at


def request_sync(connection: Connection, *, actor=None) -> None:
    """Queue the system's reconcile for this connection (the "sync now" button)."""
    syncer = _SYNCERS.get(connection.system)
    if syncer is None:
        raise ValidationError(f"{connection.get_system_display()} has no sync")
    if not connection.is_active:
        raise ValidationError("the connection is not active: reconnect it first")
    with transaction.atomic():
        record_audit(actor=actor, action="connection.sync_requested", obj=connection, changes={})
        enqueue_on_commit(syncer, connection.pk)


def secrets_of(connection: Connection):
    """The decrypted secrets (a `SecretValues`: its repr never shows them)."""
    return decrypt_secrets(connection.secrets_token)


# --- applying deliveries: what each system registers -------------------------------------------


class DeliveryParked(Exception):
    """The delivery is about an object not stored yet; `waiting_for` is its object key."""

    def __init__(self, reason: str, waiting_for: str = ""):
        super().__init__(reason)
        self.waiting_for = waiting_for


class DeliveryFailed(Exception):
    """The delivery could not be applied; `retryable` False when trying again cannot help."""

    def __init__(self, reason: str, *, retryable: bool = True):
        super().__init__(reason)
        self.retryable = retryable


@dataclass(frozen=True)
class Applier:
    """How one system's deliveries are applied: `apply(delivery, payload)` returns an outcome
    word ("created", "updated", "unchanged" …) and raises DeliveryParked/DeliveryFailed."""

    topics: frozenset[str]
    apply: Callable[[InboundDelivery, Any], str]
    extra: dict = field(default_factory=dict)


_APPLIERS: dict[str, Applier] = {}
_SYNCERS: dict[str, Any] = {}


def register_applier(system: str, topics, apply: Callable[[InboundDelivery, Any], str]) -> None:
    _APPLIERS[system] = Applier(frozenset(topics), apply)


def register_syncer(system: str, task) -> None:
    """The task (taking a connection id) that "sync now" and the periodic reconcile queue."""
    _SYNCERS[system] = task


def known_topics(system: str) -> frozenset[str]:
    applier = _APPLIERS.get(system)
    return applier.topics if applier else frozenset()


def syncer_for(system: str):
    return _SYNCERS.get(system)


# --- receiving ---------------------------------------------------------------------------------


class ReceivedDelivery:
    """What `do_receive_delivery` did: `created` (False: a repeat), and the delivery (built
    only when asked for: the endpoints need its status and whether it is new)."""

    __slots__ = ("_delivery", "_values", "created", "pk", "status")

    def __init__(self, *, created: bool, pk: int, status: str, values: dict | None = None):
        self._delivery, self._values = None, values
        self.created, self.pk, self.status = created, pk, status

    @property
    def delivery(self) -> InboundDelivery:
        if self._delivery is None:
            self._delivery = (
                InboundDelivery(pk=self.pk, **self._values)
                if self._values is not None
                else InboundDelivery.objects.get(pk=self.pk)
            )
        return self._delivery


def do_receive_delivery(
    connection: Connection,
    *,
    delivery_id: str,
    topic: str,
    body: str,
    object_key: str = "",
    occurred_at: datetime | None = None,
) -> ReceivedDelivery:
    """Store a verified delivery once; a repeat (the sender retries until it sees a 2xx, or
    delivers twice at once) stores nothing. A topic the system's applier does not take is
    stored as ignored. The endpoint then queues the drain (`tasks.drain_after_commit`); the
    per-minute sweep applies the delivery if that drain is lost.

    One INSERT … ON CONFLICT DO NOTHING on the (system, delivery id) constraint, a
    transaction of its own (autocommit: a single statement needs no BEGIN/COMMIT around it):
    the webhook endpoints' hot path (a thousand deliveries a second), so no ORM instance, no
    savepoint, and a duplicate costs no exception."""
    now = timezone.now()
    known = topic in known_topics(connection.system)
    values = {
        "connection_id": connection.pk,
        "system": connection.system,
        "delivery_id": delivery_id[:255],
        "topic": topic[:100],
        "body": body,
        "object_key": object_key[:120],
        "status": Status.RECEIVED if known else Status.IGNORED,
        "outcome": "" if known else "unknown_topic",
        "attempts": 0,
        "received_at": now,
        "occurred_at": occurred_at,
        # the sweep applies it if its drain is lost (a worker killed mid-way)
        "next_attempt_at": now + settings.TASK_LOST_AFTER if known else None,
        "applied_at": None,
        "last_error": "",
        "correlation_id": get_correlation_id() or "",
    }
    pk = _insert_once(values)
    if pk is None:
        pk, status = _stored_once(connection.system, values["delivery_id"])
        return ReceivedDelivery(created=False, pk=pk, status=status)
    return ReceivedDelivery(created=True, pk=pk, status=values["status"], values=values)


def _stored_once(system: str, delivery_id: str) -> tuple[int, str]:
    """(id, status) of the delivery stored already (a repeat: the sender retried)."""
    quote = db_connection.ops.quote_name
    sql = (
        f"SELECT {quote('id')}, {quote('status')} "  # noqa: S608 - our names
        f"FROM {quote(InboundDelivery._meta.db_table)} "
        f"WHERE {quote('system')} = %s AND {quote('delivery_id')} = %s"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [system, delivery_id])
        return cursor.fetchone()


_INSERT_SQL: dict[str, tuple[str, tuple[bool, ...]]] = {}


def _insert_statement(names) -> tuple[str, tuple[bool, ...]]:
    """The INSERT … ON CONFLICT DO NOTHING for these columns on this database (built once),
    and which of the values need the database's own datetime preparation."""
    key = f"{db_connection.vendor}:{','.join(names)}"
    if key not in _INSERT_SQL:
        ops = db_connection.ops
        fields = [InboundDelivery._meta.get_field(name) for name in names]
        columns = ", ".join(ops.quote_name(field.column) for field in fields)
        sql = (
            f"INSERT INTO {ops.quote_name(InboundDelivery._meta.db_table)} ({columns}) "  # noqa: S608 - our names
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({ops.quote_name('system')}, {ops.quote_name('delivery_id')}) "
            f"DO NOTHING RETURNING {ops.quote_name('id')}"
        )
        dated = tuple(field.get_internal_type() == "DateTimeField" for field in fields)
        _INSERT_SQL[key] = (sql, dated)
    return _INSERT_SQL[key]


def _insert_once(values: dict) -> int | None:
    """The new row's id, or None when (system, delivery id) is stored already."""
    sql, dated = _insert_statement(tuple(values))
    adapt = db_connection.ops.adapt_datetimefield_value
    params = [
        adapt(value) if is_date and value is not None else value
        for is_date, value in zip(dated, values.values(), strict=True)
    ]
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# --- applying ----------------------------------------------------------------------------------

# Received deliveries are applied by a draining task, in the order they came (queued by
# `tasks.request_drain` once a delivery is committed; the drain requeues itself when it has
# run for DRAIN_FOR_SECONDS, so one task never runs long).
DRAIN_BATCH = 200
DRAIN_FOR_SECONDS = 50.0


@dataclass(frozen=True)
class Drained:
    applied: int
    more_left: bool  # stopped after `for_seconds` with deliveries still waiting


def do_apply_received(
    *, batch: int = DRAIN_BATCH, for_seconds: float = DRAIN_FOR_SECONDS
) -> Drained:
    """Apply received deliveries in the order they came until none is left or `for_seconds`
    have passed. A concurrent drain skips what this one took (each is applied once)."""
    applied, started = 0, time.monotonic()
    while True:
        ids = list(
            InboundDelivery.objects.filter(status=Status.RECEIVED)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        for pk in ids:
            if do_apply_delivery(pk) != "skipped":
                applied += 1
        if len(ids) < batch:
            return Drained(applied, more_left=False)
        if time.monotonic() - started > for_seconds:
            return Drained(applied, more_left=True)


def _is_due(delivery: InboundDelivery, now: datetime) -> bool:
    if delivery.status == Status.RECEIVED:
        return True
    return (
        delivery.status in (Status.PARKED, Status.FAILED)
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at <= now
    )


def do_apply_delivery(delivery_id: int, *, now: datetime | None = None) -> str:
    """Apply one stored delivery if it is due; returns its outcome ("skipped" when not due
    or already done). Failures are recorded on the row, never raised."""
    with transaction.atomic():
        delivery = (
            InboundDelivery.objects.select_for_update(of=("self",))
            .select_related("connection__store")
            .filter(pk=delivery_id)
            .first()
        )
        now = now or timezone.now()
        if delivery is None or not _is_due(delivery, now):
            return "skipped"
        set_correlation_id(delivery.correlation_id or None)
        applier = _APPLIERS.get(delivery.system)
        delivery.attempts += 1
        previous = delivery.status
        try:
            if applier is None or delivery.topic not in applier.topics:
                delivery.status, delivery.outcome = Status.IGNORED, "unknown_topic"
                delivery.next_attempt_at = None
            else:
                with transaction.atomic():
                    outcome = applier.apply(delivery, delivery.body)
                delivery.status = Status.IGNORED if outcome == "ignored" else Status.APPLIED
                delivery.outcome, delivery.last_error = outcome[:40], ""
                delivery.applied_at, delivery.next_attempt_at = now, None
        except DeliveryParked as parked:
            delivery.status, delivery.outcome = Status.PARKED, "parked"
            delivery.last_error = str(parked)[:2000]
            if parked.waiting_for:
                delivery.object_key = parked.waiting_for[:120]
            delivery.next_attempt_at = PARKED_RETRIES.next_attempt_at(delivery.attempts, now)
        except DeliveryFailed as error:
            _failed(delivery, str(error), retry=error.retryable, now=now)
        except Exception as error:  # a bug or an outage: kept and retried, never lost
            logger.exception("Delivery %s (%s) failed", delivery.pk, delivery.topic)
            _failed(delivery, f"{type(error).__name__}: {error}", retry=True, now=now)
        delivery.save(
            update_fields=[
                "status",
                "outcome",
                "attempts",
                "next_attempt_at",
                "applied_at",
                "last_error",
                "object_key",
            ]
        )
        if delivery.status == Status.FAILED and previous != Status.FAILED:
            record_audit(
                actor=None,
                actor_label=f"{delivery.system}-webhook",
                action="connection.delivery_failed",
                obj=delivery,
                changes={"topic": delivery.topic, "error": delivery.last_error},
            )
    return delivery.outcome


def _failed(delivery: InboundDelivery, reason: str, *, retry: bool, now: datetime) -> None:
    delivery.status, delivery.outcome = Status.FAILED, "failed"
    delivery.last_error = reason[:2000]
    delivery.next_attempt_at = (
        FAILED_RETRIES.next_attempt_at(delivery.attempts, now) if retry else None
    )
    if delivery.next_attempt_at is None:
        logger.error("Delivery %s (%s) needs a person: %s", delivery.pk, delivery.topic, reason)


def wake_parked(connection_id: int, object_keys) -> int:
    """Make the deliveries parked on these objects due now and queue them (the object has
    just arrived): a refund that came before its order is applied right after the order."""
    keys = [key for key in object_keys if key]
    if not keys:
        return 0
    ids = list(
        InboundDelivery.objects.filter(
            connection_id=connection_id, status=Status.PARKED, object_key__in=keys
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        InboundDelivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
        record_event(DELIVERIES_DUE, delivery_ids=ids)
    return len(ids)


def due_delivery_ids(now: datetime | None = None) -> list[int]:
    """The parked and failed deliveries whose time has come and the received ones whose
    drain was lost, most overdue first (at most DUE_BATCH: the sweep runs every minute)."""
    now = now or timezone.now()
    return list(
        InboundDelivery.objects.filter(status__in=PENDING_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )


@transaction.atomic
def do_retry_deliveries(connection: Connection, *, actor=None) -> int:
    """Make the failed deliveries that ran out of attempts due again (the cause is fixed)."""
    ids = list(
        InboundDelivery.objects.filter(
            Q(next_attempt_at=None) | Q(next_attempt_at__gt=timezone.now()),
            connection=connection,
            status=Status.FAILED,
        ).values_list("pk", flat=True)
    )
    InboundDelivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    if ids:
        record_event(DELIVERIES_DUE, delivery_ids=ids)
        record_audit(
            actor=actor,
            action="connection.deliveries_retried",
            obj=connection,
            changes={"count": len(ids)},
        )
    return len(ids)
