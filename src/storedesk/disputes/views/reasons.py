"""Reason rules: the gateway and network reason knowledge, versioned, edited by admins."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from storedesk.commerce.queries import current_store
from storedesk.core.permissions import permission_required
from storedesk.disputes.forms import ReasonRuleForm
from storedesk.disputes.models import ReasonRule, Stage
from storedesk.disputes.reasons import (
    CHECKLIST_ITEMS,
    ReasonRuleRefused,
    current_rules,
    do_save_reason_rule,
)

VIEW = "disputes.view_reasonrule"
EDIT = "disputes.change_reasonrule"


@permission_required(VIEW)
def rule_list(request):
    return render(
        request,
        "disputes/reason_rules.html",
        {"store": current_store(), "rules": current_rules(), "items": CHECKLIST_ITEMS},
    )


def _initial(rule: ReasonRule) -> dict:
    initial = {
        "family": rule.family,
        "response_days": rule.response_days,
        "checklist": rule.checklist,
        "source": rule.source,
        "effective_from": rule.effective_from,
    }
    for stage in Stage.values:
        initial[f"actions_{stage}"] = rule.actions.get(stage, [])
    return initial


@permission_required(VIEW)
def rule_edit(request, pk: int):
    rule = ReasonRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    status = 200
    if request.method == "POST":
        if not request.user.has_perm(EDIT):
            raise PermissionDenied
        form = ReasonRuleForm(request.POST)
        if form.is_valid():
            try:
                saved = do_save_reason_rule(
                    rule,
                    actor=request.user,
                    family=form.cleaned_data["family"],
                    response_days=form.cleaned_data["response_days"],
                    checklist=form.cleaned_data["checklist"],
                    actions=form.actions(),
                    source=form.cleaned_data["source"],
                    effective_from=form.cleaned_data["effective_from"],
                )
            except ReasonRuleRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(
                    request, _("Saved as version %(version)s.") % {"version": saved.version}
                )
                return redirect("disputes:reason_rule", pk=saved.pk)
        status = 400
    else:
        form = ReasonRuleForm(initial=_initial(rule))
    versions = ReasonRule.objects.filter(
        gateway=rule.gateway, reason=rule.reason, network_code=rule.network_code
    ).order_by("-version")
    return render(
        request,
        "disputes/reason_rule_form.html",
        {
            "store": current_store(),
            "rule": rule,
            "form": form,
            "versions": versions,
            "can_edit": request.user.has_perm(EDIT),
        },
        status=status,
    )


urlpatterns = [
    path("reasons/", rule_list, name="reason_rules"),
    path("reasons/<int:pk>/", rule_edit, name="reason_rule"),
]
