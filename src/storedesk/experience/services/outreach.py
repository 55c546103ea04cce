"""Every write of proactive outreach (X3): segments, campaigns, queueing, sending, unsubscribes.

Sending is at most once per recipient. Recipients are written set-based when a campaign is
queued (unique per campaign and customer, so queueing twice adds nobody twice). The sender then
takes one row at a time: it claims the row (queued → sending, committed), hands the message to
the mail backend, and marks it sent. A send that raises puts the row back (it was not
accepted); a row left claimed by a worker that died is never sent again once its lease has
passed (it is marked failed as interrupted), so a crash halfway through and a resume never give
anybody the campaign twice.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.mail import DEFAULT_MAILER_ALIAS, EmailMultiAlternatives, mailers
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, CharField, F, IntegerField, Q, Value, When
from django.db.models.functions import Mod
from django.template.defaultfilters import linebreaks
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import urlize
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order, Store
from storedesk.commerce.queries import store_today
from storedesk.core.events import record_event
from storedesk.core.money import quantize
from storedesk.experience import queries
from storedesk.experience.models import (
    Campaign,
    CampaignRecipient,
    MarketingSuppression,
    Segment,
)
from storedesk.resolutions.platform import platform_for

logger = logging.getLogger(__name__)

Status = Campaign.Status
Recipient = CampaignRecipient.Status
UNSUBSCRIBE_SALT = "experience.outreach.unsubscribe"
DEMO_POSTAL_ADDRESS = "Tiny Pearl Jewelry (demo), 2 Ly Thai To, Hoan Kiem, Hanoi 100000, Vietnam"
# What a campaign's subject and body may say: these names only, never an object.
VARIABLES = {
    "first_name": "the customer's first name (or 'there')",
    "store_name": "the store's name",
    "offer": "the offer in one sentence",
    "coupon_code": "the recipient's own single-use coupon code",
    "coupon_amount": "the coupon's value, e.g. $15.00",
}
PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")
MAX_CONTROL_PERCENT = 50


class OutreachError(Exception):
    """A refused outreach action: `code` for the API, `message` for people."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 422):
        super().__init__(message)
        self.message, self.code, self.status = str(message), code, status


# --- Templates ---------------------------------------------------------------------------------


def unknown_variables(text: str) -> list[str]:
    return [name for name in PLACEHOLDER.findall(text or "") if name not in VARIABLES]


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the known placeholders; nothing else in the text is interpreted."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def postal_address(store: Store) -> str:
    """The store's postal address every campaign message carries (CAN-SPAM)."""
    return settings.STORE_POSTAL_ADDRESS or (DEMO_POSTAL_ADDRESS if store.is_demo else "")


def offer_sentence(campaign: Campaign, coupon_code: str = "") -> str:
    if campaign.offer_kind == Campaign.Offer.COUPON:
        amount = f"${quantize(campaign.offer_amount, campaign.currency):,}"
        if coupon_code:
            return f"{amount} off your next order with code {coupon_code}."
        return f"{amount} off your next order with your personal code."
    return campaign.offer_text


def message_values(campaign: Campaign, store: Store, *, first_name: str, coupon_code: str):
    return {
        "first_name": first_name or "there",
        "store_name": store.name,
        "offer": offer_sentence(campaign, coupon_code),
        "coupon_code": coupon_code,
        "coupon_amount": f"${quantize(campaign.offer_amount, campaign.currency):,}",
    }


def unsubscribe_token(recipient_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(recipient_id))


