"""One dispute: everything needed to answer it, its evidence pack and its responses."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from storedesk.commerce.queries import current_store
from storedesk.core.permissions import permission_required
from storedesk.disputes import queries, services
from storedesk.disputes.errors import DisputeResponseError
from storedesk.disputes.evidence import (
    assemble_facts,
    checklist_status,
    completeness,
    draft_rebuttal,
    stripe_evidence,
)
from storedesk.disputes.forms import AssignForm, ConfirmForm, EvidenceForm, OfferForm
from storedesk.disputes.models import Dispute
from storedesk.disputes.pdf import render_pack_pdf
from storedesk.disputes.reasons import ACTION_LABELS, actions_allowed, rule_for
from storedesk.disputes.recommendation import recommend_for

VIEW = "disputes.view_dispute"
WORK = "disputes.work_dispute"


def _dispute(pk: int) -> Dispute:
    try:
        return queries.dispute_for_page(pk)
    except Dispute.DoesNotExist as missing:
        raise Http404 from missing


def pack_view(dispute: Dispute) -> dict:
    """The pack as stored, or (before the assembly task ran) assembled now without saving."""
    pack = getattr(dispute, "pack", None)
    if pack is not None:
        facts, rebuttal, overrides = pack.facts, pack.rebuttal, pack.overrides
    else:
        _, facts = assemble_facts(dispute.pk)
        rebuttal, overrides = draft_rebuttal(facts), {}
    percent, missing = completeness(facts, rebuttal)
    evidence, warnings = stripe_evidence(facts, rebuttal, overrides)
    return {
        "pack": pack,
        "facts": facts,
        "rebuttal": rebuttal,
        "overrides": overrides,
        "checklist": checklist_status(facts, rebuttal),
        "completeness": percent,
        "missing": missing,
        "evidence": evidence,
        "warnings": warnings,
    }


def _context(request, dispute: Dispute, evidence_form: EvidenceForm | None = None) -> dict:
    view = pack_view(dispute)
    allowed = actions_allowed(rule_for(dispute), dispute.stage)
    return {
        "store": current_store(),
        "dispute": dispute,
        **view,
        "messages_by_ticket": _by_ticket(view["facts"]),
        "recommendation": recommend_for(dispute, view["completeness"]),
        "timeline": queries.timeline(dispute),
        "submissions": queries.submissions(dispute),
        "actions": [(a, ACTION_LABELS[a]) for a in allowed],
        "evidence_form": evidence_form
        or EvidenceForm(initial={"rebuttal": view["rebuttal"]}, field_values=view["evidence"]),
        "assign_form": AssignForm(initial={"owner": dispute.owner_id}),
        "offer_form": OfferForm(initial={"amount": dispute.amount, "offer_type": "REFUND"}),
        "idempotency_key": uuid.uuid4().hex,
        "can_work": request.user.has_perm(WORK),
        "team_zone": queries.team_calendar().zone,
    }


def _by_ticket(facts: dict) -> list[tuple[dict, list[dict]]]:
    by_ticket = {t["id"]: (t, []) for t in facts["tickets"]}
    for message in facts["messages"]:
        if message["ticket"] in by_ticket:
            by_ticket[message["ticket"]][1].append(message)
    return list(by_ticket.values())


@permission_required(VIEW)
def detail(request, pk: int):
    return render(request, "disputes/dispute.html", _context(request, _dispute(pk)))


@permission_required(VIEW)
def evidence_pdf(request, pk: int):
    dispute = _dispute(pk)
    view = pack_view(dispute)
    pdf = render_pack_pdf(view["facts"], view["rebuttal"])
    response = HttpResponse(pdf, content_type="application/pdf")
    number = dispute.order.number.lstrip("#")
    response["Content-Disposition"] = f'inline; filename="evidence-{number}.pdf"'
    return response


@require_POST
@permission_required(WORK)
def assign(request, pk: int):
    dispute = _dispute(pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        services.do_assign_dispute(dispute, form.cleaned_data["owner"], actor=request.user)
        messages.success(request, _("Owner saved."))
    else:
        messages.error(request, _("Choose an owner from the list."))
    return redirect("disputes:detail", pk=pk)


@require_POST
@permission_required(WORK)
def edit_evidence(request, pk: int):
    dispute = _dispute(pk)
    current = pack_view(dispute)["evidence"]
    form = EvidenceForm(request.POST, field_values=current)
    if not form.is_valid():
        return render(
            request, "disputes/dispute.html", _context(request, dispute, form), status=400
        )
    try:
        services.do_update_evidence(
            dispute,
            actor=request.user,
            rebuttal=form.cleaned_data["rebuttal"],
            fields=form.edited_fields(current),
        )
    except services.EvidenceRefused as refused:
        form.add_error(None, str(refused))
        return render(
            request, "disputes/dispute.html", _context(request, dispute, form), status=409
        )
    messages.success(request, _("Evidence saved."))
    return redirect("disputes:detail", pk=pk)


@require_POST
@permission_required(WORK)
def refresh(request, pk: int):
    dispute = _dispute(pk)
    services.do_assemble_pack(dispute.pk, actor=request.user)
    messages.success(request, _("Evidence pack assembled again from the latest data."))
    return redirect("disputes:detail", pk=pk)


def _respond(request, pk: int, service, done: str):
    dispute = _dispute(pk)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form expired; reload the page and try again."))
        return redirect("disputes:detail", pk=pk)
    options = {"actor": request.user, "idempotency_key": form.cleaned_data["idempotency_key"]}
    if service is services.do_accept_dispute:
        options["note"] = form.cleaned_data["note"]
    try:
        submission = service(dispute, **options)
    except DisputeResponseError as refused:
        messages.error(request, _("Nothing was sent: %(reason)s") % {"reason": refused})
    else:
        messages.success(request, done)
        for warning in submission.warnings:
            messages.warning(request, warning)
    return redirect("disputes:detail", pk=pk)


@require_POST
@permission_required(WORK)
def submit(request, pk: int):
    return _respond(request, pk, services.do_submit_evidence, _("Evidence submitted."))


@require_POST
@permission_required(WORK)
def accept(request, pk: int):
    return _respond(request, pk, services.do_accept_dispute, _("Dispute accepted."))


def _sent(request, pk: int, send, done: str):
    try:
        submission = send()
    except DisputeResponseError as refused:
        messages.error(request, _("Nothing was sent: %(reason)s") % {"reason": refused})
    else:
        messages.success(request, done)
        for warning in submission.warnings:
            messages.warning(request, warning)
    return redirect("disputes:detail", pk=pk)


@require_POST
@permission_required(WORK)
def offer(request, pk: int):
    """Make the PayPal buyer an offer (a refund, a return or a replacement) instead of the claim."""
    dispute = _dispute(pk)
    form = OfferForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("disputes:detail", pk=pk)
    data = form.cleaned_data
    return _sent(
        request,
        pk,
        lambda: services.do_make_offer(
            dispute,
            actor=request.user,
            idempotency_key=data["idempotency_key"],
            amount=data["amount"],
            offer_type=data["offer_type"],
            note=data["note"],
        ),
        _("Offer sent to the buyer."),
    )


@require_POST
@permission_required(WORK)
def escalate(request, pk: int):
    """Ask PayPal to decide the inquiry (it becomes a claim)."""
    dispute = _dispute(pk)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form expired; reload the page and try again."))
        return redirect("disputes:detail", pk=pk)
    data = form.cleaned_data
    return _sent(
        request,
        pk,
        lambda: services.do_escalate(
            dispute,
            actor=request.user,
            idempotency_key=data["idempotency_key"],
            note=data["note"],
        ),
        _("Escalated to PayPal as a claim."),
    )


urlpatterns = [
    path("<int:pk>/", detail, name="detail"),
    path("<int:pk>/evidence.pdf", evidence_pdf, name="evidence_pdf"),
    path("<int:pk>/assign/", assign, name="assign"),
    path("<int:pk>/evidence/", edit_evidence, name="edit_evidence"),
    path("<int:pk>/refresh/", refresh, name="refresh"),
    path("<int:pk>/submit/", submit, name="submit"),
    path("<int:pk>/accept/", accept, name="accept"),
    path("<int:pk>/offer/", offer, name="offer"),
    path("<int:pk>/escalate/", escalate, name="escalate"),
]
