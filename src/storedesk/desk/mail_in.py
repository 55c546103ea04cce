"""Email in: raw bytes from any source (IMAP, a provider's inbound webhook, an import) become a
message on the right ticket, or a quarantined mail. Nothing is lost on the way.

- A mail larger than settings.DESK_MAX_MAIL_BYTES is quarantined unparsed (reading it would
  hold the worker's memory); so is a mail that does not parse or has no sender address.
- An attachment over settings.DESK_MAX_ATTACHMENT_BYTES, or of a blocked type, is not stored
  as an attachment: the message is, with an internal note naming what was left out. The raw
  mail is kept in full with the message, so the file can still be recovered.
- A Message-ID we already hold is a duplicate: stored once (re-reads after a crash, the same
  mail fetched by two pollers, an import run twice).
- Auto-replies, bounces and loops are stored and flagged `is_automatic`; they reopen nothing
  and nothing answers them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from storedesk.audit.services import record_audit
from storedesk.desk import mail_batch
from storedesk.desk.mailparse import parse_email
from storedesk.desk.models import Channel, Mailbox, Message, QuarantinedMail
from storedesk.desk.services import (
    InboundMessage,
    do_add_note,
    do_open_ticket,
    do_receive_message,
    message_by_id,
    validate_attachment,
)
from storedesk.desk.threading import ThreadMatch, find_thread

logger = logging.getLogger(__name__)

STORED, DUPLICATE, QUARANTINED = "stored", "duplicate", "quarantined"


@dataclass
class IngestResult:
    outcome: str
    message: Message | None = None
    quarantined: QuarantinedMail | None = None
    dropped: list[str] = field(default_factory=list)


def quarantine(
    raw: bytes, *, reason: str, source: str, mailbox: Mailbox | None = None
) -> QuarantinedMail:
    """Keep the whole mail with the reason, for a person to look at."""
    with transaction.atomic():
        item = QuarantinedMail(
            mailbox=mailbox,
            source=source[:200],
            size=len(raw),
            reason=reason[:2000],
            received_at=timezone.now(),
        )
        item.raw.save("quarantined.eml", ContentFile(raw), save=False)
        item.save()
    logger.warning("Quarantined mail from %s: %s", source, reason)
    return item


def _keep_acceptable_attachments(inbound: InboundMessage) -> tuple[InboundMessage, list[str]]:
    kept, dropped = [], []
    for attachment in inbound.attachments:
        try:
            validate_attachment(attachment)
        except ValidationError as error:
            dropped.append(" ".join(error.messages))
            continue
        kept.append(attachment)
    return replace(inbound, attachments=kept), dropped


def _flag_note(match: ThreadMatch) -> str:
    return _(
        "This mail points at ticket %(token)s (%(reason)s). It was kept apart as its own "
        "ticket: merge it there if it belongs there."
    ) % {"token": match.claimed.token, "reason": match.reason}


def _store(inbound: InboundMessage, mailbox: Mailbox | None, dropped: list[str]) -> Message:
    with transaction.atomic():
        match = find_thread(inbound)
        ticket = match.ticket
        if ticket is None:
            ticket = do_open_ticket(
                channel=inbound.channel,
                requester_email=inbound.from_email,
                requester_name=inbound.from_name,
                subject=inbound.subject,
                mailbox=mailbox,
                store=match.claimed.store if match.claimed else None,
                created_at=inbound.received_at,
            )
        if match.claimed is not None:
            inbound.headers["claimed_ticket"] = match.claimed.number
        message = do_receive_message(ticket, inbound, is_new=True)
        notes = []
        if match.claimed is not None:
            notes.append(_flag_note(match))
        if dropped:
            notes.append(
                _("Attachments not stored (the original mail is kept in full): %(files)s")
                % {"files": "; ".join(dropped)}
            )
        for note in notes:
            do_add_note(message.ticket, author=None, text=note)
        return message


def _already_stored(message_id: str) -> bool:
    return Message.objects.exclude(message_id="").filter(message_id=message_id).exists()


def do_ingest_batch(
    mails: Iterable[tuple[str, bytes]],
    *,
    mailbox: Mailbox | None = None,
    channel: str = Channel.EMAIL,
) -> list[IngestResult]:
    """Several (source, raw) mails in one transaction: one commit instead of one per mail.
    The caller acknowledges the mails (IMAP flags) only after this returns, i.e. after the
    commit. Parsed mails are threaded and stored set-based (`mail_batch`); one that fails
    there is retried alone in its own savepoint and quarantined alone if it fails again."""
    mails = list(mails)
    results: list[IngestResult | None] = [None] * len(mails)
    with transaction.atomic():
        parsed: list[tuple[int, str, bytes, InboundMessage]] = []
        for index, (source, raw) in enumerate(mails):
            outcome = _parse(raw, mailbox=mailbox, source=source, channel=channel)
            if isinstance(outcome, IngestResult):
                results[index] = outcome
            else:
                parsed.append((index, source, raw, outcome))
        for start in range(0, len(parsed), mail_batch.CONTEXT_SIZE):
            chunk = parsed[start : start + mail_batch.CONTEXT_SIZE]
            stored = mail_batch.store_batch(
                [inbound for _, _, _, inbound in chunk],
                mailbox=mailbox,
                one_by_one=lambda position, inbound, chunk=chunk: _ingest_parsed(
                    inbound, raw=chunk[position][2], source=chunk[position][1], mailbox=mailbox
                ),
            )
            for (index, _, _, _), result in zip(chunk, stored, strict=True):
                results[index] = (
                    result
                    if isinstance(result, IngestResult)
                    else IngestResult(result[0], message=result[1])
                )
    return results


def do_ingest_email(
    raw: bytes, *, mailbox: Mailbox | None = None, source: str, channel: str = Channel.EMAIL
) -> IngestResult:
    """Parse → thread → store one raw mail; see the module docstring for what happens to
    mail that cannot be stored as it is. Safe to call again with the same bytes."""
    (result,) = do_ingest_batch([(source, raw)], mailbox=mailbox, channel=channel)
    return result


def _parse(
    raw: bytes, *, mailbox: Mailbox | None, source: str, channel: str
) -> InboundMessage | IngestResult:
    """The parsed mail, or the quarantine of one that is too big, unreadable or senderless."""
    if len(raw) > settings.DESK_MAX_MAIL_BYTES:
        limit_mb = settings.DESK_MAX_MAIL_BYTES // (1024 * 1024)
        reason = f"larger than {limit_mb} MB ({len(raw) // (1024 * 1024)} MB)"
        return IngestResult(
            QUARANTINED, quarantined=quarantine(raw, reason=reason, source=source, mailbox=mailbox)
        )
    try:
        inbound = parse_email(raw, channel=channel)
    except Exception as error:
        logger.exception("Unparseable mail from %s", source)
        reason = f"could not be parsed: {type(error).__name__}: {error}"
        return IngestResult(
            QUARANTINED, quarantined=quarantine(raw, reason=reason, source=source, mailbox=mailbox)
        )
    if not inbound.from_email:
        return IngestResult(
            QUARANTINED,
            quarantined=quarantine(raw, reason="no sender address", source=source, mailbox=mailbox),
        )
    return inbound


def _ingest_parsed(
    inbound: InboundMessage, *, raw: bytes, source: str, mailbox: Mailbox | None
) -> IngestResult:
    """One parsed mail on its own (the path of the mails the set-based store leaves to it):
    duplicate check, attachments, threading and store, each query for this mail alone."""
    if _already_stored(inbound.message_id):
        return IngestResult(DUPLICATE, message=message_by_id(inbound.message_id))
    inbound, dropped = _keep_acceptable_attachments(inbound)
    try:
        message = _store(inbound, mailbox, dropped)
    except IntegrityError:
        existing = message_by_id(inbound.message_id)
        if existing is not None:  # stored meanwhile by another poller
            return IngestResult(DUPLICATE, message=existing)
        logger.exception("Mail from %s could not be stored", source)
        reason = "could not be stored (database integrity error)"
        return IngestResult(
            QUARANTINED, quarantined=quarantine(raw, reason=reason, source=source, mailbox=mailbox)
        )
    except Exception as error:
        logger.exception("Mail from %s could not be stored", source)
        reason = f"could not be stored: {type(error).__name__}: {error}"
        return IngestResult(
            QUARANTINED, quarantined=quarantine(raw, reason=reason, source=source, mailbox=mailbox)
        )
    return IngestResult(STORED, message=message, dropped=dropped)


@transaction.atomic
def do_save_mailbox(
    *,
    address: str,
    name: str = "",
    imap_host: str = "",
    imap_port: int = 993,
    imap_ssl: bool = True,
    imap_username: str = "",
    imap_password_env: str = "",
    imap_folder: str = "INBOX",
    imap_done_folder: str = "",
    actor=None,
) -> tuple[Mailbox, bool]:
    """Create or update the mailbox of an address. The password is never stored here: only
    the name of the environment variable that holds it."""
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError as error:
        raise ValidationError(f"not an email address: {address!r}") from error
    if imap_host and not imap_username:
        raise ValidationError("an IMAP mailbox needs a user name")
    if not 0 < imap_port < 65536:
        raise ValidationError(f"not a port: {imap_port}")
    values = {
        "name": (name or address)[:80],
        "imap_host": imap_host.strip(),
        "imap_port": imap_port,
        "imap_ssl": imap_ssl,
        "imap_username": imap_username.strip(),
        "imap_password_env": imap_password_env.strip(),
        "imap_folder": imap_folder or "INBOX",
        "imap_done_folder": imap_done_folder,
        "is_active": True,
    }
    mailbox, created = Mailbox.objects.update_or_create(address=address, defaults=values)
    record_audit(
        actor=actor,
        action="desk.mailbox_added" if created else "desk.mailbox_changed",
        obj=mailbox,
        changes={key: value for key, value in values.items() if key != "imap_password_env"},
    )
    return mailbox, created


# --- A mailbox's polling bookkeeping (written by the mail integration as it reads a server) ---


def do_advance_mailbox(mailbox: Mailbox, uid: int) -> None:
    """Remember that mail `uid` is safely stored; never moves backwards, so two pollers that
    race leave the higher UID."""
    Mailbox.objects.filter(pk=mailbox.pk, last_uid__lt=uid).update(last_uid=uid)
    mailbox.last_uid = max(mailbox.last_uid, uid)


def do_restart_mailbox(mailbox: Mailbox, uid_validity: int) -> None:
    """The server renumbered the folder (a new UIDVALIDITY): read it again from the start;
    Message-IDs dedupe what was stored before."""
    mailbox.uid_validity, mailbox.last_uid = uid_validity, 0
    Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=uid_validity, last_uid=0)


def do_record_mailbox_poll(mailbox_id: int, *, error: str = "") -> None:
    """When the mailbox was last polled and how it went ("" when it went well)."""
    Mailbox.objects.filter(pk=mailbox_id).update(last_polled_at=timezone.now(), last_error=error)
