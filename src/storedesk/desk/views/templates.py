"""The reply-template library (C6) and the desk's search page: thin views over
`desk.replies` and `desk.search`."""

from __future__ import annotations

import difflib
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from storedesk.accounts.models import User
from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.desk import replies
from storedesk.desk.models import Channel, ReplyTemplate, ReplyTemplateVersion, Ticket
from storedesk.desk.numbering import typed_ticket_number
from storedesk.desk.search import KINDS, MAX_QUERY_LENGTH, SearchError, SearchFilters, search

TEMPLATES_PER_PAGE = 100
VERSIONS_PER_PAGE = 20
SEARCH_PER_PAGE = 25
SEARCH_PREVIEW = 5
KIND_PERMISSIONS = {
    "tickets": "desk.view_ticket",
    "messages": "desk.view_ticket",
    "customers": "commerce.view_customer",
    "orders": "commerce.view_order",
}
KIND_LABELS = {
    "tickets": gettext_lazy("Tickets"),
    "messages": gettext_lazy("Messages"),
    "customers": gettext_lazy("Customers"),
    "orders": gettext_lazy("Orders"),
}


class ProposalForm(forms.Form):
    subject = forms.CharField(
        label=gettext_lazy("Subject"), max_length=replies.MAX_SUBJECT_LENGTH, required=False
    )
    body = forms.CharField(
        label=gettext_lazy("Body"),
        max_length=replies.MAX_BODY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 14}),
    )
    note = forms.CharField(label=gettext_lazy("Why"), max_length=200, required=False)


def diff_lines(old: str, new: str) -> list:
    """A line diff for people: unchanged lines plain, removed in <del>, added in <ins>."""
    rows = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        marker, text = line[:2], line[2:]
        if marker == "- ":
            rows.append(format_html("<del>{}</del>", text or " "))
        elif marker == "+ ":
            rows.append(format_html("<ins>{}</ins>", text or " "))
        elif marker == "  ":
            rows.append(format_html("<span>{}</span>", text))
    return rows


def _diff_html(old: str, new: str):
    return format_html_join("\n", "{}", ((row,) for row in diff_lines(old, new)))


@permission_required("desk.view_replytemplate")
def template_list(request):
    """Active templates grouped by category, with how often each was used and open proposals."""
    category = request.GET.get("category", "")
    templates = (
        ReplyTemplate.objects.filter(is_active=True)
        .annotate(pending=Count("versions", filter=Q(versions__status="proposed")))
        .order_by("category", "name")
    )
    if category in ReplyTemplate.Category.values:
        templates = templates.filter(category=category)
    else:
        category = ""
    page = paginate(request, templates, TEMPLATES_PER_PAGE)
    labels = dict(ReplyTemplate.Category.choices)
    groups: list[dict] = []
    for template in page.object_list:
        if not groups or groups[-1]["key"] != template.category:
            groups.append(
                {"key": template.category, "label": labels.get(template.category), "items": []}
            )
        groups[-1]["items"].append(template)
    return render(
        request,
        "desk/templates_library.html",
        {
            "page": page,
            "groups": groups,
            "categories": ReplyTemplate.Category.choices,
            "category": category,
        },
    )


def _template_or_404(pk: int) -> ReplyTemplate:
    template = ReplyTemplate.objects.select_related("updated_by").filter(pk=pk).first()
    if template is None:
        raise Http404(_("No such template."))
    return template


def _detail_context(request, template: ReplyTemplate, form: ProposalForm | None = None) -> dict:
    versions = paginate(
        request,
        template.versions.select_related("proposed_by", "decided_by").order_by(
            "-created_at", "-id"
        ),
        VERSIONS_PER_PAGE,
    )
    for version in versions.object_list:
        if version.status == ReplyTemplateVersion.Status.PROPOSED:
            version.subject_changed = version.subject != template.subject
            version.diff = _diff_html(template.body, version.body)
    preview, preview_error = None, ""
    ticket_number = request.GET.get("ticket", "").strip()
    if ticket_number:
        ticket = None
        number = typed_ticket_number(ticket_number)
        if number is not None:
            ticket = (
                Ticket.objects.select_related("customer", "store").filter(number=number).first()
            )
        if ticket is None:
            preview_error = _("No ticket number %(number)s.") % {
                "number": ticket_number.lstrip("#").upper()
            }
        else:
            preview = replies.render_reply(template, ticket, request.user)
            preview.ticket = ticket
    return {
        "template": template,
        "versions": versions,
        "page": versions,
        "form": form or ProposalForm(initial={"subject": template.subject, "body": template.body}),
        "variables": list(replies.VARIABLES.items()),  # a dict has a key "items"
        "preview": preview,
        "preview_error": preview_error,
        "ticket_query": request.GET.get("ticket", "")[:20],
        "can_propose": request.user.has_perm("desk.add_replytemplateversion"),
        "can_decide": request.user.has_perm("desk.change_replytemplate"),
    }


