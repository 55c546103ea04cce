"""The ticket page: conversation timeline, composer, properties and the customer side panel."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from storedesk.commerce.models import Order, Payment, Shipment
from storedesk.commerce.queries import current_store, customer_standing, number_keys
from storedesk.core.permissions import permission_required
from storedesk.desk import mail_out, presence, queries, replies, services
from storedesk.desk.agent_services import do_unlink_order
from storedesk.desk.chat import mark_agent_present
from storedesk.desk.forms import (
    SEND_STATUSES,
    ComposerForm,
    MergeForm,
    OrderLinkForm,
    PropertiesForm,
    SplitForm,
)
from storedesk.desk.models import Attachment, Message, ReplyTemplate, Ticket
from storedesk.desk.services import AttachmentIn
from storedesk.desk.views.form_rendering import WIDGETS
from storedesk.desk.views.inbox import desk_agents, desk_teams

NOTE_ONCE_SECONDS = 60 * 60
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _ticket_or_404(number: int, read=queries.ticket_for_action) -> Ticket:
    """The ticket an action works on (everything loaded), or, for the page, what it shows."""
    try:
        return read(number)
    except Ticket.DoesNotExist as missing:
        raise Http404(_("There is no ticket with this number.")) from missing


def _properties_initial(ticket: Ticket) -> dict:
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": str(ticket.assignee_id or ""),
        "team": str(ticket.team_id or ""),
        "tags": ", ".join(ticket.tag_names),
        "follow_up_at": timezone.localtime(ticket.follow_up_at) if ticket.follow_up_at else None,
    }


def shown_messages(messages: list[Message]) -> list[Message]:
    """What each message's header shows (sender, delivery label, local time), worked out once
    per page for every message instead of by template filters per message."""
    deliveries = {value: str(label) for value, label in Message.Delivery.choices}
    for message in messages:
        at = timezone.localtime(message.created_at)
        message.at_iso = at.isoformat()
        message.at_text = at.strftime("%Y-%m-%d %H:%M")
        message.delivery_label = deliveries.get(message.delivery, message.delivery)
        message.sender = (
            message.author.display_name
            if message.author_id
            else message.from_name or message.from_email
        )
    return messages


def shown_orders(orders: list[Order]) -> list[Order]:
    """What the side panel shows of each order, payment, shipment and tracking event (labels,
    local times), worked out once: a customer's orders bring dozens of tracking events, each
    with two date filters and a label lookup in the template otherwise."""
    labels = {
        field: {value: str(label) for value, label in choices}
        for field, choices in [
            ("financial", Order.FinancialStatus.choices),
            ("fulfillment", Order.FulfillmentStatus.choices),
            ("gateway", Payment.Gateway.choices),
            ("payment", Payment.Status.choices),
            ("shipment", Shipment.Status.choices),
        ]
    }
    for order in orders:
        order.created_on = timezone.localtime(order.created_at).strftime("%Y-%m-%d")
        order.financial_status_label = labels["financial"].get(
            order.financial_status, order.financial_status
        )
        order.fulfillment_status_label = labels["fulfillment"].get(
            order.fulfillment_status, order.fulfillment_status
        )
        for payment in order.payment_list:
            payment.gateway_label = labels["gateway"].get(payment.gateway, payment.gateway)
            payment.status_label = labels["payment"].get(payment.status, payment.status)
        for shipment in order.shipment_list:
            shipment.status_label = labels["shipment"].get(shipment.status, shipment.status)
            for event in shipment.event_list:
                at = timezone.localtime(event.happened_at)
                event.at_iso = at.isoformat()
                event.at_text = at.strftime("%Y-%m-%d %H:%M")
                event.status_label = labels["shipment"].get(event.status, event.status)
    return orders


def render_ticket(request, ticket: Ticket, *, composer=None, collision=(), status=200):
    """The whole ticket page in a fixed number of queries, whatever the conversation's size."""
    user = request.user
    timeline = queries.timeline_of(ticket)
    shown_messages([item.message for item in timeline.items if item.message])
    agents, teams = desk_agents(), desk_teams()
    if composer is None:
        composer = ComposerForm(
            initial={
                "form_token": ComposerForm.new_token(),
                "seen_message": timeline.last_message_pk,
            },
            renderer=WIDGETS,
        )
    presence.heartbeat(ticket.pk, user)
    context = {
        "store": ticket.store,
        "ticket": ticket,
        "timeline": timeline,
        "composer": composer,
        "send_statuses": SEND_STATUSES,
        "collision": collision,
        "properties": PropertiesForm(
            initial=_properties_initial(ticket), agents=agents, teams=teams, renderer=WIDGETS
        ),
        "order_form": OrderLinkForm(),
        "merge_form": MergeForm(),
        "viewers": presence.viewers(ticket.pk, exclude_user_id=user.pk),
        "orders": (
            shown_orders(
                queries.side_panel_orders(
                    ticket,
                    with_refunds=user.has_perm("commerce.view_refund"),
                    with_disputes=user.has_perm("disputes.view_dispute"),
                )
            )
            if user.has_perm("commerce.view_order")
            else []
        ),
        "standing": customer_standing(ticket.customer) if ticket.customer else None,
        "previous_tickets": queries.previous_tickets(ticket),
        "reply_templates": (
            queries.reply_template_groups(replies.facts_present(ticket))
            if user.has_perm("desk.view_replytemplate")
            else []
        ),
        "chosen_template": str(composer["template"].value()),
        "statuses": Ticket.Status,
    }
    return render(request, "desk/ticket.html", context, status=status)


