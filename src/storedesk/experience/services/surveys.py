"""Surveys: inviting (throttled), sending the one-click e-mail, recording the answer once,
and a lead's follow-up ticket after a bad score.

Throttle: every invitation first locks the address's `SurveyRecipient` row, so at most one
survey (CSAT or NPS) reaches an address in `SURVEY_THROTTLE_DAYS`, even when two of the
customer's tickets are solved at the same moment. A ticket is surveyed once (a unique
constraint), however often it is solved again or its event re-dispatched.

Sending is at most once: the invitation is marked sent, with a fresh token, in a short
transaction before the mail server is called. A failure the server reports before accepting
the mail (a 4xx, a refused connection) puts it back in the queue for the retry sweep, up to
MAX_SEND_ATTEMPTS; a permanent one (5xx, a bad address) marks it failed with the error. Only
the token's SHA-256 is stored: the raw token lives in the e-mail alone.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from storedesk.audit.services import record_audit
from storedesk.core.events import record_event
from storedesk.desk.mail_out import PermanentDeliveryError, classify_failure
from storedesk.desk.models import Channel, Message, Ticket
from storedesk.desk.services import do_add_note, do_assign, do_open_ticket, lock_ticket
from storedesk.experience.models import (
    SCORE_RANGE,
    SurveyDefinition,
    SurveyInvitation,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from storedesk.experience.queries import (
    BAD_SCORE,
    follow_up_lead,
    hash_survey_token,
    recent_buyers,
    ticket_snapshot,
)

logger = logging.getLogger(__name__)

EMAIL_LANGUAGE = "en-us"
SURVEY_ACTOR = "survey-link"  # the customer, through the link in their e-mail
DEFAULT_TEXTS = {
    SurveyKind.CSAT: {
        "subject": "How did we do? {ticket}",
        "intro": (
            "Hi {first_name}, your request {ticket} was marked as solved. "
            "We'd love to know how it went: one click below is all it takes."
        ),
        "question": "How satisfied are you with the help you received?",
        "follow_up_question": "Anything you'd like to tell us? (optional)",
        "thank_you": "Thank you! Your feedback helps our small team do better every day.",
    },
    SurveyKind.NPS: {
        "subject": "A quick question about {store}",
        "intro": (
            "Hi {first_name}, thank you for your recent order {order}. "
            "We read every answer, so one click below helps us a lot."
        ),
        "question": "How likely are you to recommend {store} to a friend or colleague?",
        "follow_up_question": "Why did you choose that score? (optional)",
        "thank_you": "Thank you for taking the time. It means a lot to us.",
    },
}
MAX_SEND_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)  # a queued invitation this old lost its task or failed
TEXT_FIELDS = ("subject", "intro", "question", "follow_up_question", "thank_you")
SCALE_WORDS = {
    SurveyKind.CSAT: ("Very unhappy", "Very happy"),
    SurveyKind.NPS: ("Not at all likely", "Extremely likely"),
}


class SurveyClosed(Exception):
    """The link cannot take an answer (expired); `reason` names why for the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def throttle_days() -> int:
    return int(getattr(settings, "SURVEY_THROTTLE_DAYS", 30))


def valid_days() -> int:
    return int(getattr(settings, "SURVEY_LINK_DAYS", 30))


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(24)
    return raw, hash_survey_token(raw)


def definition_for(kind: str) -> SurveyDefinition:
    """The texts of a kind; the shipped US-English defaults the first time."""
    definition = SurveyDefinition.objects.filter(kind=kind).first()
    if definition is not None:
        return definition
    try:
        with transaction.atomic():
            return SurveyDefinition.objects.create(
                kind=kind, updated_at=timezone.now(), **DEFAULT_TEXTS[SurveyKind(kind)]
            )
    except IntegrityError:
        return SurveyDefinition.objects.get(kind=kind)


