"""Error pages (a clear message for people, JSON for API callers, never a stack trace), the
Settings index and the admins' page of stuck background tasks."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.core.navigation import settings_areas_for
from storedesk.core.permissions import permission_required
from storedesk.core.queries import abandoned_tasks, find_stuck_tasks


def _error(request, status: int, code: str, message: str, details=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "details": details}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    """Django answers every SuspiciousOperation here; a body over the upload limit is one of
    them, raised wherever the body is first read (CSRF middleware, a view, a webhook)."""
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request)
    return _error(request, 400, "bad_request", _("The request could not be understood."))


def request_too_large(request):
    """413: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE (files uploaded in forms not counted).
    Webhook callers get JSON, as they get from every other refusal."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = _("The request is too large: its body is over the limit of %(limit)d bytes.") % {
        "limit": limit
    }
    if request.path.startswith(("/webhooks/", "/mail/")):
        return JsonResponse(
            {"code": "too_large", "message": message, "details": {"limit_bytes": limit}},
            status=413,
        )
    return _error(request, 413, "too_large", message, {"limit_bytes": limit})


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


STUCK_TASKS_SHOWN_FOR = timedelta(days=7)


@permission_required("django_tasks_database.view_dbtaskresult")
def stuck_tasks(request):
    """Admins' view of background tasks left behind by a worker that is gone."""
    now = timezone.now()
    return render(
        request,
        "core/stuck_tasks.html",
        {
            "stuck": find_stuck_tasks(now),
            "abandoned": abandoned_tasks(now - STUCK_TASKS_SHOWN_FOR),
            "days": STUCK_TASKS_SHOWN_FOR.days,
        },
    )


@login_required
def settings_index(request):
    """Every configuration page the signed-in person's role may open, grouped by area."""
    areas = settings_areas_for(request.user)
    return render(request, "core/settings.html", {"areas": areas})
