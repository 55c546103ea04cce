"""The resolution limits settings page: what each role may do alone, edited by leads. Each
save is a new version (like the priority weights), so every decision can be traced to the
limits of its day; the history is shown beside the form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from storedesk.accounts.roles import Role
from storedesk.core.permissions import permission_required
from storedesk.resolutions.forms import LimitsForm
from storedesk.resolutions.limits import ACTIONS, do_save_limits, latest_limits, limits_of
from storedesk.resolutions.models import Kind, ResolutionLimits

HISTORY_SHOWN = 20
ACTION_LABELS = {
    "refund": _("Refunds"),
    "reship": Kind.RESHIP.label,
    "coupon": Kind.COUPON.label,
    "store_credit": Kind.STORE_CREDIT.label,
    "cancel": Kind.CANCEL.label,
    "no_compensation": Kind.NO_COMPENSATION.label,
}


@permission_required("resolutions.view_resolutionlimits")
def limits(request):
    can_change = request.user.has_perm("resolutions.change_resolutionlimits")
    current = latest_limits()
    roles = [role.value for role in Role]
    form_arguments = {"roles": roles, "actions": ACTIONS, "limits": limits_of(current)}
    status = 200
    if request.method == "POST":
        if not can_change:
            return render(request, "error.html", status=403)
        form = LimitsForm(request.POST, **form_arguments)
        if form.is_valid():
            try:
                saved = do_save_limits(
                    form.limits(), actor=request.user, note=form.cleaned_data["note"]
                )
            except ValidationError as problem:
                form.add_error(None, problem.messages[0])
            else:
                if current is not None and saved.pk == current.pk:
                    messages.info(request, _("Nothing changed; no new version."))
                else:
                    messages.success(
                        request,
                        _("Limits saved as version %(version)s; they apply from now on.")
                        % {"version": saved.version},
                    )
                return redirect("resolutions:limits")
        status = 400
    else:
        form = LimitsForm(**form_arguments)
    history = ResolutionLimits.objects.select_related("changed_by").order_by("-version")
    return render(
        request,
        "resolutions/limits.html",
        {
            "form": form,
            "current": current,
            "history": history[:HISTORY_SHOWN],
            "can_change": can_change,
            "role_labels": {role.value: role.label for role in Role},
            "action_labels": ACTION_LABELS,
        },
        status=status,
    )
