"""The daily payment digest by email: rendered once in US English, sent to the leads and
payments specialists, exactly once per store day and person (a `DigestDelivery` row is claimed
before sending, so a task that runs twice, or two workers, never mail anyone twice)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from storedesk.accounts.models import User
from storedesk.accounts.roles import Role
from storedesk.audit.services import record_audit
from storedesk.commerce.models import Store
from storedesk.commerce.queries import store_today
from storedesk.risk.digest import DailyDigest, build_digest, digest_for, may_see_dispute_reasons
from storedesk.risk.models import DigestDelivery

logger = logging.getLogger(__name__)

RECIPIENT_ROLES = (Role.LEAD, Role.PAYMENTS)
DEFAULT_SEND_TIME = "08:00"
EMAIL_LANGUAGE = "en"


def send_time() -> time:
    """RISK_DIGEST_TIME (HH:MM, team time); a bad value is a configuration error, not 8 am."""
    raw = str(settings.RISK_DIGEST_TIME or DEFAULT_SEND_TIME)
    try:
        hours, minutes = (int(part) for part in raw.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ImproperlyConfigured(
            f"RISK_DIGEST_TIME must be a time of day as HH:MM (team time), got {raw!r}"
        ) from None


def due_day(store: Store, now: datetime) -> date | None:
    """The store day the daily email covers once today's send time (team time) has passed:
    the last store day that was complete at that moment. None before the send time."""
    team = ZoneInfo(settings.TEAM_TIMEZONE)
    local = now.astimezone(team)
    moment = datetime.combine(local.date(), send_time(), tzinfo=team)
    if local < moment:
        return None
    return store_today(store, moment) - timedelta(days=1)


def recipients() -> QuerySet[User]:
    """Active leads and payments specialists who have an email address."""
    return (
        User.objects.filter(is_active=True, groups__name__in=[r.value for r in RECIPIENT_ROLES])
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def desk_url(path: str) -> str:
    base = str(settings.DESK_URL or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{path}"


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def render_digest(digest: DailyDigest) -> RenderedDigest:
    """Subject, plain text and HTML of the digest email, in US English, with absolute links."""
    day = digest.day.isoformat()
    context = {
        "digest": digest,
        "store": digest.store,
        "digest_url": desk_url(f"{reverse('risk:digest')}?date={day}"),
        "list_url": desk_url(reverse("risk:digest_orders")),
        "day": day,
    }
    with translation.override(EMAIL_LANGUAGE):
        subject = render_to_string("risk/email/digest_subject.txt", context)
        text = render_to_string("risk/email/digest.txt", context)
        html = render_to_string("risk/email/digest.html", context)
    return RenderedDigest(" ".join(subject.split()), text, html)


@dataclass
class SendReport:
    day: date
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _claim(store: Store, day: date, user: User, now: datetime) -> DigestDelivery | None:
    """Take the (store, day, person) row, or retake one whose last attempt failed; None when
    someone else holds or has done it."""
    try:
        with transaction.atomic():
            return DigestDelivery.objects.create(
                store=store, day=day, recipient=user, email=user.email, claimed_at=now
            )
    except IntegrityError:
        pass
    retaken = DigestDelivery.objects.filter(
        store=store, day=day, recipient=user, status=DigestDelivery.Status.FAILED
    ).update(
        status=DigestDelivery.Status.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        email=user.email,
        error="",
    )
    if not retaken:
        return None
    return DigestDelivery.objects.get(store=store, day=day, recipient=user)


def do_send_digest(
    store: Store, day: date, *, now: datetime, to: list[User] | None = None
) -> SendReport:
    """Email the digest of `day` to every recipient who has not had it yet."""
    report = SendReport(day)
    people = list(recipients() if to is None else to)
    if not people:
        return report
    done = set(
        DigestDelivery.objects.filter(store=store, day=day)
        .exclude(status=DigestDelivery.Status.FAILED)
        .values_list("recipient_id", flat=True)
    )
    digest, rendered = None, {}
    for user in people:
        delivery = None if user.pk in done else _claim(store, day, user, now)
        if delivery is None:
            report.already_sent.append(user.email)
            continue
        if digest is None:
            digest = build_digest(store, day, now=now)
        with_reasons = may_see_dispute_reasons(user)
        if with_reasons not in rendered:
            rendered[with_reasons] = render_digest(digest_for(user, digest))
        mail = rendered[with_reasons]
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
        message.attach_alternative(mail.html, "text/html")
        try:
            message.send()
        except Exception as error:  # any mailer failure is recorded and retried next run
            logger.exception("Digest of %s to %s failed", day, user.email)
            DigestDelivery.objects.filter(pk=delivery.pk).update(
                status=DigestDelivery.Status.FAILED, error=f"{type(error).__name__}: {error}"
            )
            report.failed.append(user.email)
            continue
        with transaction.atomic():
            DigestDelivery.objects.filter(pk=delivery.pk).update(
                status=DigestDelivery.Status.SENT, sent_at=now
            )
            record_audit(
                actor=None,
                action="risk.digest_sent",
                obj=delivery,
                changes={"day": day.isoformat(), "to": user.email, "attempt": delivery.attempts},
            )
        report.sent.append(user.email)
    return report