@transaction.atomic
def do_update_survey_texts(kind: str, texts: dict, *, actor) -> SurveyDefinition:
    """A lead's edit of a survey's texts: a new version, audited with what changed."""
    definition = definition_for(kind)
    definition = SurveyDefinition.objects.select_for_update().get(pk=definition.pk)
    changes = {
        name: {"old": getattr(definition, name), "new": texts[name]}
        for name in TEXT_FIELDS
        if name in texts and texts[name] != getattr(definition, name)
    }
    if not changes:
        return definition
    for name, change in changes.items():
        setattr(definition, name, change["new"])
    definition.version += 1
    definition.updated_by = actor
    definition.updated_at = timezone.now()
    definition.save()
    record_audit(
        actor=actor,
        action="experience.survey_texts_changed",
        obj=definition,
        changes={"version": definition.version, **changes},
    )
    return definition


# --- inviting ---------------------------------------------------------------------------------


def _claim_recipient(email: str, now: datetime) -> bool:
    """Lock the address's row (creating it once) and take the throttle slot; False when the
    address was invited inside the window. Call inside the invitation's transaction."""
    try:
        with transaction.atomic():
            SurveyRecipient.objects.get_or_create(email=email)
    except IntegrityError:  # created by a concurrent invitation meanwhile: lock it below
        pass
    recipient = SurveyRecipient.objects.select_for_update().get(email=email)
    if recipient.last_invited_at and recipient.last_invited_at > now - timedelta(
        days=throttle_days()
    ):
        return False
    recipient.last_invited_at = now
    recipient.save(update_fields=["last_invited_at"])
    return True


def _invite(kind: str, *, email: str, store, now: datetime, **fields) -> SurveyInvitation | None:
    email = (email or "").strip().lower()
    if not email or store is None or not _claim_recipient(email, now):
        return None
    definition = definition_for(kind)
    invitation = SurveyInvitation.objects.create(
        kind=kind,
        email=email,
        store=store,
        definition_version=definition.version,
        token_hash=_new_token()[1],  # replaced by the sent link's when the mail goes out
        created_at=now,
        expires_at=now + timedelta(days=valid_days()),
        **fields,
    )
    record_audit(
        actor=None,
        action="experience.survey_invited",
        obj=invitation,
        changes={"kind": kind, "ticket": fields.get("ticket") and fields["ticket"].pk},
    )
    record_event("survey_invitation_created", invitation_id=invitation.pk, kind=kind)
    return invitation


def do_invite_after_solve(
    ticket_id: int, *, now: datetime | None = None
) -> SurveyInvitation | None:
    """The CSAT invitation of a solved ticket: None when the ticket is no longer solved, has
    no address, was surveyed already, its requester was asked within the window, or the
    customer never wrote on it (a notice the desk sent first, such as a delay notice, asked
    nothing to rate)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            ticket = lock_ticket(ticket_id)
            if ticket.status != Ticket.Status.SOLVED or ticket.merged_into_id:
                return None
            if SurveyInvitation.objects.filter(ticket=ticket).exists():
                return None
            if not Message.objects.filter(ticket=ticket, kind=Message.Kind.INBOUND).exists():
                return None
            return _invite(
                SurveyKind.CSAT,
                email=ticket.requester_email,
                store=ticket.store,
                now=now,
                customer_id=ticket.customer_id,
                ticket=ticket,
                **ticket_snapshot(ticket),
            )
    except Ticket.DoesNotExist:
        return None
    except IntegrityError:  # the same ticket surveyed by a concurrent dispatch
        return None


def do_invite_recent_buyers(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """NPS invitations to recent buyers (ordered 14–45 days ago) not surveyed lately; one
    transaction per buyer so a lock is held briefly. Returns the new invitations' ids."""
    now = now or timezone.now()
    created = []
    for order in recent_buyers(now, min_days=14, max_days=45, limit=limit):
        with transaction.atomic():
            invitation = _invite(
                SurveyKind.NPS,
                email=order.email,
                store=order.store,
                now=now,
                customer_id=order.customer_id,
                order=order,
                channel=Channel.EMAIL,
            )
        if invitation is not None:
            created.append(invitation.pk)
    return created


# --- sending ----------------------------------------------------------------------------------


def desk_url(path: str) -> str:
    return str(settings.DESK_URL or "http://127.0.0.1:8000").rstrip("/") + path


