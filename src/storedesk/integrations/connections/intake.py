"""What every webhook endpoint does before it knows whose delivery it is: read at most
1 MiB of body, answer refusals as JSON, parse the body as a JSON object or refuse it.

Order of checks at every endpoint: method (405), size (413), sender and signature (401,
nothing stored), JSON (400, nothing stored), then `do_receive_delivery` and a 200 at once.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

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
