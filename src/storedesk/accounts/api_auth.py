"""Who is calling the API: an integration with a bearer token, or an agent's browser session.

Bearer keys (accounts own them) are checked by accounts.services.authenticate_api_key, which
looks the key up by its SHA-256 hash (the raw key is never compared byte by byte, so timing
reveals nothing about it) and records last use at most once a minute. Session callers must send
the CSRF token on unsafe methods.
"""

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from storedesk.accounts.services import authenticate_api_key
from storedesk.core.api import ApiError

# Longer than any key we issue; anything bigger is refused before hashing.
_MAX_KEY_LENGTH = 128


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer sdk_…`; a present but bad key is a 401, not a fall-through."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        token = token.strip()
        user = authenticate_api_key(token) if 0 < len(token) <= _MAX_KEY_LENGTH else None
        if user is None:
            raise AuthenticationError(message="The API token is invalid, expired or revoked.")
        # Permission checks and resolvers read request.user, whichever way the caller came in.
        request.user = user
        return user


class SessionCsrfAuth(SessionAuth):
    """The desk's own pages calling the API with the signed-in agent's session."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # The CSRF check waits until we know a session signed in (see authenticate), so a
        # caller with no session at all gets a 401, not a confusing CSRF 403.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            if check_csrf(request) is not None:
                raise ApiError(
                    403, "csrf_failed", "The CSRF token is missing or wrong; reload the page."
                )
        return user


api_auth = [BearerTokenAuth(), SessionCsrfAuth(csrf=True)]