def recipient_from_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(recipient_id: int) -> str:
    path = reverse("experience:unsubscribe", args=[unsubscribe_token(recipient_id)])
    return settings.DESK_URL.rstrip("/") + path


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def render_message(
    campaign: Campaign,
    store: Store,
    *,
    recipient_id: int | None,
    first_name: str,
    coupon_code: str = "",
) -> RenderedMessage:
    """The e-mail in US English: the campaign's text with its variables filled, escaped
    whole for HTML, then the footer with the one-click unsubscribe link and the postal
    address. `recipient_id` None renders the preview (a placeholder link)."""
    values = message_values(campaign, store, first_name=first_name, coupon_code=coupon_code)
    subject = " ".join(fill(campaign.subject, values).split())[:200]
    body = fill(campaign.body, values)
    link = unsubscribe_url(recipient_id) if recipient_id else settings.DESK_URL + "/u/preview/"
    context = {
        # Escaped whole by urlize (links made clickable), so safe to put in the page as is.
        "body_html": mark_safe(  # noqa: S308
            linebreaks(urlize(body, nofollow=True, autoescape=True), autoescape=False)
        ),
        "body": body,
        "unsubscribe_url": link,
        "postal_address": postal_address(store),
        "store": store,
    }
    with translation.override("en-us"):
        text = render_to_string("experience/outreach/email.txt", context)
        html = render_to_string("experience/outreach/email.html", context)
    headers = {
        # RFC 2369 and RFC 8058: mail clients show "Unsubscribe" and POST to it in one click.
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
    }
    if recipient_id:
        headers["Message-ID"] = (
            f"<campaign-{campaign.pk}-{recipient_id}@{settings.DESK_MESSAGE_ID_DOMAIN}>"
        )
    return RenderedMessage(subject=subject, text=text, html=html, headers=headers)


# --- Segments and campaigns --------------------------------------------------------------------


@transaction.atomic
def do_save_segment(
    *,
    actor,
    store: Store,
    name: str,
    kind: str,
    parameters: dict,
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    """Create or change a segment (the form has validated the parameters)."""
    now = timezone.now()
    if segment is None:
        segment = Segment(store=store, created_at=now, created_by=_user(actor))
        action = "segment.created"
    else:
        segment = Segment.objects.select_for_update().get(pk=segment.pk, store=store)
        action = "segment.changed"
    segment.name, segment.kind, segment.parameters = name, kind, parameters
    segment.description, segment.updated_at = description, now
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise OutreachError(
            _("A segment named “%(name)s” already exists.") % {"name": name},
            code="duplicate_name",
            status=409,
        ) from None
    record_audit(
        actor=actor,
        action=action,
        obj=segment,
        changes={"name": name, "kind": kind, "parameters": parameters},
    )
    return segment


EDITABLE = (Status.DRAFT, Status.SCHEDULED)
CAMPAIGN_FIELDS = (
    "name",
    "segment",
    "occasion",
    "send_on",
    "subject",
    "body",
    "offer_kind",
    "offer_amount",
    "offer_text",
    "control_percent",
)


@transaction.atomic
def do_save_campaign(*, actor, store: Store, campaign: Campaign | None = None, **data) -> Campaign:
    """Create or change a draft or scheduled campaign."""
    now = timezone.now()
    if campaign is None:
        campaign = Campaign(
            store=store, created_at=now, created_by=_user(actor), currency=store.currency
        )
        action = "campaign.created"
    else:
        campaign = _lock_campaign(campaign.pk, store)
        if campaign.status not in EDITABLE:
            raise OutreachError(
                _("A campaign that is sending or sent cannot be changed."),
                code="not_editable",
                status=409,
            )
        action = "campaign.changed"
    for name in CAMPAIGN_FIELDS:
        if name in data:
            setattr(campaign, name, data[name])
    if campaign.segment.store_id != store.pk:
        raise OutreachError(_("The segment belongs to another store."), code="invalid_segment")
    if campaign.occasion and not campaign.is_recurring and campaign.send_on is None:
        campaign.send_on = queries.next_occasion_date(campaign.occasion, store_today(store, now))
    campaign.updated_at = now
    campaign.save()
    record_audit(
        actor=actor,
        action=action,
        obj=campaign,
        changes={name: str(getattr(campaign, name)) for name in CAMPAIGN_FIELDS},
    )
    return campaign


@transaction.atomic
def do_schedule_campaign(campaign: Campaign, *, actor) -> Campaign:
    """Let the daily run send it on its date (or, for anniversaries, every day from now)."""
    campaign = _lock_campaign(campaign.pk)
    if campaign.status != Status.DRAFT:
        raise OutreachError(_("Only a draft can be scheduled."), code="not_draft", status=409)
    if not campaign.is_recurring and campaign.send_on is None:
        raise OutreachError(_("Give the date it goes out."), code="no_date")
    _require_address(campaign)
    campaign.status, campaign.updated_at = Status.SCHEDULED, timezone.now()
    campaign.save(update_fields=["status", "updated_at"])
    record_audit(actor=actor, action="campaign.scheduled", obj=campaign)
    return campaign


@transaction.atomic
def do_cancel_campaign(campaign: Campaign, *, actor) -> Campaign:
    """Stop a campaign: messages not yet sent are not sent."""
    campaign = _lock_campaign(campaign.pk)
    if campaign.status in (Status.SENT, Status.CANCELLED):
        raise OutreachError(_("This campaign is already over."), code="finished", status=409)
    campaign.status, campaign.updated_at = Status.CANCELLED, timezone.now()
    campaign.finished_at = campaign.updated_at
    campaign.save(update_fields=["status", "updated_at", "finished_at"])
    left = CampaignRecipient.objects.filter(campaign=campaign, status=Recipient.QUEUED).update(
        status=Recipient.SKIPPED, error="campaign cancelled"
    )
    record_audit(actor=actor, action="campaign.cancelled", obj=campaign, changes={"unsent": left})
    return campaign


# --- Queueing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueResult:
    campaign: Campaign
    added: int
    already_queued: bool = False


def do_queue_campaign(
    campaign_id: int, *, actor, today: date | None = None, at: datetime | None = None
) -> QueueResult:
    """Write the campaign's recipients in one INSERT … SELECT (the control share held out by
    a deterministic hash of customer and campaign) and start sending after commit.

    Refused before anything is written when the audience is empty, when the store has no
    postal address, or when the campaign is over. Asking again while it sends changes nothing
    (`already_queued`). An anniversary campaign adds today's anniversaries, once a year each.
    `at` is the moment it is queued (now; the demo replays past campaigns with it).
    """
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if campaign.status in (Status.SENT, Status.CANCELLED):
            raise OutreachError(
                _("This campaign was already sent.")
                if campaign.status == Status.SENT
                else _("This campaign was cancelled."),
                code="already_sent" if campaign.status == Status.SENT else "cancelled",
                status=409,
            )
        if campaign.status == Status.SENDING and not campaign.is_recurring:
            return QueueResult(campaign, 0, already_queued=True)
        _require_address(campaign)
        store = campaign.store
        now = at or timezone.now()
        today = today or store_today(store, now)
        if campaign.is_recurring and campaign.last_run_on == today:
            return QueueResult(campaign, 0, already_queued=True)
        audience = queries.campaign_audience(campaign, today, now=now)
        round_ = today.year if campaign.is_recurring else 0
        if not campaign.is_recurring and not audience.exists():
            raise OutreachError(
                _("The segment “%(segment)s” has nobody in it today: nothing to send.")
                % {"segment": campaign.segment.name},
                code="empty_segment",
            )
        added = _insert_recipients(campaign, audience, round_=round_, now=now)
        totals = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
            recipients=models_count(),
            control=models_count(Q(status=Recipient.CONTROL)),
        )
        campaign.recipients_count = totals["recipients"]
        campaign.control_count = totals["control"]
        campaign.queued_at = campaign.queued_at or now
        campaign.updated_at = now
        if campaign.is_recurring:
            campaign.last_run_on = today
            campaign.status = Status.SCHEDULED
        else:
            campaign.status = Status.SENDING
        campaign.save()
        record_audit(
            actor=actor,
            action="campaign.queued",
            obj=campaign,
            changes={"added": added, "round": round_, "control": campaign.control_count},
        )
        record_event("campaign_queued", campaign_id=campaign.pk, added=added)
    return QueueResult(campaign, added)