@permission_required("desk.view_ticket")
def ticket_detail(request, number: int):
    ticket = _ticket_or_404(number, read=queries.ticket_for_page)
    if ticket.merged_into_id:
        messages.info(
            request,
            _("Ticket %(old)s was merged into %(new)s.")
            % {"old": ticket.number, "new": ticket.merged_into.number},
        )
        return redirect("desk:ticket", number=ticket.merged_into.number)
    return render_ticket(request, ticket)


def _back(ticket: Ticket):
    return redirect("desk:ticket", number=ticket.number)


def _collision_text(replies: list[Message]) -> str:
    latest = replies[0]
    who = latest.author.display_name if latest.author else latest.from_name or _("Someone")
    ago = timesince(latest.created_at, timezone.now())
    return _("%(who)s replied %(ago)s ago — review before sending.") % {"who": who, "ago": ago}


@require_POST
@permission_required("desk.view_ticket", "desk.add_message")
def compose(request, number: int):
    """Send a reply (optionally setting the status in the same action) or add a note.

    A reply someone else sent after this page was opened stops the send until the agent has
    read it and confirms; the form token makes a double click send once.
    """
    ticket = _ticket_or_404(number)
    form = ComposerForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_ticket(request, ticket, composer=form, status=400)
    data = form.cleaned_data
    if not data["is_note"] and not data["confirm"]:
        others = queries.replies_since(ticket, data["seen_message"], request.user)
        if others:
            warning = _collision_text(others)
            retry = form.data.copy()
            retry["confirm"] = "on"
            retry["seen_message"] = str(queries.last_message_pk(ticket))
            return render_ticket(
                request, ticket, composer=ComposerForm(retry), collision=[warning], status=409
            )
    try:
        attachments = [
            AttachmentIn(
                filename=upload.name,
                content_type=upload.content_type or "application/octet-stream",
                data=upload.read(),
            )
            for upload in data["attachments"]
        ]
        for attachment in attachments:
            services.validate_attachment(attachment)
        if data["is_note"]:
            if cache.add(f"desk:note:{data['form_token']}", 1, NOTE_ONCE_SECONDS):
                services.do_add_note(ticket, author=request.user, text=data["text"])
            messages.success(request, _("Note added."))
        else:
            services.do_reply(
                ticket,
                author=request.user,
                text=data["text"],
                cc=data["cc"],
                template=_template(data.get("template")),
                status=data["send_status"] or None,
                attachments=attachments,
                idempotency_key=f"composer:{request.user.pk}:{data['form_token']}",
            )
            messages.success(request, _("Reply sent."))
    except ValidationError as error:
        form.add_error(None, error.messages[0])
        return render_ticket(request, ticket, composer=form, status=400)
    presence.leave(ticket.pk, request.user)
    return _back(ticket)


