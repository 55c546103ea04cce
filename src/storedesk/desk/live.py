"""Live updates as server-sent events, for the chat widget and for the agent's screens.

`storedesk run` serves with waitress (a thread per request, streamed responses flushed at
once), so a stream holds a thread: each stream lasts STREAM_SECONDS and then the client
reconnects (EventSource does so by itself, resuming from `Last-Event-ID`), and at most
MAX_STREAMS run at once per process. Past that, a request gets what is new right away and
`retry: 1000`, which turns it into one-second polling: latency stays under two seconds and the
desk's own pages always keep free threads.

Agent side (for the ticket page and the inbox), mounted at /desk/live/:
- `tickets/<number>/stream?after=<message pk>`: `message` events of that ticket (notes included)
- `inbox/stream?after=<message pk>`: `message` events of every customer message (new chats…)
- `presence` (POST): "I am in the desk" for pages without a stream
Each event's data is JSON: {"id", "ticket", "kind", "channel", "author", "text", "at"}; each
open stream also marks the agent present, which is what the widget reads as "agents online".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from storedesk.core.permissions import permission_required
from storedesk.desk.chat import mark_agent_present
from storedesk.desk.models import Message, Ticket

STREAM_SECONDS = settings.DESK_LIVE_STREAM_SECONDS
POLL_SECONDS = 0.4
HEARTBEAT_SECONDS = 2.0  # a closed connection is noticed at the next write
RETRY_MS = 1000
MAX_STREAMS = settings.DESK_LIVE_MAX_STREAMS
MAX_EVENTS_PER_READ = 100

_streams = threading.BoundedSemaphore(MAX_STREAMS)


def sse_event(event: str, data: dict, event_id: int | None = None) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


def event_stream(
    read: Callable[[int], list[dict]],
    after: int,
    *,
    on_tick: Callable[[], None] | None = None,
    seconds: float | None = None,
) -> Iterator[bytes]:
    """Yield `read(after)`'s items as `message` events until time is up; `on_tick` runs at
    every heartbeat (presence). A full house gets one read and a retry hint instead."""
    seconds = STREAM_SECONDS if seconds is None else seconds
    yield f"retry: {RETRY_MS}\n\n".encode()
    holding = _streams.acquire(blocking=False)
    try:
        deadline = time.monotonic() + (seconds if holding else 0)
        next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        if on_tick:
            on_tick()
        while True:
            for item in read(after):
                after = max(after, item["id"])
                yield sse_event("message", item, item["id"])
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_heartbeat:
                if on_tick:
                    on_tick()
                yield b": ping\n\n"  # finds a closed connection and keeps proxies open
                next_heartbeat = now + HEARTBEAT_SECONDS
            time.sleep(POLL_SECONDS)
    finally:
        if holding:
            _streams.release()


def sse_response(stream: Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


def start_after(request) -> int:
    """Where a stream resumes: EventSource's Last-Event-ID, else ?after=, else 0."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        value = int(raw)
    except ValueError:
        return 0
    return value if 0 <= value < 2**62 else 0


def _message_events(messages) -> list[dict]:
    return [
        {
            "id": row["pk"],
            "ticket": row["ticket_id"],
            "kind": row["kind"],
            "channel": row["channel"],
            "author": row["from_name"] or row["from_email"],
            "text": (row["new_text"] or row["text"])[:500],
            "at": row["created_at"].isoformat(),
        }
        for row in messages.order_by("pk").values(
            "pk",
            "ticket_id",
            "kind",
            "channel",
            "from_name",
            "from_email",
            "new_text",
            "text",
            "created_at",
        )[:MAX_EVENTS_PER_READ]
    ]


def ticket_events(ticket_id: int, after: int) -> list[dict]:
    """New messages of one ticket, notes included (agents see everything)."""
    return _message_events(Message.objects.filter(ticket_id=ticket_id, pk__gt=after))


def inbox_events(after: int) -> list[dict]:
    """New customer messages anywhere (the pk range is the primary key index)."""
    return _message_events(Message.objects.filter(pk__gt=after, kind=Message.Kind.INBOUND))


def _latest_message_id() -> int:
    return Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@require_GET
@permission_required("desk.view_ticket")
def ticket_stream(request, number: int):
    pk = get_object_or_404(Ticket.objects.only("pk"), number=number).pk
    user = request.user
    after = start_after(request)
    return sse_response(
        event_stream(
            lambda since: ticket_events(pk, since), after, on_tick=lambda: mark_agent_present(user)
        )
    )


@require_GET
@permission_required("desk.view_ticket")
def inbox_stream(request):
    """Without ?after= it starts from now (an inbox wants what is new, not the history)."""
    user = request.user
    has_start = "Last-Event-ID" in request.headers or "after" in request.GET
    after = start_after(request) if has_start else _latest_message_id()
    return sse_response(event_stream(inbox_events, after, on_tick=lambda: mark_agent_present(user)))


@require_POST
@permission_required("desk.view_ticket")
def presence(request):
    mark_agent_present(request.user)
    return JsonResponse({"present": True})
