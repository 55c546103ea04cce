"""Postmark's inbound webhook, read defensively.

anymail's own Postmark view trusts the body: malformed JSON, an array, bytes that are not
UTF-8, an attachment whose base64 does not decode or a field of the wrong type all raised out
of it as a 500 (and Postmark retried the same bytes for hours). Here the body is checked first
against the fields anymail reads (`PostmarkInboundWebhookView.esp_to_anymail_event`):

- a body that is not a JSON object of the right shape is quarantined whole, with the reason,
  and answered 400;
- a bad attachment is left out: the message is stored without it, its ticket gets an internal
  note naming it, the raw body is quarantined (the attachment's bytes are only there), and the
  answer is 400 saying the message was kept.

A retry of the same body is harmless: the message is a duplicate stored once, and the
quarantine is keyed by a hash of the body, so it is kept once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from anymail.exceptions import AnymailConfigurationError
from anymail.inbound import AnymailInboundMessage
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.db import transaction
from django.http import JsonResponse
from django.utils.translation import gettext as _

from storedesk.desk.mail_in import DUPLICATE, QUARANTINED, STORED, do_ingest_email, quarantine
from storedesk.desk.models import Mailbox, QuarantinedMail
from storedesk.desk.services import do_add_note
from storedesk.integrations.mail.anymail_messages import mailbox_for, raw_bytes

logger = logging.getLogger(__name__)

# Fields anymail reads as text: a string, or null/absent.
TEXT_FIELDS = (
    "From",
    "FromName",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "MessageID",
    "ReplyTo",
    "Date",
    "TextBody",
    "HtmlBody",
    "StrippedTextReply",
    "OriginalRecipient",
    "RawEmail",
    "RecordType",
    "MailboxHash",
    "Tag",
    "MessageStream",
)
ADDRESS_LIST_FIELDS = ("ToFull", "CcFull", "BccFull")


class MalformedPayload(ValueError):
    """The body cannot be read as a Postmark inbound message; the text says why."""


@dataclass
class PostmarkOutcome:
    """What became of one post: `status` to answer, `code`/`reason` when it is a refusal."""

    status: int
    code: str = ""
    reason: str = ""
    kept: str = ""  # "message", "quarantine" or "" (a duplicate, or nothing to keep)
    problems: list[str] = field(default_factory=list)


def _is_text(value: Any) -> bool:
    """A string that can be written out as UTF-8 (JSON may carry lone surrogates)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_address(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is not an object")
    for key in ("Email", "Name", "MailboxHash"):
        if value.get(key) is not None and not _is_text(value[key]):
            raise MalformedPayload(f"{where}.{key} is not text")


def _check_fields(payload: dict) -> None:
    """Every field anymail reads has the type it expects (absent or null is fine)."""
    for name in TEXT_FIELDS:
        if payload.get(name) is not None and not _is_text(payload[name]):
            raise MalformedPayload(f"{name} is not text")
    if payload.get("FromFull") is not None:
        _check_address(payload["FromFull"], "FromFull")
    for name in ADDRESS_LIST_FIELDS:
        addresses = payload.get(name)
        if addresses is None:
            continue
        if not isinstance(addresses, list):
            raise MalformedPayload(f"{name} is not a list")
        for index, address in enumerate(addresses):
            _check_address(address, f"{name}[{index}]")
    headers = payload.get("Headers")
    if headers is not None:
        if not isinstance(headers, list):
            raise MalformedPayload("Headers is not a list")
        for index, header in enumerate(headers):
            if not (
                isinstance(header, dict)
                and _is_text(header.get("Name"))
                and _is_text(header.get("Value"))
            ):
                raise MalformedPayload(f"Headers[{index}] is not a Name/Value pair of text")
    if payload.get("Attachments") is not None and not isinstance(payload["Attachments"], list):
        raise MalformedPayload("Attachments is not a list")


def _attachment_problem(attachment: Any, index: int) -> str:
    """'' when anymail can build this attachment, else what is wrong with it."""
    if not isinstance(attachment, dict):
        return f"attachment {index + 1} is not an object"
    name = attachment.get("Name")
    label = f"'{name}'" if _is_text(name) and name else f"attachment {index + 1}"
    content = attachment.get("Content") or attachment.get("Data")
    for key, value in (("ContentType", attachment.get("ContentType")), ("Content", content)):
        if not _is_text(value):
            return f"{label}: {key} is missing or not text"
    for key in ("Name", "ContentID"):
        if attachment.get(key) is not None and not _is_text(attachment[key]):
            return f"{label}: {key} is not text"
    try:
        base64.b64decode("".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        return f"{label}: its content is not valid base64"
    try:
        AnymailInboundMessage.construct_attachment(
            content_type=attachment["ContentType"],
            content=content,
            base64=True,
            filename=attachment.get("Name"),
            content_id=attachment.get("ContentID"),
        )
    except Exception as error:  # a content type or name the email package refuses
        return f"{label}: {type(error).__name__}: {error}"
    return ""


def read_inbound(body: bytes) -> tuple[dict, list[str]]:
    """The payload with its bad attachments left out, and what was wrong with each of them.

    Raises MalformedPayload when nothing of the body can be used."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayload("the body is not UTF-8 text") from None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedPayload("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"the body is a JSON {type(payload).__name__}, not an object")
    _check_fields(payload)
    kept, problems = [], []
    for index, attachment in enumerate(payload.get("Attachments") or []):
        problem = _attachment_problem(attachment, index)
        if problem:
            problems.append(problem)
        else:
            kept.append(attachment)
    if problems:
        payload = {**payload, "Attachments": kept}
    return payload, problems


def _body_source(body: bytes) -> str:
    return f"webhook:postmark:sha256:{hashlib.sha256(body).hexdigest()[:32]}"


def _quarantine_once(body: bytes, reason: str, mailbox: Mailbox | None = None) -> QuarantinedMail:
    """Quarantine the raw body, once per distinct body (Postmark retries the same bytes)."""
    source = _body_source(body)
    existing = QuarantinedMail.objects.filter(source=source).order_by("pk").first()
    return existing or quarantine(body, reason=reason, source=source, mailbox=mailbox)


def do_receive_postmark_inbound(body: bytes, build_event) -> PostmarkOutcome:
    """Store one Postmark inbound post, keeping what can be kept; see the module docstring.
    `build_event` is anymail's payload → event mapping."""
    with transaction.atomic():
        try:
            payload, problems = read_inbound(body)
            event = build_event(payload)
        except AnymailConfigurationError:
            raise  # Postmark's *tracking* webhook pointed here: a set-up mistake, said as such
        except MalformedPayload as error:
            _quarantine_once(body, f"Postmark inbound post refused: {error}")
            return PostmarkOutcome(400, "malformed_payload", str(error), kept="quarantine")
        except Exception as error:  # a value the email package refuses (header names …)
            reason = f"{type(error).__name__}: {error}"
            _quarantine_once(body, f"Postmark inbound post refused: {reason}")
            return PostmarkOutcome(400, "malformed_payload", reason, kept="quarantine")
        message = event.message
        mailbox = mailbox_for(message)
        result = do_ingest_email(
            raw_bytes(message),
            mailbox=mailbox,
            source=f"webhook:Postmark:{event.event_id or ''}",
        )
        logger.info("Inbound mail from Postmark: %s", result.outcome)
        if not problems:
            return PostmarkOutcome(200, kept="message" if result.outcome == STORED else "")
        listing = "; ".join(problems)
        if result.outcome != DUPLICATE:  # a retry: its note and quarantine exist
            _quarantine_once(
                body,
                f"Postmark inbound post with bad attachments ({listing}); the message was "
                + (
                    f"stored without them as {result.message.message_id or result.message.pk}"
                    if result.outcome == STORED
                    else "quarantined too"
                ),
                mailbox,
            )
        if result.outcome == STORED:
            do_add_note(
                result.message.ticket,
                author=None,
                text=_(
                    "Attachments not stored (the provider's post is kept in quarantine): %(files)s"
                )
                % {"files": listing},
            )
        kept = "quarantine" if result.outcome == QUARANTINED else "message"
        return PostmarkOutcome(400, "malformed_attachment", listing, kept=kept, problems=problems)


class PostmarkInboundView(PostmarkInboundWebhookView):
    """anymail's Postmark inbound view (its basic-auth check and its mapping), with the body
    read by `do_receive_postmark_inbound` instead of trusted."""

    def post(self, request, *args, **kwargs):
        self.run_validators(request)  # a wrong secret: 400 before the body is read
        outcome = do_receive_postmark_inbound(request.body, self.esp_to_anymail_event)
        if outcome.status == 200:
            return JsonResponse({"received": True})
        message = (
            _("The post was not a valid Postmark inbound message: %(reason)s.")
            if outcome.code == "malformed_payload"
            else _("Some attachments could not be read: %(reason)s.")
        ) % {"reason": outcome.reason}
        return JsonResponse(
            {
                "code": outcome.code,
                "message": message,
                "details": {"kept": outcome.kept, "problems": outcome.problems},
            },
            status=outcome.status,
        )