def models_count(condition: Q | None = None):
    from django.db.models import Count

    return Count("pk", filter=condition) if condition is not None else Count("pk")


def _insert_recipients(campaign: Campaign, audience, *, round_: int, now) -> int:
    """INSERT … SELECT the audience, skipping customers already in the campaign this round."""
    bucket = Mod(
        Mod((F("pk") + Value(campaign.pk * 1_000_003)) * Value(2_654_435_761), Value(2**32)),
        Value(100),
    )
    select = (
        audience.annotate(
            _campaign=Value(campaign.pk, output_field=IntegerField()),
            _round=Value(round_, output_field=IntegerField()),
            _bucket=bucket,
        )
        .annotate(
            _status=Case(
                When(_bucket__lt=campaign.control_percent, then=Value(Recipient.CONTROL)),
                default=Value(Recipient.QUEUED),
                output_field=CharField(),
            ),
            _last_order=queries.last_order_id(),
            _customer=F("pk"),
            _email=F("email"),
            _first_name=F("first_name"),
        )
        .values_list(
            "_campaign",
            "_customer",
            "_round",
            "_email",
            "_first_name",
            "_last_order",
            "_status",
        )
        .order_by()
    )
    sql, params = select.query.sql_with_params()
    table = CampaignRecipient._meta.db_table
    queued_at = CampaignRecipient._meta.get_field("queued_at").get_db_prep_value(now, connection)
    columns = (
        "campaign_id, customer_id, round, email, first_name, last_order_id, status, delivery, "
        "coupon_code, message_id, error, queued_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names are ours, values are params
            "SELECT audience._campaign, audience._customer, audience._round, audience._email, "
            "audience._first_name, audience._last_order, audience._status, '', '', '', '', %s "
            f"FROM ({sql}) audience WHERE 1 = 1 "
            "ON CONFLICT DO NOTHING",
            (queued_at, *params),
        )
        return max(cursor.rowcount, 0)


