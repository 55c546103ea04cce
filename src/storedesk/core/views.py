"""Error pages (a clear message for people, JSON for API callers, never a stack trace) and the
Settings index."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from storedesk.core.navigation import settings_areas_for


def _error(request, status: int, code: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "details": None}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", _("The request could not be understood."))


def permission_denied(request, exception=None):
    return _error(
        request,
        403,
        "permission_denied",
        _("Your role does not allow this. Ask a team lead if you need it."),
    )


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", _("There is nothing at this address."))


def server_error(request):
    return _error(
        request, 500, "server_error", _("Something went wrong on our side. It has been logged.")
    )


@login_required
def settings_index(request):
    """Every configuration page the signed-in person's role may open, grouped by area."""
    areas = settings_areas_for(request.user)
    return render(request, "core/settings.html", {"areas": areas})
