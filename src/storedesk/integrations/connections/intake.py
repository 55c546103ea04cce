"""The intake of webhook deliveries, shared by every endpoint: read at most 1 MiB of body,
answer refusals as JSON, parse the body as a JSON object or refuse it.

Order of checks at every endpoint: method (405), size (413), sender and signature (401,
nothing stored), JSON (400, nothing stored), then `do_receive_delivery` and a 200 at once.

Systems that sign with a per-connection secret and name their sender in a header (Shopify,
WooCommerce) describe themselves as a `WebhookSource`; `receive` is then their whole intake,
served both as a Django view (`webhook_view`) and, by `storedesk web`, through the lean WSGI
entry (`lean_wsgi`) that answers a delivery without the desk's middleware: signature check,
one INSERT … ON CONFLICT DO NOTHING, 200 — the applying is the task worker's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection as db_connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from storedesk.core.context import set_correlation_id
from storedesk.core.middleware import _SAFE_REQUEST_ID
from storedesk.integrations.connections.credentials import connection_by_lookup
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.secrets import SecretsUnreadable, decrypt_secrets
from storedesk.integrations.connections.services import do_receive_delivery
from storedesk.integrations.connections.tasks import drain_after_commit

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def method_not_allowed() -> JsonResponse:
    response = error(405, "method_not_allowed", _("Webhooks are POSTed."))
    response["Allow"] = "POST"
    return response


def too_large() -> JsonResponse:
    return error(
        413, "too_large", _("The body is over %(limit)d bytes.") % {"limit": MAX_BODY_BYTES}
    )


def read_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, or None when it is over `limit` (read no further than that)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class NotJson(ValueError):
    pass


def json_object(raw: bytes) -> tuple[str, dict[str, Any]]:
    """(text, object) of a body that is UTF-8 JSON with an object at the top; NotJson else.
    NaN/Infinity and NUL characters parse in Python but no database stores them."""
    try:
        text = raw.decode("utf-8")
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        raise NotJson(str(problem)) from None
    if "\\u0000" in text.lower() or "\x00" in text:
        raise NotJson("NUL character")
    if not isinstance(payload, dict):
        raise NotJson("not a JSON object")
    return text, payload


# --- the shared intake of signed webhooks ------------------------------------------------------

Headers = Callable[[str], str]


@dataclass(frozen=True)
class Answer:
    """What an endpoint answers: a status and a JSON object (plus extra headers)."""

    status: int
    payload: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WebhookSource:
    """How one system signs and names its deliveries; `receive` does the rest.

    `sender_header` names the connection (looked up by its `lookup_key`); `verify(secret,
    body, header value)` checks `signature_header`; `delivery_id(connection, headers, id)` is
    what the delivery is stored once by; `object_key(topic, payload)` what it is about;
    `is_ping(body)` a verified body that is answered 200 and not stored."""

    system: str
    path: str
    sender_header: str
    unknown_sender: tuple[str, str]  # (code, message) of the 401 for an unknown sender
    signature_header: str
    verify: Callable[[str, bytes, str], bool]
    delivery_id_header: str
    topic_header: str
    object_key: Callable[[str, dict], str]
    delivery_id: Callable[[Connection, Headers, str], str] = lambda connection, headers, id_: id_
    occurred_at: Callable[[Headers], datetime | None] = lambda headers: None
    is_ping: Callable[[bytes], bool] = lambda body: False


def hmac_sha256_base64(key: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def matches(expected: str, header: str) -> bool:
    """Constant-time comparison of a computed signature with the one sent."""
    return bool(header) and hmac.compare_digest(expected, header.strip())


@lru_cache(maxsize=256)
def webhook_secret(secrets_token: str) -> str:
    """The connection's webhook secret, decrypted once per stored token (a new token after a
    reconnect or a key rotation is a new entry)."""
    return decrypt_secrets(secrets_token).get("webhook_secret", "")


def meta_headers(meta: Mapping[str, Any]) -> Headers:
    """A header getter over a WSGI environ or a Django request's META (the same keys)."""

    def get(name: str) -> str:
        return meta.get("HTTP_" + name.upper().replace("-", "_"), "") or ""

    return get


def _refusal(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"code": code, "message": message})


def receive(source: WebhookSource, headers: Headers, raw: bytes | None) -> Answer:
    """Everything after the method check: size (413), sender and signature (401, nothing
    stored), JSON (400, nothing stored), then one INSERT … ON CONFLICT DO NOTHING and a 200;
    the applying is left to the task worker (the drain queued once the row is committed)."""
    if raw is None:
        return _refusal(
            413, "too_large", _("The body is over %(limit)d bytes.") % {"limit": MAX_BODY_BYTES}
        )
    sender = headers(source.sender_header)
    connection = connection_by_lookup(source.system, sender)
    if connection is None:
        logger.warning("%s webhook from an unknown sender %r refused", source.system, sender[:100])
        code, message = source.unknown_sender
        return _refusal(401, code, str(message))
    try:
        secret = webhook_secret(connection.secrets_token)
    except SecretsUnreadable:
        logger.error("%s connection %s: secrets unreadable", source.system, connection.pk)
        secret = ""
    if not secret or not source.verify(secret, raw, headers(source.signature_header)):
        logger.warning(
            "%s webhook for %s refused: bad signature", source.system, connection.lookup_key
        )
        return _refusal(401, "bad_signature", _("The signature does not match the body."))
    if source.is_ping(raw):
        return Answer(200, {"received": True, "ping": True})
    try:
        body, payload = json_object(raw)
    except NotJson:
        return _refusal(400, "malformed_json", _("The body is not a JSON object."))
    delivery_id = headers(source.delivery_id_header).strip()
    topic = headers(source.topic_header).strip().lower()
    if not delivery_id or not topic:
        return _refusal(
            400,
            "missing_header",
            _("%(id)s and %(topic)s are required.")
            % {"id": source.delivery_id_header, "topic": source.topic_header},
        )
    received = do_receive_delivery(
        connection,
        delivery_id=source.delivery_id(connection, headers, delivery_id),
        topic=topic,
        body=body,
        object_key=source.object_key(topic, payload),
        occurred_at=source.occurred_at(headers),
    )
    drain_after_commit(received)
    return Answer(
        200,
        {"received": True, "duplicate": not received.created, "status": received.status},
    )


def webhook_view(source: WebhookSource):
    """The Django view of a source (the test client, and a server that does not use the
    lean entry of `storedesk.wsgi`)."""

    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            return method_not_allowed()
        answer = receive(source, meta_headers(request.META), read_body(request))
        response = JsonResponse(answer.payload, status=answer.status)
        for name, value in answer.headers:
            response[name] = value
        return response

    view.webhook_source = source
    return view


# --- the lean entry: /webhooks/<system>/ without the desk's request cycle ----------------------

_SOURCES: dict[str, WebhookSource] = {}


def register_source(source: WebhookSource) -> WebhookSource:
    """Serve `source.path` through the lean WSGI entry (called from an app's ready())."""
    _SOURCES[source.path] = source
    return source


def sources() -> dict[str, WebhookSource]:
    return dict(_SOURCES)


def _read_wsgi_body(environ: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> bytes | None:
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    stream = environ["wsgi.input"]
    body = stream.read(min(declared, limit + 1)) if declared else stream.read(limit + 1)
    return None if len(body) > limit else body


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed"}
_REASONS |= {413: "Content Too Large", 500: "Internal Server Error"}


def lean_wsgi(django_application):
    """The WSGI application `storedesk web` serves: a POST to a registered webhook path is
    answered here — signature check, one insert, 200 — without Django's middleware (sessions,
    CSRF, authentication, locale, messages …), URL resolving or request signals, and on the
    thread's own database connection kept open between deliveries (no connection set-up per
    request on SQLite; PostgreSQL's CONN_MAX_AGE is honoured). Everything else goes to Django."""

    def application(environ, start_response):
        source = _SOURCES.get(environ.get("PATH_INFO", ""))
        if source is None:
            return django_application(environ, start_response)
        return _serve(source, environ, start_response)

    application.django_application = django_application
    return application


def _tidy_connection() -> None:
    """What Django does at a request's end: drop a broken or expired connection (never one
    inside a transaction its caller holds, as the test client's is)."""
    if not db_connection.in_atomic_block:
        db_connection.close_if_unusable_or_obsolete()


def _serve(source: WebhookSource, environ, start_response):
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    request_id = set_correlation_id(incoming if _SAFE_REQUEST_ID.match(incoming) else None)
    if environ.get("REQUEST_METHOD") != "POST":
        answer = _refusal(405, "method_not_allowed", _("Webhooks are POSTed."))
        answer = Answer(405, answer.payload, (("Allow", "POST"),))
    else:
        try:
            answer = receive(source, meta_headers(environ), _read_wsgi_body(environ))
        except Exception:
            logger.exception("%s webhook failed", source.system)
            _tidy_connection()
            answer = _refusal(500, "server_error", _("The delivery could not be stored."))
        else:
            if db_connection.settings_dict.get("CONN_MAX_AGE"):
                _tidy_connection()
    body = json.dumps(answer.payload).encode()
    start_response(
        f"{answer.status} {_REASONS.get(answer.status, '')}".rstrip(),
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-ID", request_id),
            *answer.headers,
        ],
    )
    return [body]
