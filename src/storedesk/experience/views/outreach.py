"""Outreach pages: segments with their live count, campaigns with preview, send and results,
and the customer's one-click unsubscribe."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from storedesk.commerce.queries import current_store
from storedesk.core.pagination import paginate, render_list
from storedesk.core.permissions import permission_required
from storedesk.experience import queries, services
from storedesk.experience.forms import CampaignForm, SegmentForm
from storedesk.experience.models import Campaign, Segment
from storedesk.experience.services.outreach import (
    VARIABLES,
    postal_address,
    recipient_from_token,
    render_message,
)

PAGE_SIZE = 25
VIEW = "experience.view_campaign"
CHANGE = "experience.change_campaign"
SEND = "experience.send_campaign"
VIEW_SEGMENTS = "experience.view_segment"
CHANGE_SEGMENTS = "experience.change_segment"


def _store():
    store = current_store()
    if store is None:
        raise Http404
    return store


@permission_required(VIEW_SEGMENTS)
def segment_list(request):
    """Every segment with its exact count of customers today."""
    store = _store()
    page = paginate(request, queries.segments_for_list(store), PAGE_SIZE)
    rows = [(segment, queries.segment_members(segment).count()) for segment in page]
    return render_list(
        request,
        "experience/outreach/segment_list.html",
        "experience/outreach/segment_list.html#results",
        {"page": page, "rows": rows},
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW_SEGMENTS)
def segment_edit(request, pk: int | None = None):
    """Define a segment as data; the count and a sample show who it holds now."""
    store = _store()
    segment = get_object_or_404(Segment, pk=pk, store=store) if pk else None
    status = 200
    if request.method == "POST":
        if not request.user.has_perm(CHANGE_SEGMENTS):
            return render(request, "error.html", status=403)
        form = SegmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.do_save_segment(
                    actor=request.user,
                    store=store,
                    segment=segment,
                    name=data["name"],
                    kind=data["kind"],
                    parameters=data["parameters"],
                    description=data["description"],
                )
            except services.OutreachError as problem:
                form.add_error("name", problem.message)
            else:
                messages.success(request, _("Segment “%(name)s” saved.") % {"name": saved.name})
                return redirect("experience:segment", saved.pk)
        status = 400
    else:
        form = SegmentForm(initial=SegmentForm.initial_for(segment) if segment else None)
    preview = queries.audience_preview(queries.segment_members(segment)) if segment else None
    return render(
        request,
        "experience/outreach/segment_form.html",
        {
            "segment": segment,
            "form": form,
            "preview": preview,
            "can_change": request.user.has_perm(CHANGE_SEGMENTS),
        },
        status=status,
    )


@permission_required(VIEW)
def campaign_list(request):
    """Campaigns, newest first, with their status and size."""
    store = _store()
    page = paginate(request, queries.campaigns_for_list(store), PAGE_SIZE)
    return render_list(
        request,
        "experience/outreach/campaign_list.html",
        "experience/outreach/campaign_list.html#results",
        {"page": page},
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW)
def campaign_edit(request, pk: int | None = None):
    """Edit a campaign and preview it: the exact recipient count, a sample, the e-mail as the
    first of them gets it; once it went out, its results."""
    store = _store()
    campaign = get_object_or_404(Campaign, pk=pk, store=store) if pk else None
    status = 200
    if request.method == "POST":
        if not request.user.has_perm(CHANGE):
            return render(request, "error.html", status=403)
        form = CampaignForm(request.POST, store=store)
        if form.is_valid():
            try:
                saved = services.do_save_campaign(
                    actor=request.user, store=store, campaign=campaign, **form.cleaned_data
                )
            except services.OutreachError as problem:
                form.add_error(None, problem.message)
            else:
                messages.success(request, _("Campaign “%(name)s” saved.") % {"name": saved.name})
                return redirect("experience:campaign", saved.pk)
        status = 400
    else:
        initial = CampaignForm.initial_for(campaign) if campaign else {"control_percent": 10}
        form = CampaignForm(initial=initial, store=store)
    context = {
        "campaign": campaign,
        "form": form,
        "variables": list(VARIABLES.items()),
        "can_change": request.user.has_perm(CHANGE),
        "can_send": request.user.has_perm(SEND),
        "postal_address": postal_address(store),
    }
    if campaign is not None:
        context.update(_campaign_context(campaign, store))
    return render(request, "experience/outreach/campaign_form.html", context, status=status)


def _campaign_context(campaign: Campaign, store) -> dict:
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        preview = queries.audience_preview(
            queries.campaign_audience(campaign), campaign.control_percent
        )
        first = preview.sample[0].first_name if preview.sample else "Emma"
        email = render_message(
            campaign,
            store,
            recipient_id=None,
            first_name=first,
            coupon_code="SAMPLE-CODE" if campaign.offer_kind == Campaign.Offer.COUPON else "",
        )
        return {"preview": preview, "email": email}
    return {"results": queries.campaign_results(campaign)}


@require_POST
@permission_required(SEND)
def campaign_send(request, pk: int):
    """Queue the campaign now; the sender works through it at the mail backend's pace."""
    campaign = get_object_or_404(Campaign, pk=pk, store=_store())
    try:
        result = services.do_queue_campaign(campaign.pk, actor=request.user)
    except services.OutreachError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(
            request,
            _("Queued: %(count)s messages go out at the mail service's pace.")
            % {"count": result.campaign.recipients_count - result.campaign.control_count},
        )
    return redirect("experience:campaign", campaign.pk)


@require_POST
@permission_required(SEND)
def campaign_schedule(request, pk: int):
    """Let the daily run send it on its date (anniversaries: every day)."""
    campaign = get_object_or_404(Campaign, pk=pk, store=_store())
    try:
        services.do_schedule_campaign(campaign, actor=request.user)
    except services.OutreachError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("Scheduled."))
    return redirect("experience:campaign", campaign.pk)


@require_POST
@permission_required(SEND)
def campaign_cancel(request, pk: int):
    """Stop it: what is not sent yet is not sent."""
    campaign = get_object_or_404(Campaign, pk=pk, store=_store())
    try:
        services.do_cancel_campaign(campaign, actor=request.user)
    except services.OutreachError as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("Cancelled."))
    return redirect("experience:campaign", campaign.pk)


@csrf_exempt  # RFC 8058: mail clients POST the one-click unsubscribe without our cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows the button (link scanners must not unsubscribe anyone); POST unsubscribes."""
    recipient_id = recipient_from_token(token)
    recipient = queries.recipient_for_token(recipient_id) if recipient_id else None
    if recipient is None:
        return render(
            request, "experience/outreach/unsubscribe.html", {"invalid": True}, status=404
        )
    store = recipient.campaign.store
    if request.method == "POST":
        services.do_unsubscribe(recipient.pk, source="one-click")
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return render(
            request, "experience/outreach/unsubscribe.html", {"store": store, "done": True}
        )
    return render(
        request,
        "experience/outreach/unsubscribe.html",
        {"store": store, "done": recipient.unsubscribed_at is not None, "email": recipient.email},
    )
