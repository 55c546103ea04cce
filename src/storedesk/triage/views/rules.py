"""Routing rules: the list in running order, the editor (with "test against past tickets"),
moving a rule up or down, deleting it."""

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.triage import queries
from storedesk.triage.facts import ATTRIBUTES
from storedesk.triage.forms import RuleForm, RuleMoveForm
from storedesk.triage.models import RoutingRule
from storedesk.triage.rules import ACTION_NAMES, RuleSyntaxError, try_condition
from storedesk.triage.services import do_delete_rule, do_move_rule, do_save_rule
from storedesk.triage.views import PER_PAGE


@permission_required("triage.view_routingrule")
def rule_list(request):
    """The rules in the order they run, so a lead sees which one fires first."""
    return render(
        request,
        "triage/rule_list.html",
        {
            "page": paginate(request, queries.routing_rules(), PER_PAGE),
            "can_change": request.user.has_perm("triage.change_routingrule"),
        },
    )


@permission_required("triage.view_routingrule")
def rule_edit(request, pk: int | None = None):
    """Write or change a rule, or try its condition on past tickets before saving it."""
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    data = {
        "name": rule.name if rule else "",
        "condition": rule.condition if rule else "",
        "actions": rule.actions if rule else "",
        "stop_processing": rule.stop_processing if rule else False,
        "is_active": rule.is_active if rule else True,
    }
    error, error_field, test = "", "", None
    can_save = request.user.has_perm(
        "triage.add_routingrule" if rule is None else "triage.change_routingrule"
    )
    if request.method == "POST":
        form = RuleForm(request.POST)
        form.is_valid()  # every field is free text or a checkbox: the service judges them
        data = form.rule_fields()
        try:
            if form.wants_test:
                test = try_condition(data["condition"])
            elif not can_save:
                error = _("Your role can read rules but not change them.")
            else:
                saved = do_save_rule(rule, actor=request.user, **data)
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
                return redirect("triage:rules")
        except RuleSyntaxError as problem:
            error, error_field = problem.messages[0], problem.field
    status = 400 if error else 200
    return render(
        request,
        "triage/rule_form.html",
        {
            "rule": rule,
            "data": data,
            "error": error,
            "error_field": error_field,
            "test": test,
            "can_save": can_save,
            "attributes": sorted(ATTRIBUTES.items()),
            "action_names": ACTION_NAMES,
            "teams": queries.teams(),
        },
        status=status,
    )


@require_POST
@permission_required("triage.change_routingrule")
def rule_move(request, pk: int):
    """Swap a rule with its neighbour: order decides which rule wins."""
    form = RuleMoveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(form.first_error())
    do_move_rule(get_object_or_404(RoutingRule, pk=pk), actor=request.user, direction=form.step)
    return redirect("triage:rules")


@require_POST
@permission_required("triage.delete_routingrule")
def rule_delete(request, pk: int):
    """Remove a rule that no longer applies (audited with what it said)."""
    rule = get_object_or_404(RoutingRule, pk=pk)
    do_delete_rule(rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("triage:rules")
