"""Playbooks: the checklist agents follow for each intent."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from storedesk.core.permissions import permission_required
from storedesk.triage import queries
from storedesk.triage.forms import PlaybookForm
from storedesk.triage.intents import Intent
from storedesk.triage.models import Playbook
from storedesk.triage.playbooks import steps_text
from storedesk.triage.services import do_save_playbook


@permission_required("triage.view_playbook")
def playbook_list(request):
    """Which intents have a checklist, so none is handled from memory."""
    return render(request, "triage/playbook_list.html", {"playbooks": queries.playbooks()})


@permission_required("triage.view_playbook")
def playbook_edit(request, pk: int | None = None):
    """Write an intent's checklist, one `key: text` step a line."""
    playbook = get_object_or_404(Playbook, pk=pk) if pk else None
    data = {
        "intent": playbook.intent if playbook else "",
        "title": playbook.title if playbook else "",
        "steps": steps_text(playbook) if playbook else "",
    }
    error, status = "", 200
    if request.method == "POST":
        if not request.user.has_perm("triage.change_playbook"):
            return render(request, "error.html", status=403)
        form = PlaybookForm(request.POST)
        form.is_valid()  # free text: the service judges it
        data = dict(form.cleaned_data)
        try:
            saved = do_save_playbook(playbook, actor=request.user, **data)
            messages.success(request, _("Playbook “%(title)s” saved.") % {"title": saved.title})
            return redirect("triage:playbooks")
        except ValidationError as problem:
            error, status = problem.messages[0], 400
    return render(
        request,
        "triage/playbook_form.html",
        {
            "playbook": playbook,
            "data": data,
            "error": error,
            "intents": Intent.choices,
            "can_change": request.user.has_perm("triage.change_playbook"),
        },
        status=status,
    )
