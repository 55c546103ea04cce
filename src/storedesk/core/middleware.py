import logging
import re
import zoneinfo

from django.utils import timezone, translation

from storedesk.core.context import get_correlation_id, set_correlation_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request a correlation id (the caller's X-Request-ID when it is sane)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = set_correlation_id(
            incoming if _SAFE_REQUEST_ID.match(incoming) else None
        )
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


#: Pages customers see: always US English, whatever their browser or a signed-in agent prefers.
CUSTOMER_PATH_PREFIX = "/help/"


class UserPreferencesMiddleware:
    """Show each agent the desk in their own language and time zone.

    Both are set for this request only: threads are reused (and tests share one), so the
    language and zone are put back when the response is done, never carried over to the
    next request or test.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()  # threads are reused: never carry the last user's zone over
        user = getattr(request, "user", None)
        language = None
        if request.path.startswith(CUSTOMER_PATH_PREFIX):
            language = "en-us"
        elif user is not None and user.is_authenticated:
            language = user.language or None
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        if language is None:
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        request.LANGUAGE_CODE = language
        try:
            with translation.override(language):
                response = self.get_response(request)
        finally:
            timezone.deactivate()
        # LocaleMiddleware sets the header after us from the (restored) thread language.
        response.headers.setdefault("Content-Language", language)
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_correlation_id() or "-"
        return True