def _template(pk: int | None) -> ReplyTemplate | None:
    if not pk:
        return None
    return ReplyTemplate.objects.filter(pk=pk, is_active=True).first()


@permission_required("desk.view_ticket", "desk.view_replytemplate")
def template_preview(request, number: int):
    """The composer's text filled from a template with this ticket's values, to edit before
    sending; variables the ticket has no value for are shown as `[[name]]` and listed."""
    ticket = Ticket.objects.select_related("customer", "store").filter(number=number).first()
    if ticket is None:
        raise Http404(_("There is no ticket with this number."))
    try:
        template = _template(int(request.GET.get("template") or 0))
    except ValueError:
        template = None
    if template is None:  # "no template": keep what the agent wrote
        return HttpResponse(status=204)
    rendered = replies.render_reply(template, ticket, request.user)
    context = {"text_value": rendered.text, "missing": rendered.missing}
    return render(request, "desk/_composer_text.html", context)


@require_POST
@permission_required("desk.view_ticket", "desk.change_ticket")
def update_properties(request, number: int):
    """Status, priority, assignee, team, tags and follow-up: each change through its service."""
    ticket = _ticket_or_404(number)
    agents, teams = desk_agents(), desk_teams()
    form = PropertiesForm(request.POST, agents=agents, teams=teams)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label}: {v[0]}" for k, v in form.errors.items())
        messages.error(request, _("Nothing changed: %(errors)s") % {"errors": errors})
        return _back(ticket)
    data, actor = form.cleaned_data, request.user
    agents_by_pk = {str(user.pk): user for user in agents}
    teams_by_pk = {str(team.pk): team for team in teams}
    assignee, team = agents_by_pk.get(data["assignee"]), teams_by_pk.get(data["team"])
    if (assignee, team) != (ticket.assignee, ticket.team):
        services.do_assign(ticket, actor=actor, assignee=assignee, team=team)
    services.do_set_priority(ticket, data["priority"], actor=actor)
    services.do_set_tags(ticket, data["tags"], actor=actor)
    if data["follow_up_at"] != ticket.follow_up_at:
        services.do_set_follow_up(ticket, data["follow_up_at"], actor=actor)
    services.do_change_status(ticket, data["status"], actor=actor)
    messages.success(request, _("Ticket updated."))
    return _back(ticket)


@require_POST
@permission_required("desk.view_ticket", "desk.change_ticket")
def link_order(request, number: int):
    """Link (or unlink) an order by its number, as the agent reads it from the customer."""
    ticket = _ticket_or_404(number)
    form = OrderLinkForm(request.POST)
    store = ticket.store or current_store()
    if not form.is_valid() or store is None:
        messages.error(request, _("Type an order number."))
        return _back(ticket)
    typed = form.cleaned_data["number"]
    order = (
        Order.objects.filter(store=store, number_key__in=number_keys(typed, store))
        .order_by("pk")
        .first()
    )
    if order is None:
        messages.error(request, _("No order %(number)s in this store.") % {"number": typed})
    elif form.cleaned_data["unlink"]:
        do_unlink_order(ticket, order, actor=request.user)
        messages.success(request, _("Order %(number)s unlinked.") % {"number": order.number})
    else:
        services.do_link_orders(ticket, [order], actor=request.user)
        messages.success(request, _("Order %(number)s linked.") % {"number": order.number})
    return _back(ticket)


