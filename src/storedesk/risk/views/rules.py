"""Risk pages: the rules in force, the rule editor with its live check and backtest, and the
lists rules read. Views check input and permissions and call the rule and list services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from storedesk.core.pagination import paginate, render_list
from storedesk.core.permissions import permission_required
from storedesk.risk import queries
from storedesk.risk.backtest import BacktestResult, backtest_rule
from storedesk.risk.forms import DEFAULT_BACKTEST_DAYS, BacktestForm, ListAddForm, RuleForm
from storedesk.risk.language import Action, RuleError, parse_rule, rule_text
from storedesk.risk.models import RiskList, RiskRule
from storedesk.risk.services import (
    do_add_to_list,
    do_remove_from_list,
    do_reorder_rules,
    do_save_rule,
    do_set_rule_enabled,
    list_kind,
    next_rule_priority,
)

logger = logging.getLogger(__name__)

RULES_PER_PAGE = 100
VERSIONS_PER_PAGE = 20
ENTRIES_PER_PAGE = 50


# --- The live check: parse error with a pointer, or the backtest ----------------------------


@dataclass
class RuleCheck:
    source: str
    days: int
    error: RuleError | None = None
    line: int = 0
    column: int = 0
    line_text: str = ""
    canonical: str = ""
    result: BacktestResult | None = None
    examples: list | None = None
    failure: str = ""

    @property
    def caret_padding(self) -> str:
        return " " * (self.column - 1)

    @property
    def is_allow(self) -> bool:
        return self.canonical.startswith(f"{Action.ALLOW} ")

    @property
    def match_percent(self) -> str:
        return f"{self.result.match_rate:.1%}" if self.result else ""


def _locate(error: RuleError) -> tuple[int, int, str]:
    """Line, column and text of the line where a (possibly multi-line) rule goes wrong."""
    before = error.source[: error.position]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    end = error.source.find("\n", start)
    line_text = error.source[start : end if end != -1 else len(error.source)]
    return line, error.position - start + 1, line_text


def check_rule(source: str, days: int) -> RuleCheck:
    """Validate a rule's text; when it is valid, backtest it over the last `days` days."""
    check = RuleCheck(source=source, days=days)
    try:
        check.result = backtest_rule(source, days, cached=True)
    except RuleError as error:
        check.error = error
        check.line, check.column, check.line_text = _locate(error)
        return check
    except pl.exceptions.PolarsError:
        logger.exception("backtest failed for %r", source)
        check.failure = _("The backtest could not run on this rule; the error has been logged.")
        return check
    check.canonical = rule_text(parse_rule(source))
    check.examples = queries.orders_by_id(check.result.examples)
    return check


@permission_required("risk.view_riskrule")
@require_POST
def rule_check(request):
    """htmx, while the rule is typed: the fragment with the error or the backtest."""
    form = BacktestForm(request.POST)
    check = None
    if form.is_valid():
        check = check_rule(form.cleaned_data["source"], form.cleaned_data["days"])
    return render(request, "risk/rule_form.html#check", {"check": check, "check_form": form})


# --- Rules --------------------------------------------------------------------------------


@permission_required("risk.view_riskrule")
def rule_list(request):
    page = paginate(request, queries.rules_in_order(), RULES_PER_PAGE)
    queries.mark_broken(queries.with_fire_counts(list(page.object_list)))
    return render(
        request,
        "risk/rule_list.html",
        {"page": page, "can_change": request.user.has_perm("risk.change_riskrule")},
    )


@permission_required("risk.change_riskrule")
@require_POST
def rule_set_enabled(request, pk: int):
    rule = get_object_or_404(RiskRule, pk=pk)
    enabled = request.POST.get("enabled") == "1"
    try:
        do_set_rule_enabled(rule, enabled, actor=request.user)
    except RuleError as error:
        messages.error(
            request,
            _("“%(name)s” cannot be switched on until it is corrected: %(error)s")
            % {"name": rule.name, "error": error},
        )
    else:
        message = _("“%(name)s” is on.") if enabled else _("“%(name)s” is off.")
        messages.success(request, message % {"name": rule.name})
    return redirect("risk:rules")


@permission_required("risk.change_riskrule")
@require_POST
def rule_move(request, pk: int):
    """One place up or down in the order of evaluation."""
    order = queries.rule_ids_in_order()
    if pk not in order:
        raise Http404
    index = order.index(pk)
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        do_reorder_rules(order, actor=request.user)
    return redirect("risk:rules")


def _rule_initial(rule: RiskRule | None) -> dict:
    if rule is None:
        return {"priority": next_rule_priority(), "is_enabled": True}
    return {
        "name": rule.name,
        "source": rule.source,
        "priority": rule.priority,
        "is_enabled": rule.is_enabled,
    }


