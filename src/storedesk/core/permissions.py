"""Who may open which page: login first, then the role's permissions, else a friendly 403.

Anonymous visitors are sent to the login page; a signed-in user whose role lacks a permission
gets the 403 page (`core.views.permission_denied`), never a redirect loop back to login.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def check_permissions(user, permissions: tuple[str, ...]) -> None:
    """Raise PermissionDenied unless the signed-in user holds every permission."""
    if permissions and not user.has_perms(permissions):
        raise PermissionDenied


def permission_required(*permissions: str) -> Callable:
    """Decorate a view: login required, then every named permission (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            check_permissions(request.user, permissions)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator
