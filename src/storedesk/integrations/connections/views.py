"""Settings → Connections (administrators): the list, connecting a system, one connection's
health per topic, and "sync now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.core.permissions import permission_required
from storedesk.integrations.connections import queries
from storedesk.integrations.connections.forms import ConnectForm, SyncForm
from storedesk.integrations.connections.models import Connection
from storedesk.integrations.connections.services import (
    do_connect,
    request_sync,
    syncer_for,
)
from storedesk.integrations.connections.systems import SYSTEM_HELP, SYSTEMS

PROBLEMS_PER_PAGE = 25
WEBHOOK_PATHS = {"shopify": "shopify:webhook"}


@permission_required("connections.view_connection")
def connection_list(request):
    systems = [(spec, SYSTEM_HELP.get(key, "")) for key, spec in SYSTEMS.items()]
    return render(
        request,
        "connections/list.html",
        {"connections": list(queries.connections()), "systems": systems},
    )


@permission_required("connections.add_connection", "connections.change_connection")
def connect(request, system: str):
    spec = SYSTEMS.get(system)
    if spec is None:
        raise Http404
    form = ConnectForm(request.POST or None, spec=spec)
    if request.method == "POST" and form.is_valid():
        try:
            connection = do_connect(
                form.cleaned_data["store"],
                system,
                config=form.config(),
                secrets=form.secrets(),
                actor=request.user,
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(
                request,
                _("Connected. The secrets are stored encrypted and will not be shown again."),
            )
            return redirect("connections:detail", pk=connection.pk)
    return render(request, "connections/connect.html", {"form": form, "spec": spec})


@permission_required("connections.view_connection")
def connection_detail(request, pk: int):
    connection = get_object_or_404(Connection.objects.select_related("store"), pk=pk)
    page = Paginator(queries.problems(connection), PROBLEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    webhook_path = WEBHOOK_PATHS.get(connection.system)
    return render(
        request,
        "connections/detail.html",
        {
            "connection": connection,
            "topics": queries.topic_health(connection),
            "page": page,
            "can_sync": syncer_for(connection.system) is not None,
            "sync_form": SyncForm(),
            "webhook_url": request.build_absolute_uri(reverse(webhook_path))
            if webhook_path
            else "",
        },
    )


@require_POST
@permission_required("connections.change_connection")
def sync_now(request, pk: int):
    connection = get_object_or_404(Connection, pk=pk)
    if SyncForm(request.POST).is_valid():
        try:
            request_sync(connection, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("A sync is queued; new orders appear as it runs."))
    return redirect("connections:detail", pk=connection.pk)