@permission_required("risk.view_riskrule")
def rule_edit(request, pk: int | None = None):
    """New rule or a rule's page: the form, its live check, and its version history."""
    rule = get_object_or_404(RiskRule, pk=pk) if pk is not None else None
    can_save = request.user.has_perm("risk.change_riskrule" if rule else "risk.add_riskrule")
    check = None
    if request.method == "POST":
        if not can_save:
            raise PermissionDenied
        form = RuleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            check = check_rule(data["source"], data["days"])
            broad = check.result is not None and check.result.warning
            if broad and not data["confirm_broad"]:
                form.add_error(
                    "confirm_broad",
                    _("This rule matches many orders: tick the box to save it anyway."),
                )
            else:
                saved = do_save_rule(
                    data["source"],
                    actor=request.user,
                    name=data["name"],
                    priority=data["priority"],
                    is_enabled=data["is_enabled"],
                    rule=rule,
                    note=data["note"],
                )
                messages.success(
                    request,
                    _(
                        "“%(name)s” saved as version %(version)s. It applies to orders scored "
                        "from now on; orders already scored keep their decision."
                    )
                    % {"name": saved.name, "version": saved.version},
                )
                return redirect("risk:rule", pk=saved.pk)
        elif form.data.get("source", "").strip():
            days = form.cleaned_data.get("days") or DEFAULT_BACKTEST_DAYS
            check = check_rule(form.data["source"], days)
    else:
        form = RuleForm(initial=_rule_initial(rule))
        if rule is not None:
            check = check_rule(rule.source, DEFAULT_BACKTEST_DAYS)
    versions = None
    if rule is not None:
        versions = paginate(request, queries.versions_of(rule), VERSIONS_PER_PAGE)
        queries.with_diffs(list(versions.object_list), rule)
    return render(
        request,
        "risk/rule_form.html",
        {
            "rule": rule,
            "form": form,
            "check": check,
            "can_save": can_save,
            "versions": versions,
            "attributes": queries.attribute_docs(),
            "lists": queries.lists_with_counts(),
        },
    )


# --- Lists --------------------------------------------------------------------------------


@permission_required("risk.view_risklist")
def list_index(request):
    return render(request, "risk/list_index.html", {"lists": queries.lists_with_counts()})


@permission_required("risk.view_risklist")
def list_detail(request, name: str):
    """A list's entries, searchable by the start of a value; adding needs change_risklist."""
    risk_list = get_object_or_404(RiskList, name=name)
    can_change = request.user.has_perm("risk.change_risklist")
    form = ListAddForm(risk_list=risk_list)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = ListAddForm(request.POST, risk_list=risk_list)
        if form.is_valid():
            added = do_add_to_list(
                risk_list.name,
                list(form.cleaned_values),
                actor=request.user,
                note=form.cleaned_data["note"],
                entry_notes=form.cleaned_values,
            )
            already = len(form.cleaned_values) - added
            message = _("Added %(added)s to @%(name)s.") % {"added": added, "name": name}
            if already:
                message += " " + ngettext(
                    "%(count)s was already on it.", "%(count)s were already on it.", already
                ) % {"count": already}
            messages.success(request, message)
            return redirect("risk:list", name=risk_list.name)
    q = request.GET.get("q", "").strip()[:254]
    page = paginate(request, queries.entries_of(risk_list, q), ENTRIES_PER_PAGE)
    return render_list(
        request,
        "risk/list_detail.html",
        "risk/list_detail.html#entries",
        {
            "risk_list": risk_list,
            "kind": list_kind(risk_list),
            "page": page,
            "q": q,
            "form": form,
            "can_change": can_change,
        },
    )


@permission_required("risk.change_risklist")
@require_POST
def list_remove(request, name: str):
    risk_list = get_object_or_404(RiskList, name=name)
    values = request.POST.getlist("value")[:ENTRIES_PER_PAGE]
    removed = do_remove_from_list(
        risk_list.name, values, actor=request.user, note=request.POST.get("note", "")[:200]
    )
    if removed:
        messages.success(
            request, _("Removed %(count)s from @%(name)s.") % {"count": removed, "name": name}
        )
    else:
        messages.warning(request, _("Nothing was removed: the entry was not on the list."))
    return redirect("risk:list", name=risk_list.name)


urlpatterns = [
    path("rules/", rule_list, name="rules"),
    path("rules/new/", rule_edit, name="rule_new"),
    path("rules/check/", rule_check, name="rule_check"),
    path("rules/<int:pk>/", rule_edit, name="rule"),
    path("rules/<int:pk>/enabled/", rule_set_enabled, name="rule_enabled"),
    path("rules/<int:pk>/move/", rule_move, name="rule_move"),
    path("lists/", list_index, name="lists"),
    path("lists/<slug:name>/", list_detail, name="list"),
    path("lists/<slug:name>/remove/", list_remove, name="list_remove"),
]
