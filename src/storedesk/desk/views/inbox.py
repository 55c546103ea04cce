"""The inbox: views with counts, filters, a keyset-paginated list and bulk actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape  # what Django's escape does, without its lazy-string wrapper

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.accounts.models import Team, User
from storedesk.core.pagination import render_list
from storedesk.core.permissions import permission_required
from storedesk.desk import queries
from storedesk.desk.agent_services import do_bulk_action, do_delete_view, do_save_view
from storedesk.desk.forms import BulkActionForm, InboxFilterForm, SavedViewForm
from storedesk.desk.models import Channel, Ticket
from storedesk.desk.search import SearchError, SearchFilters, search_tickets
from storedesk.desk.views.form_rendering import WIDGETS

DEFAULT_VIEW = "open"
SEARCH_MATCHES = 100  # the search box lists the best matches, by latest activity
SNIPPET_SHOWN = 140


@dataclass(frozen=True)
class InboxRow:
    """What one row of the list shows, as text: labels, links and times are worked out once
    per page here, so the template only places strings (50 rows of `get_*_display`, `{% url %}`,
    `date`, `timesince`, related managers and localized numbers cost more than the page's
    queries)."""

    number: str
    url: str
    select_label: str
    priority: str
    requester_name: str
    requester_email: str
    subject: str
    channel_label: str
    messages_shown: str  # the number of messages when more than one
    tags: list[str]
    snippet: str
    orders: list[str]
    status: str
    status_label: str
    priority_label: str
    assignee_name: str
    team_name: str
    at_iso: str
    at_title: str
    age: str

    def html(self) -> SafeString:
        """The row's `<tr>`, every value escaped. Put together here rather than by the template
        language: two dozen template variables and tags per row, 50 rows a page, cost the
        inbox more than all its queries (6 ms against 0.5)."""
        requester = f"<strong>{escape(self.requester_name or self.requester_email or '—')}</strong>"
        if self.requester_name:
            requester += f'<br><span class="muted mono">{escape(self.requester_email)}</span>'
        count = f" · {escape(self.messages_shown)}" if self.messages_shown else ""
        tags = "".join(f'<span class="tag">{escape(tag)}</span>' for tag in self.tags)
        snippet = f'<p class="snippet">{escape(self.snippet)}</p>' if self.snippet else ""
        orders = ", ".join(f'<span class="mono">{escape(order)}</span>' for order in self.orders)
        assignee = (
            escape(self.assignee_name)
            if self.assignee_name
            else f'<span class="muted">{escape(_("Unassigned"))}</span>'
        )
        if self.team_name:
            assignee += f'<br><span class="muted">{escape(self.team_name)}</span>'
        number, url, priority = escape(self.number), escape(self.url), escape(self.priority)
        return mark_safe(  # noqa: S308 - every value above is escaped
            f"""
      <tr class="ticket-row priority-{priority}" data-url="{url}" data-number="{number}">
        <td class="select"><input type="checkbox" name="tickets" value="{number}" \
aria-label="{escape(self.select_label)}"></td>
        <td class="requester">{requester}</td>
        <td class="conversation">
          <a href="{url}" class="subject">{escape(self.subject or _("(no subject)"))}</a>
          <span class="muted">#{number} · {escape(self.channel_label)}{count}</span>
          {tags}
          {snippet}
        </td>
        <td>{orders or '<span class="muted">—</span>'}</td>
        <td><span class="badge ticket-status-{escape(self.status)}">\
{escape(self.status_label)}</span></td>
        <td><span class="priority priority-{priority}">{escape(self.priority_label)}</span></td>
        <td>{assignee}</td>
        <td class="num"><time datetime="{escape(self.at_iso)}" title="{escape(self.at_title)}">\
{escape(self.age)}</time></td>
      </tr>
    """
        )


def _shortened(text: str, limit: int = SNIPPET_SHOWN) -> str:
    """`truncatechars`: at most `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# A ticket number no ticket has, reversed once per page: its URL with the number left open.
_NUMBER_MARK = 987654321


def inbox_rows(tickets: list[queries.ListedTicket], now: datetime) -> list[InboxRow]:
    """The page's tickets as rows, in the viewer's language and time zone."""
    statuses = {value: str(label) for value, label in Ticket.Status.choices}
    priorities = {value: str(label) for value, label in Ticket.Priority.choices}
    channels = {value: str(label) for value, label in Channel.choices}
    select = _("Select ticket %(number)s")
    url = reverse("desk:ticket", args=[_NUMBER_MARK]).replace(str(_NUMBER_MARK), "{}")
    rows = []
    for ticket in tickets:
        at = timezone.localtime(ticket.last_message_at or ticket.created_at)
        rows.append(
            InboxRow(
                number=str(ticket.number),
                url=url.format(ticket.number),
                select_label=select % {"number": ticket.number},
                priority=str(ticket.priority),
                requester_name=ticket.requester_name,
                requester_email=ticket.requester_email,
                subject=ticket.subject,
                channel_label=channels.get(ticket.channel, ticket.channel),
                messages_shown=str(ticket.message_count) if ticket.message_count > 1 else "",
                tags=ticket.tags,
                snippet=_shortened(ticket.snippet),
                orders=ticket.orders,
                status=ticket.status,
                status_label=statuses.get(ticket.status, ticket.status),
                priority_label=priorities.get(ticket.priority, str(ticket.priority)),
                assignee_name=ticket.assignee_name,
                team_name=ticket.team_name,
                at_iso=at.isoformat(),
                at_title=at.strftime("%Y-%m-%d %H:%M"),
                age=timesince(at, now),
            )
        )
    return rows


def desk_agents() -> list[User]:
    """People a ticket can be assigned to: active users, by name (one query)."""
    return list(User.objects.filter(is_active=True).order_by("first_name", "username"))


def desk_teams() -> list[Team]:
    return list(Team.objects.order_by("name"))


def _search(text: str, filters: dict, user) -> Q:
    """The search box: the best full-text matches (and exact references: ticket or order
    number, email, tracking number) within the filters, listed by latest activity."""
    if not text:
        return Q()
    assignee = filters.get("assignee", "")
    assignee_id = {"me": user.pk, "none": None, "": None}.get(assignee, assignee)
    try:
        search_filters = SearchFilters(
            statuses=(filters["status"],) if filters.get("status") else (),
            channel=filters.get("channel", ""),
            tag=filters.get("tag", ""),
            assignee_id=int(assignee_id) if assignee_id else None,
            unassigned=assignee == "none",
        )
        found = search_tickets(text, search_filters, per_page=SEARCH_MATCHES)
    except SearchError:
        return queries.text_condition(text)
    return Q(pk__in=[ticket.pk for ticket in found.items])


@permission_required("desk.view_ticket")
def inbox(request):
    """One view of the inbox, filtered; an htmx request gets the list fragment only."""
    now = timezone.now()
    agents, teams = desk_agents(), desk_teams()
    saved = queries.saved_views_of(request.user)
    views = queries.builtin_views(request.user, now) + queries.saved_inbox_views(
        request.user, saved
    )
    counted_at = queries.count_views_shared(request.user, views, now)
    tags, tags_counted_at = queries.tag_views(now)
    key = request.GET.get("view") or DEFAULT_VIEW
    view = queries.view_for_key(key, views + tags)
    if view is None:
        raise Http404(_("There is no such inbox view."))
    form = InboxFilterForm(request.GET or None, agents=agents, teams=teams, renderer=WIDGETS)
    condition = view.condition
    if form.is_bound and form.is_valid():
        filters = form.filters()
        text = filters.pop("q", "")
        condition &= queries.filter_condition(filters, request.user)
        condition &= _search(text, filters, request.user)
    cursor = None
    if request.GET.get("after"):
        try:
            cursor = queries.Cursor.decode(request.GET["after"])
        except ValueError:
            messages.warning(request, _("That page link is not valid; showing the first page."))
    page = queries.ticket_page(condition, cursor)
    params = {k: v for k, v in request.GET.items() if k != "after" and v}
    context = {
        "views": [v for v in views if v.group == "views"],
        "channel_views": [v for v in views if v.group == "channels"],
        "saved_views": [v for v in views if v.group == "saved"],
        "tag_views": tags,
        "counts_age": int((now - counted_at).total_seconds()),
        "tag_counts_age": int((now - tags_counted_at).total_seconds()),
        "view": view,
        "form": form,
        "page": page,
        "rows": inbox_rows(page.tickets, now),
        "base_query": urlencode(params),
        "next_query": urlencode({**params, "after": page.next_cursor}) if page.next_cursor else "",
        "agents": agents,
        "bulk_statuses": BulkActionForm.base_fields["status"].choices[1:],
        "bulk_priorities": BulkActionForm.base_fields["priority"].choices[1:],
        "saved_view_form": SavedViewForm(),
    }
    return render_list(request, "desk/inbox.html", "desk/inbox.html#ticket-list", context)


@require_POST
@permission_required("desk.view_ticket", "desk.change_ticket")
def bulk(request):
    """Apply one action to the selected tickets, each through the desk services."""
    form = BulkActionForm(request.POST, agents=desk_agents())
    back = request.POST.get("next") or reverse("desk:inbox")
    if not back.startswith("/desk/"):
        back = reverse("desk:inbox")
    if not form.is_valid():
        errors = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, _("Nothing changed: %(errors)s") % {"errors": errors})
        return redirect(back)
    data = form.cleaned_data
    tickets = queries.tickets_by_numbers(data["tickets"])
    if len(tickets) != len(set(data["tickets"])):
        messages.error(request, _("Nothing changed: some selected tickets no longer exist."))
        return redirect(back)
    assignee = None
    if data["action"] == "assign" and data["assignee"] not in ("", "none"):
        assignee = (
            request.user if data["assignee"] == "me" else User.objects.get(pk=int(data["assignee"]))
        )
    try:
        done = do_bulk_action(
            tickets,
            data["action"],
            actor=request.user,
            assignee=assignee,
            status=data["status"],
            tag=data["tag"],
            priority=data["priority"],
        )
    except ValidationError as error:
        messages.error(request, _("Nothing changed: %(error)s") % {"error": error.messages[0]})
        return redirect(back)
    # the agent sees their change counted
    cache.delete_many(
        [
            queries.view_counts_key(request.user),
            queries.TEAM_VIEW_COUNTS_KEY,
            queries.TEAM_QUEUE_COUNTS_KEY,
        ]
    )
    messages.success(request, _("%(count)s tickets updated.") % {"count": done})
    return redirect(back)


@require_POST
@permission_required("desk.view_ticket", "desk.add_savedview")
def save_view(request):
    """Save the current filters as a view of one's own (or shared with the team)."""
    form = SavedViewForm(request.POST)
    filters_form = InboxFilterForm(request.POST, agents=desk_agents(), teams=desk_teams())
    if not form.is_valid() or not filters_form.is_valid():
        messages.error(request, _("The view was not saved: give it a name and valid filters."))
        return redirect("desk:inbox")
    filters = filters_form.filters()
    if not filters:
        messages.error(request, _("Choose at least one filter before saving a view."))
        return redirect("desk:inbox")
    view = do_save_view(
        owner=request.user,
        name=form.cleaned_data["name"],
        filters=filters,
        is_shared=form.cleaned_data["is_shared"],
    )
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{reverse('desk:inbox')}?{urlencode({'view': f'saved:{view.pk}'})}")


@require_POST
@permission_required("desk.view_ticket", "desk.add_savedview")
def delete_view(request, pk: int):
    """Only the owner deletes a view."""
    if not do_delete_view(pk, owner=request.user):
        return HttpResponseBadRequest(_("You can only delete your own views."))
    messages.success(request, _("View deleted."))
    return redirect("desk:inbox")