@permission_required("desk.view_replytemplate")
def template_detail(request, pk: int):
    """One template: its text, variables, versions (proposals with a diff), a preview."""
    template = _template_or_404(pk)
    return render(request, "desk/templates_library_detail.html", _detail_context(request, template))


@require_POST
@permission_required("desk.view_replytemplate", "desk.add_replytemplateversion")
def template_propose(request, pk: int):
    """An agent proposes an edit; a lead decides."""
    template = _template_or_404(pk)
    form = ProposalForm(request.POST)
    if form.is_valid():
        try:
            replies.do_propose_template_edit(
                template,
                author=request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your proposal was sent to a team lead."))
            return redirect("desk_templates:detail", pk=template.pk)
    context = _detail_context(request, template, form)
    return render(request, "desk/templates_library_detail.html", context, status=400)


@require_POST
@permission_required("desk.view_replytemplate", "desk.change_replytemplate")
def template_decide(request, pk: int, version_pk: int):
    """A lead approves (a new version) or rejects (with a note) a proposal."""
    template = _template_or_404(pk)
    proposal = template.versions.filter(pk=version_pk).first()
    if proposal is None:
        raise Http404(_("No such proposal."))
    decision = request.POST.get("decision")
    note = request.POST.get("note", "")[:200]
    try:
        if decision == "approve":
            replies.do_approve_template_version(proposal, actor=request.user, note=note)
            messages.success(request, _("Approved: the template is at a new version."))
        elif decision == "reject":
            replies.do_reject_template_version(proposal, actor=request.user, note=note)
            messages.success(request, _("Proposal rejected."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("desk_templates:detail", pk=template.pk)


# --- search ----------------------------------------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), max_length=MAX_QUERY_LENGTH, required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("In"),
        required=False,
        choices=[("", gettext_lazy("Everything")), *KIND_LABELS.items()],
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *Ticket.Status.choices],
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"),
        required=False,
        choices=[("", gettext_lazy("Any channel")), *Channel.choices],
    )
    tag = forms.SlugField(label=gettext_lazy("Tag"), max_length=60, required=False)
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assignee"),
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        empty_label=gettext_lazy("Anyone"),
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=200)

    def filters(self) -> SearchFilters:
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def start(day):
            return datetime.combine(day, time.min, tzinfo=zone) if day else None

        return SearchFilters(
            statuses=(data["status"],) if data["status"] else (),
            channel=data["channel"],
            tag=data["tag"],
            assignee_id=data["assignee"].pk if data["assignee"] else None,
            created_from=start(data["date_from"]),
            created_to=start(data["date_to"] + timedelta(days=1)) if data["date_to"] else None,
        )


@permission_required("desk.view_ticket")
def search_page(request):
    """One box over tickets, messages, customers and orders, with ticket filters."""
    form = SearchForm(request.GET or None)
    results, error = None, ""
    allowed = [kind for kind in KINDS if request.user.has_perm(KIND_PERMISSIONS[kind])]
    kind = ""
    if form.is_bound and form.is_valid() and form.cleaned_data["q"].strip():
        kind = form.cleaned_data["kind"]
        kinds = [kind] if kind in allowed else allowed
        try:
            results = search(
                form.cleaned_data["q"],
                form.filters(),
                kinds,
                page=form.cleaned_data["page"] or 1,
                per_page=SEARCH_PER_PAGE if kind else SEARCH_PREVIEW,
            )
        except SearchError as problem:
            error = str(problem)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("kind", None)
    sections = []
    if results is not None:
        for name, page in results.pages.items():
            sections.append(
                {"kind": name, "label": KIND_LABELS[name], "page": page, "more": page.has_next}
            )
    return render(
        request,
        "desk/search.html",
        {
            "form": form,
            "results": results,
            "sections": sections,
            "kind": kind,
            "error": error,
            "base_query": query.urlencode(),
            "search_url": reverse("desk_templates:search"),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
