"""Building blocks every app's API uses: one error shape, money as strings, permission checks.

Every error the API returns is `{"code", "message", "details"}` so integrations can branch on a
machine code and show people the message; ninja's own `{"detail": ...}` shapes never leak out.
"""

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import AfterValidator, Field, StringConstraints

from storedesk.core.errors import ServiceError
from storedesk.core.money import quantize

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    422: "validation_error",
    429: "throttled",
}


class ApiError(HttpError):
    """An error with a machine code and optional details, raised anywhere in an endpoint."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.details = details


class ErrorOut(Schema):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["No order matches 'TP10234'."])
    details: Any = None


class Money(Schema):
    """An exact amount as a decimal string, never a float, with its ISO 4217 currency."""

    amount: str = Field(pattern=r"^-?\d+(\.\d+)?$", examples=["89.00"])
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])


def money(amount: Decimal | None, currency: str) -> dict | None:
    """Serialize an amount exactly, with as many decimals as its currency has."""
    if amount is None:
        return None
    return {"amount": str(quantize(Decimal(amount), currency)), "currency": currency}


def money_resolver(attribute: str, currency_attribute: str = "currency") -> staticmethod:
    """A ninja resolver that reads a Decimal field and pairs it with the row's currency."""

    def resolve(obj: Any) -> dict | None:
        return money(getattr(obj, attribute), getattr(obj, currency_attribute))

    return staticmethod(resolve)


# --- Parameter types that stop bad input at the door (422), before a database could choke on it.

MAX_DATABASE_ID = 2**63 - 1  # a bigger number overflows both SQLite and PostgreSQL integers

DatabaseId = Annotated[int, Field(ge=1, le=MAX_DATABASE_ID)]


def _no_control_characters(value: str) -> str:
    """PostgreSQL refuses NUL in text, and no name, email or number holds control characters."""
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("control characters are not allowed")
    return value


def FilterText(max_length: int) -> Any:  # reads as a type in signatures
    """A free-text filter: trimmed, bounded, printable (an empty one filters nothing)."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length, strip_whitespace=True),
        AfterValidator(_no_control_characters),
    ]


def _in_utc(value: datetime) -> datetime:
    """Times without a zone mean UTC (the zone of storage); out-of-range ones are refused."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is out of range") from None


UtcDateTime = Annotated[datetime, AfterValidator(_in_utc)]


# Error responses every authenticated endpoint can return, for the OpenAPI document.
COMMON_ERRORS = {401: ErrorOut, 403: ErrorOut}
LIST_ERRORS = {**COMMON_ERRORS, 400: ErrorOut, 422: ErrorOut}
DETAIL_ERRORS = {**COMMON_ERRORS, 404: ErrorOut}


def require_permission(request: HttpRequest, permission: str) -> None:
    """Refuse with 403 unless the caller's role holds the Django permission."""
    if not request.user.has_perm(permission):
        raise ApiError(
            403,
            "permission_denied",
            "Your role does not allow this.",
            {"required_permission": permission},
        )


def permission_required(permission: str) -> Callable:
    """Decorate an endpoint so it runs only for callers holding `permission`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require_permission(request, permission)
            return view(request, *args, **kwargs)

        wrapper.required_permission = permission
        return wrapper

    return decorate


def has_permission(context: dict | None, permission: str) -> bool:
    """For resolvers: whether the user of the request being serialized holds `permission`."""
    request = (context or {}).get("request")
    return bool(request is not None and request.user.has_perm(permission))


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "details": details}, status=status
    )


def _validation_details(errors: list[dict]) -> list[dict]:
    """Keep only what is safe to show: where, what and why (pydantic's ctx may hold objects)."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        details.append(
            {
                "field": ".".join(location[1:]) or ".".join(location),
                "location": location[0] if location else "",
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return details


def urls_answering_405_in_json(api: NinjaAPI) -> tuple[list, str, str]:
    """The API's URL patterns, with ninja's plain-text "Method not allowed" answered in our
    JSON error shape (ninja returns it from its path view, past every exception handler)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_405(api, pattern.callback)
    return patterns, app_name, namespace


def _json_405(api: NinjaAPI, view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = response.get("Allow", "")
        answer = error_response(
            api,
            request,
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here. Allowed: {allowed}.",
            {"allowed": sorted(method.strip() for method in allowed.split(",") if method)},
        )
        answer["Allow"] = allowed
        return answer

    return wrapper


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers so every failure answers in our one JSON shape."""

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(
            api,
            request,
            422,
            "validation_error",
            "Some parameters are not valid.",
            _validation_details(exc.errors),
        )

    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = (
            exc.message
            if exc.message != "Unauthorized"
            else ("Sign in, or send 'Authorization: Bearer <API token>'.")
        )
        response = error_response(api, request, 401, "not_authenticated", message)
        response["WWW-Authenticate"] = 'Bearer realm="storedesk"'
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = getattr(exc, "code", None) or _CODES_BY_STATUS.get(exc.status_code, "error")
        return error_response(
            api, request, exc.status_code, code, str(exc), getattr(exc, "details", None)
        )

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(
            api, request, 404, "not_found", str(exc) or "There is nothing at this address."
        )

    def on_body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_response(
            api,
            request,
            413,
            "too_large",
            f"The request body is over the limit of {limit} bytes.",
            {"limit_bytes": limit},
        )

    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Too many fields, a bad multipart boundary: Django's own 400s, not our failures.
        logger.warning("Refused API request to %s: %s", request.path, exc)
        return error_response(api, request, 400, "bad_request", "The request is malformed.")

    def on_refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        return error_response(api, request, exc.status, exc.code, exc.message, exc.api_details())

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s", request.path, exc_info=exc)
        return error_response(
            api,
            request,
            500,
            "server_error",
            "Something went wrong on our side. It has been logged.",
        )

    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(AuthenticationError, on_authentication_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_body_too_large)
    api.add_exception_handler(SuspiciousOperation, on_suspicious)
    api.add_exception_handler(ServiceError, on_refused)
    api.add_exception_handler(Exception, on_unexpected)