@require_GET
@permission_required("desk.view_ticket")
def messages_after(request, number: int):
    """The `<li>` of each message newer than `?after=`: the ticket page appends them when its
    live stream says a message arrived, rendered by the page's own `message` partial."""
    ticket = Ticket.objects.filter(number=number).only("pk", "number").first()
    if ticket is None:
        raise Http404(_("There is no ticket with this number."))
    try:
        after = max(0, int(request.GET.get("after") or 0))
    except ValueError:
        return HttpResponse(_("after must be a message number"), status=400)
    context = {
        "ticket": ticket,
        "new_messages": shown_messages(queries.messages_after(ticket, after)),
    }
    return render(request, "desk/ticket.html#live-messages", context)


@require_POST
@permission_required("desk.view_ticket", "desk.add_message")
def resend(request, number: int, pk: int):
    """Send a reply whose delivery failed once more, on a person's decision (never
    automatically: at most once). A second click finds it queued and changes nothing."""
    ticket = _ticket_or_404(number)
    message = Message.objects.filter(pk=pk, ticket=ticket).first()
    if message is None:
        raise Http404(_("There is no such reply on this ticket."))
    try:
        mail_out.do_resend_message(message, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return _back(ticket)
    messages.success(request, _("The reply is queued to be sent again."))
    return _back(ticket)


@require_POST
@permission_required("desk.view_ticket", "desk.change_ticket")
def merge(request, number: int):
    """Merge this ticket into another one; the page then shows the other ticket."""
    ticket = _ticket_or_404(number)
    form = MergeForm(request.POST)
    target_number = queries.ticket_number_in(form.data.get("into", "")) if form.is_valid() else None
    target = Ticket.objects.filter(number=target_number).first() if target_number else None
    if target is None:
        messages.error(request, _("There is no ticket with that number."))
        return _back(ticket)
    try:
        services.do_merge(ticket, target, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return _back(ticket)
    messages.success(request, _("Merged into ticket %(number)s.") % {"number": target.number})
    return _back(target)


@require_POST
@permission_required("desk.view_ticket", "desk.change_ticket")
def split(request, number: int):
    """Move the selected messages to a new ticket for the same requester."""
    ticket = _ticket_or_404(number)
    form = SplitForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Select the messages to split off."))
        return _back(ticket)
    try:
        new = services.do_split(
            ticket,
            form.cleaned_data["messages"],
            actor=request.user,
            subject=form.cleaned_data["subject"],
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return _back(ticket)
    messages.success(request, _("Split off as ticket %(number)s.") % {"number": new.number})
    return _back(new)


@require_POST
@permission_required("desk.view_ticket")
def presence_beat(request, number: int):
    """The page's heartbeat every few seconds: who else is here or typing, and whether someone
    replied since the page was opened."""
    ticket = Ticket.objects.filter(number=number).only("pk", "number").first()
    if ticket is None:
        raise Http404(_("There is no ticket with this number."))
    presence.heartbeat(ticket.pk, request.user, typing=request.POST.get("typing") == "1")
    mark_agent_present(request.user)  # the chat widget offers live chat while agents are here
    try:
        seen = int(request.POST.get("seen_message") or 0)
    except ValueError:
        seen = 0
    replies = queries.replies_since(ticket, seen, request.user) if seen else []
    context = {
        "ticket": ticket,
        "viewers": presence.viewers(ticket.pk, exclude_user_id=request.user.pk),
        "collision": [_collision_text(replies)] if replies else [],
    }
    return render(request, "desk/_presence.html", context)


@permission_required("desk.view_ticket")
def attachment(request, pk: int):
    """An attachment, only for people who may read tickets. Images show inline; every other
    type downloads, so nothing a customer sent runs in an agent's browser."""
    try:
        found = queries.attachment_for_download(pk)
    except Attachment.DoesNotExist as missing:
        raise Http404(_("There is no such attachment.")) from missing
    inline = found.content_type in INLINE_IMAGE_TYPES
    try:
        handle = found.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404(_("The attachment's file is missing.")) from missing
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=found.filename,
        content_type=found.content_type if inline else "application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