def _fill(text: str, values: dict) -> str:
    """Placeholders a lead may use in the texts; an unknown one is left as written."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@dataclass(frozen=True)
class SurveyEmail:
    subject: str
    text: str
    html: str


def render_survey_email(invitation: SurveyInvitation, raw_token: str) -> SurveyEmail:
    """The e-mail in US English: the intro, the question and one link per score."""
    definition = definition_for(invitation.kind)
    ticket = invitation.ticket
    customer = invitation.customer
    values = {
        "first_name": (customer.first_name if customer else "")
        or (ticket.requester_name.split(" ")[0] if ticket and ticket.requester_name else "")
        or "there",
        "ticket": ticket.token if ticket else "",
        "order": invitation.order.number if invitation.order_id else "",
        "store": invitation.store.name,
    }
    low, high = SCORE_RANGE[SurveyKind(invitation.kind)]
    link = desk_url(reverse("experience:survey_answer", args=[raw_token]))
    scores = [{"score": n, "url": f"{link}?score={n}"} for n in range(low, high + 1)]
    context = {
        "invitation": invitation,
        "subject": " ".join(_fill(definition.subject, values).split()),
        "intro": _fill(definition.intro, values),
        "question": _fill(definition.question, values),
        "scores": scores,
        "low_word": SCALE_WORDS[SurveyKind(invitation.kind)][0],
        "high_word": SCALE_WORDS[SurveyKind(invitation.kind)][1],
        "store": invitation.store,
        "link": link,
        "expires_at": invitation.expires_at,
    }
    with translation.override(EMAIL_LANGUAGE):
        text = render_to_string("experience/surveys/email.txt", context)
        html = render_to_string("experience/surveys/email.html", context)
    return SurveyEmail(context["subject"], text, html)


def _sender(invitation: SurveyInvitation) -> tuple[str, list[str]]:
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    store = invitation.store
    reply_to = [store.support_email] if getattr(store, "support_email", "") else []
    return formataddr((store.name or default_name, default_address)), reply_to


def send_survey_invitation(invitation_id: int) -> str:
    """Send one queued invitation at most once: claimed with a fresh token, then mailed;
    'sent', 'failed' or 'skipped' (not queued any more)."""
    raw_token, token_hash = _new_token()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(of=("self",))
            .select_related("store", "ticket", "customer", "order")
            .filter(pk=invitation_id, status=SurveyInvitation.Status.QUEUED)
            .first()
        )
        if invitation is None:
            return "skipped"
        invitation.token_hash = token_hash
        invitation.status = SurveyInvitation.Status.SENT
        invitation.sent_at = timezone.now()
        invitation.attempts += 1
        invitation.save(update_fields=["token_hash", "status", "sent_at", "attempts"])
    try:
        mail = render_survey_email(invitation, raw_token)
        from_address, reply_to = _sender(invitation)
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text,
            from_email=from_address,
            to=[invitation.email],
            reply_to=reply_to,
            headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        )
        message.attach_alternative(mail.html, "text/html")
        if not message.send():
            raise OSError("the mail backend accepted nothing")
    except Exception as error:  # every failure is kept on the invitation, never raised to a 500
        permanent = classify_failure(error) is PermanentDeliveryError
        again = not permanent and invitation.attempts < MAX_SEND_ATTEMPTS
        logger.warning("Survey invitation %s not sent: %s", invitation_id, error)
        SurveyInvitation.objects.filter(pk=invitation_id).update(
            status=SurveyInvitation.Status.QUEUED if again else SurveyInvitation.Status.FAILED,
            sent_at=None,
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        return "retry" if again else "failed"
    return "sent"


def queued_invitations(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Invitations still queued a while after they were made (a transient mail failure, or a
    task lost with its worker) and still worth sending: the retry sweep's work."""
    now = now or timezone.now()
    return list(
        SurveyInvitation.objects.filter(
            status=SurveyInvitation.Status.QUEUED,
            created_at__lt=now - RETRY_AFTER,
            expires_at__gt=now + timedelta(days=1),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- answering --------------------------------------------------------------------------------


def validate_score(kind: str, score: int) -> int:
    low, high = SCORE_RANGE[SurveyKind(kind)]
    if not low <= score <= high:
        raise ValidationError(f"the score must be between {low} and {high}")
    return score


@dataclass(frozen=True)
class Answer:
    response: SurveyResponse
    created: bool  # False: the invitation had been answered already; nothing changed


@transaction.atomic
def do_record_survey_answer(
    invitation: SurveyInvitation, score: int, *, comment: str = "", now: datetime | None = None
) -> Answer:
    """The customer's answer, once: a second one (another click, a replay of the form)
    returns the first unchanged. An expired link raises SurveyClosed. A bad score opens a
    follow-up ticket for a lead."""
    now = now or timezone.now()
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("store", "ticket", "customer")
        .get(pk=invitation.pk)
    )
    existing = SurveyResponse.objects.filter(invitation=invitation).first()
    if existing is not None:
        return Answer(existing, created=False)
    if invitation.expires_at <= now or invitation.sent_at is None:
        raise SurveyClosed("expired")
    validate_score(invitation.kind, score)
    comment = (comment or "").strip()[:4000]
    response = SurveyResponse.objects.create(
        invitation=invitation,
        kind=invitation.kind,
        score=score,
        comment=comment,
        created_at=now,
        commented_at=now if comment else None,
    )
    invitation.answered_at = now
    invitation.save(update_fields=["answered_at"])
    if score <= BAD_SCORE[SurveyKind(invitation.kind)]:
        response.follow_up_ticket = _open_follow_up(invitation, response)
        response.save(update_fields=["follow_up_ticket"])
    record_audit(
        actor=None,
        actor_label=SURVEY_ACTOR,
        action="experience.survey_answered",
        obj=response,
        changes={"kind": invitation.kind, "score": score},
    )
    record_event("survey_answered", response_id=response.pk, kind=invitation.kind, score=score)
    return Answer(response, created=True)


@transaction.atomic
def do_add_survey_comment(response: SurveyResponse, comment: str) -> SurveyResponse:
    """The comment typed after the one-click score; set once (a later post changes nothing),
    and copied to the follow-up ticket when there is one."""
    response = SurveyResponse.objects.select_for_update(of=("self",)).get(pk=response.pk)
    comment = (comment or "").strip()[:4000]
    if not comment or response.comment:
        return response
    response.comment, response.commented_at = comment, timezone.now()
    response.save(update_fields=["comment", "commented_at"])
    if response.follow_up_ticket_id:
        do_add_note(
            response.follow_up_ticket, author=None, text=f"The customer's comment: {comment}"
        )
    record_audit(
        actor=None,
        actor_label=SURVEY_ACTOR,
        action="experience.survey_commented",
        obj=response,
        changes={"length": len(comment)},
    )
    return response


def _open_follow_up(invitation: SurveyInvitation, response: SurveyResponse) -> Ticket:
    """A new ticket linked to the surveyed one, assigned to a lead, with the score as a note."""
    label = "CSAT" if invitation.kind == SurveyKind.CSAT else "NPS"
    low, high = SCORE_RANGE[SurveyKind(invitation.kind)]
    about = f" about {invitation.ticket.token}" if invitation.ticket_id else ""
    ticket = do_open_ticket(
        channel=Channel.EMAIL,
        requester_email=invitation.email,
        requester_name=invitation.customer.full_name if invitation.customer_id else "",
        subject=f"Low {label} score ({response.score}/{high}){about}",
        store=invitation.store,
        customer=invitation.customer,
        orders=[invitation.order] if invitation.order_id else [],
        follow_up_of=invitation.ticket,
    )
    lead = follow_up_lead()
    if lead is not None:
        ticket = do_assign(ticket, actor=None, assignee=lead)
    lines = [f"The customer scored {response.score} on a {low}–{high} {label} survey{about}."]
    if response.comment:
        lines.append(f"Their comment: {response.comment}")
    lines.append("Please reach out and make it right.")
    do_add_note(ticket, author=None, text="\n".join(lines))
    return ticket