# --- Sending -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: int = 0
    left: int = 0  # not sent yet: queued, or claimed by a sender still at work
    queued: int = 0  # of which no sender has taken yet
    stopped: str = ""


def do_send_campaign_batch(
    campaign_id: int,
    *,
    limit: int | None = None,
    rate: float | None = None,
    connection_=None,
    at: datetime | None = None,
) -> SendReport:
    """Send up to `limit` queued messages of a campaign, `rate` per second, one recipient at
    a time (claim, send, mark), reading ids in chunks so memory stays flat. Rows a dead worker
    left claimed are marked interrupted first, never sent again. Finishes the campaign when
    nothing is left."""
    limit = settings.OUTREACH_BATCH_SIZE if limit is None else limit
    rate = settings.OUTREACH_SEND_RATE if rate is None else rate
    report = SendReport(interrupted=_mark_interrupted(campaign_id))
    campaign = Campaign.objects.select_related("store").get(pk=campaign_id)
    if campaign.status == Status.CANCELLED:
        report.stopped = "cancelled"
        return report
    mailer = connection_ or mailers[DEFAULT_MAILER_ALIAS]
    interval = 1.0 / rate if rate and rate > 0 else 0.0
    next_at = time.monotonic()
    last_id = 0
    done = 0
    with mailer:
        while done < limit:
            ids = list(
                CampaignRecipient.objects.filter(
                    campaign_id=campaign_id, status=Recipient.QUEUED, pk__gt=last_id
                )
                .order_by("pk")
                .values_list("pk", flat=True)[: min(500, limit - done)]
            )
            if not ids:
                break
            for recipient_id in ids:
                last_id = recipient_id
                if interval:
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    next_at = max(next_at, time.monotonic()) + interval
                outcome = _send_one(campaign, recipient_id, mailer, at=at)
                done += 1
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "failed":
                    report.failed += 1
                elif outcome == "skipped":
                    report.skipped += 1
                elif outcome == "retry":
                    report.stopped = "mail backend unavailable"
                    break
                if done >= limit:
                    break
            if report.stopped:
                break
    left = CampaignRecipient.objects.filter(
        campaign_id=campaign_id, status__in=(Recipient.QUEUED, Recipient.SENDING)
    ).aggregate(left=models_count(), queued=models_count(Q(status=Recipient.QUEUED)))
    report.left, report.queued = left["left"], left["queued"]
    if report.left == 0:
        _finish(campaign_id, at=at)
    return report


def _claim(recipient_id: int) -> bool:
    """queued → sending, committed, by one atomic UPDATE: two senders never take one row."""
    return bool(
        CampaignRecipient.objects.filter(pk=recipient_id, status=Recipient.QUEUED).update(
            status=Recipient.SENDING, claimed_at=timezone.now()
        )
    )


