"""API v1 of the connections (administrators): list and read them with their health, connect
a system, queue a sync. Secrets go in and never come out: answers name which secrets are set,
never their values."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from storedesk.commerce.models import Store
from storedesk.core.api import (
    COMMON_ERRORS,
    DETAIL_ERRORS,
    LIST_ERRORS,
    MAX_DATABASE_ID,
    ApiError,
    ErrorOut,
    permission_required,
)
from storedesk.core.api_pagination import Keyset, PageQuery, paginate
from storedesk.integrations.connections import queries
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import do_connect, request_sync
from storedesk.integrations.connections.systems import SYSTEMS

VIEW = "connections.view_connection"
CHANGE = "connections.change_connection"
router = Router(tags=["connections"])
KEYSET = Keyset(scope="connections", fields=("id",), descending=False)
CONNECTION_ID = Path(..., ge=1, le=MAX_DATABASE_ID)


class ConnectionOut(Schema):
    id: int
    store: str = Field(description="The store's slug.")
    system: str
    status: str = Field(description="active, broken or disconnected")
    broken_reason: str
    config: dict[str, str] = Field(description="Settings in clear (never the secrets).")
    secrets_set: list[str] = Field(alias="secret_names", description="Names only.")
    last_synced_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_store(obj) -> str:
        return obj.store.slug


class ConnectionPage(Schema):
    items: list[ConnectionOut]
    next_cursor: str | None


class TopicOut(Schema):
    topic: str
    received: int
    applied: int
    ignored: int
    parked: int
    failed: int
    waiting: int = Field(alias="pending")
    last_received_at: datetime | None
    lag_seconds: float | None

    @staticmethod
    def resolve_lag_seconds(obj) -> float | None:
        lag: timedelta | None = obj.lag
        return round(lag.total_seconds(), 3) if lag is not None else None


class ConnectionDetail(ConnectionOut):
    topics: list[TopicOut]


class ConnectionIn(Schema):
    store: str = Field(max_length=50, description="The store's slug.")
    system: str = Field(max_length=20, examples=["shopify"])
    config: dict[str, str] = Field(
        default_factory=dict, examples=[{"shop_domain": "x.myshopify.com"}]
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Stored encrypted; never returned.",
        examples=[{"access_token": "shpat_…", "webhook_secret": "…"}],
    )


class SyncOut(Schema):
    queued: bool


def _connection(pk: int) -> Connection:
    connection = Connection.objects.select_related("store").filter(pk=pk).first()
    if connection is None:
        raise ApiError(404, "not_found", "No such connection.")
    return connection


def _detail(connection: Connection) -> Connection:
    connection.topics = queries.topic_health(connection)
    return connection


@router.get(
    "/connections",
    response={200: ConnectionPage, **LIST_ERRORS},
    summary="List the store connections (Shopify, WooCommerce, Stripe, PayPal, EasyPost)",
)
@permission_required(VIEW)
def list_connections(request: HttpRequest, page: Query[PageQuery]):
    """Needs connections.view_connection (administrators)."""
    return paginate(Connection.objects.select_related("store"), KEYSET, page)


@router.get(
    "/connections/{connection_id}",
    response={200: ConnectionDetail, **DETAIL_ERRORS},
    summary="One connection with its health per webhook topic",
)
@permission_required(VIEW)
def get_connection(request: HttpRequest, connection_id: int = CONNECTION_ID):
    return _detail(_connection(connection_id))


@router.post(
    "/connections",
    response={201: ConnectionOut, **COMMON_ERRORS, 422: ErrorOut},
    summary="Connect a store to a system, or replace its credentials",
)
@permission_required(CHANGE)
def create_connection(request: HttpRequest, body: ConnectionIn):
    """422 `invalid_connection` with the fields that are missing or wrong."""
    store = Store.objects.filter(slug=body.store).first()
    if store is None:
        raise ApiError(422, "invalid_connection", "No such store.", {"store": ["unknown"]})
    if body.system not in SYSTEMS:
        raise ApiError(422, "invalid_connection", "Unknown system.", {"system": sorted(SYSTEMS)})
    try:
        connection = do_connect(
            store, body.system, config=body.config, secrets=body.secrets, actor=request.user
        )
    except ValidationError as error:
        raise ApiError(
            422, "invalid_connection", "The connection is incomplete.", error.message_dict
        ) from None
    return Status(201, connection)


@router.post(
    "/connections/{connection_id}/sync",
    response={202: SyncOut, **DETAIL_ERRORS, 409: ErrorOut},
    summary="Queue a reconcile of the connection (orders changed since the last sync)",
)
@permission_required(CHANGE)
def sync_connection(request: HttpRequest, connection_id: int = CONNECTION_ID):
    """409 `not_syncable` when the connection is not active or its system has no sync."""
    connection = _connection(connection_id)
    try:
        request_sync(connection, actor=request.user)
    except ValidationError as error:
        raise ApiError(409, "not_syncable", " ".join(error.messages)) from None
    return Status(202, {"queued": True})