def _send_one(campaign: Campaign, recipient_id: int, mailer, *, at=None) -> str:
    if not _claim(recipient_id):
        return "taken"
    recipient = CampaignRecipient.objects.get(pk=recipient_id)
    store = campaign.store
    if queries.is_suppressed(store.pk, recipient.email):
        _mark(recipient_id, status=Recipient.SKIPPED, error="unsubscribed before sending")
        return "skipped"
    try:  # the platform may be down: the coupon is made (same key) on the next try
        coupon = _coupon_for(campaign, recipient)
    except Exception as error:
        logger.warning("Campaign %s: coupon for %s failed: %s", campaign.pk, recipient_id, error)
        _mark(recipient_id, status=Recipient.QUEUED, error=str(error)[:500], claimed_at=None)
        return "retry"
    try:
        message = render_message(
            campaign,
            store,
            recipient_id=recipient_id,
            first_name=recipient.first_name,
            coupon_code=coupon,
        )
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=_sender(store),
            to=[recipient.email],
            headers=message.headers,
            connection=mailer,
        )
        email.attach_alternative(message.html, "text/html")
    except Exception as error:
        logger.exception("Campaign %s: message to %s cannot be built", campaign.pk, recipient_id)
        _mark(recipient_id, status=Recipient.FAILED, error=f"{type(error).__name__}: {error}"[:500])
        return "failed"
    try:
        email.send()
    except (ValueError, UnicodeError) as error:  # an address or header it cannot encode
        _mark(recipient_id, status=Recipient.FAILED, error=f"{type(error).__name__}: {error}"[:500])
        return "failed"
    except Exception as error:  # the backend refused or is down: not accepted, try later
        logger.warning("Campaign %s: send to %s failed: %s", campaign.pk, recipient_id, error)
        _mark(recipient_id, status=Recipient.QUEUED, error=str(error)[:500], claimed_at=None)
        return "retry"
    _mark(
        recipient_id,
        status=Recipient.SENT,
        sent_at=at or timezone.now(),
        coupon_code=coupon,
        # The provider's id when anymail reports one (its tracking events name it), else ours.
        message_id=str(
            getattr(getattr(email, "anymail_status", None), "message_id", None)
            or message.headers["Message-ID"]
        )[:200],
        error="",
    )
    return "sent"


def _mark(recipient_id: int, **fields) -> None:
    CampaignRecipient.objects.filter(pk=recipient_id).update(**fields)


def _coupon_for(campaign: Campaign, recipient: CampaignRecipient) -> str:
    """The recipient's own single-use code, made through resolutions' platform adapter with a
    key per campaign and recipient: a resumed send makes (or finds) the same code."""
    if campaign.offer_kind != Campaign.Offer.COUPON or recipient.last_order_id is None:
        return ""
    if recipient.coupon_code:
        return recipient.coupon_code
    order = Order.objects.select_related("customer", "store").get(pk=recipient.last_order_id)
    result = platform_for(campaign.store).create_coupon(
        order,
        campaign.offer_amount,
        campaign.currency,
        f"campaign-{campaign.pk}-recipient-{recipient.pk}",
    )
    CampaignRecipient.objects.filter(pk=recipient.pk).update(coupon_code=result.reference[:64])
    return result.reference[:64]


def _sender(store: Store) -> str:
    if store.support_email:
        return f"{store.name} <{store.support_email}>"
    return settings.DEFAULT_FROM_EMAIL


def _mark_interrupted(campaign_id: int) -> int:
    """Rows claimed longer ago than the lease: their worker died mid-send. Whether the mail
    went out is unknown, so they are never sent again (nobody gets the campaign twice)."""
    stale = timezone.now() - timedelta(seconds=settings.OUTREACH_CLAIM_LEASE_SECONDS)
    return CampaignRecipient.objects.filter(
        campaign_id=campaign_id, status=Recipient.SENDING, claimed_at__lte=stale
    ).update(
        status=Recipient.FAILED,
        error="interrupted while sending: not sent again, so nobody gets it twice",
    )


@transaction.atomic
def _finish(campaign_id: int, *, at=None) -> None:
    campaign = _lock_campaign(campaign_id)
    if campaign.status != Status.SENDING:
        return
    now = at or timezone.now()
    campaign.status, campaign.finished_at, campaign.updated_at = Status.SENT, now, now
    campaign.save(update_fields=["status", "finished_at", "updated_at"])
    record_audit(actor="outreach", action="campaign.sent", obj=campaign)
    record_event("campaign_sent", campaign_id=campaign.pk)


def do_run_due_campaigns(*, today: date | None = None) -> list[int]:
    """The daily run: scheduled campaigns whose day has come are queued (one with nobody in
    its segment is cancelled, with the reason in the audit), and anniversary campaigns queue
    today's anniversaries."""
    queued = []
    due = Campaign.objects.filter(status=Status.SCHEDULED).select_related("store")
    for campaign in due.order_by("pk"):
        day = today or store_today(campaign.store, timezone.now())
        if not campaign.is_recurring and (campaign.send_on is None or campaign.send_on > day):
            continue
        try:
            result = do_queue_campaign(campaign.pk, actor="outreach-schedule", today=day)
        except OutreachError as refused:
            with transaction.atomic():
                locked = _lock_campaign(campaign.pk)
                if refused.code == "empty_segment":
                    locked.status, locked.updated_at = Status.CANCELLED, timezone.now()
                    locked.save(update_fields=["status", "updated_at"])
                record_audit(
                    actor="outreach-schedule",
                    action="campaign.refused",
                    obj=locked,
                    changes={"code": refused.code, "message": refused.message},
                )
            continue
        if result.added:
            queued.append(campaign.pk)
    return queued


# --- Unsubscribes and delivery -----------------------------------------------------------------


@transaction.atomic
def do_unsubscribe(recipient_id: int, *, source: str = "link", at=None) -> bool:
    """One click: the address is suppressed for every later campaign of the store, at once,
    and the campaign counts the unsubscribe. Idempotent; True the first time."""
    recipient = (
        CampaignRecipient.objects.select_for_update()
        .select_related("campaign")
        .get(pk=recipient_id)
    )
    now = at or timezone.now()
    first = recipient.unsubscribed_at is None
    if first:
        recipient.unsubscribed_at = now
        recipient.save(update_fields=["unsubscribed_at"])
    suppression, created = MarketingSuppression.objects.get_or_create(
        store_id=recipient.campaign.store_id,
        email=recipient.email.lower(),
        defaults={
            "customer_id": recipient.customer_id,
            "reason": MarketingSuppression.Reason.UNSUBSCRIBED,
            "campaign_id": recipient.campaign_id,
            "created_at": now,
        },
    )
    if first or created:
        record_audit(
            actor=f"customer ({source})",
            action="outreach.unsubscribed",
            obj=suppression,
            changes={"campaign": recipient.campaign_id, "email": recipient.email},
        )
        record_event(
            "customer_unsubscribed",
            campaign_id=recipient.campaign_id,
            customer_id=recipient.customer_id,
        )
    return first


DELIVERY_EVENTS = {
    "delivered": CampaignRecipient.Delivery.DELIVERED,
    "bounced": CampaignRecipient.Delivery.BOUNCED,
    "rejected": CampaignRecipient.Delivery.BOUNCED,
}


@transaction.atomic
def do_record_delivery(message_id: str, event_type: str, *, at=None) -> bool:
    """A mail provider's tracking event (anymail's `event_type`): delivered or bounced; a
    bounce or a spam complaint also suppresses the address. False for an unknown message."""
    recipient = (
        CampaignRecipient.objects.select_for_update()
        .select_related("campaign")
        .filter(message_id=message_id)
        .first()
    )
    if recipient is None:
        return False
    at = at or timezone.now()
    delivery = DELIVERY_EVENTS.get(event_type)
    if delivery and recipient.delivery != CampaignRecipient.Delivery.BOUNCED:
        recipient.delivery, recipient.delivery_at = delivery, at
        recipient.save(update_fields=["delivery", "delivery_at"])
    reason = {
        "bounced": MarketingSuppression.Reason.BOUNCED,
        "complained": MarketingSuppression.Reason.COMPLAINED,
        "unsubscribed": MarketingSuppression.Reason.UNSUBSCRIBED,
    }.get(event_type)
    if reason:
        MarketingSuppression.objects.get_or_create(
            store_id=recipient.campaign.store_id,
            email=recipient.email.lower(),
            defaults={
                "customer_id": recipient.customer_id,
                "reason": reason,
                "campaign_id": recipient.campaign_id,
                "created_at": at,
            },
        )
    return True


# --- Helpers -----------------------------------------------------------------------------------


def _lock_campaign(campaign_id: int, store: Store | None = None) -> Campaign:
    rows = Campaign.objects.select_for_update(of=("self",)).select_related("store", "segment")
    if store is not None:
        rows = rows.filter(store=store)
    return rows.get(pk=campaign_id)


def _require_address(campaign: Campaign) -> None:
    if not postal_address(campaign.store):
        raise OutreachError(
            _(
                "Set the store's postal address (STORE_POSTAL_ADDRESS): every campaign message "
                "must carry it."
            ),
            code="postal_address_missing",
        )


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def coupon_total(campaign: Campaign) -> Decimal:
    """At most what the coupons could cost if every recipient used theirs."""
    if campaign.offer_kind != Campaign.Offer.COUPON:
        return Decimal(0)
    return campaign.offer_amount * campaign.recipients_count
