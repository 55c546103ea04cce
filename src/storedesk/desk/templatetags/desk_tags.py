"""Rendering a message body: only sanitized HTML is ever marked safe."""

from django import template
from django.urls import reverse
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from storedesk.desk.sanitize import normalise_content_id, resolve_inline_images

register = template.Library()


def _with_inline_images(html: str, message) -> str:
    """`cid:` images point at our permission-checked attachment URL (the sanitizer's hook);
    one we do not hold stays empty, so nothing is ever fetched from elsewhere."""
    attachments = getattr(message, "attachment_list", None)  # as the desk's queries read them
    if attachments is None:
        attachments = message.attachments.all()
    urls = {
        normalise_content_id(attachment.content_id): reverse(
            "desk:attachment", kwargs={"pk": attachment.pk}
        )
        for attachment in attachments
        if attachment.content_id
    }
    return resolve_inline_images(html, urls)


@register.filter
def message_body(message) -> SafeString:
    """The full body: `Message.html` was sanitized (nh3) before it was stored, so it is the only
    customer text we mark safe; plain text is escaped."""
    if message.html:
        return mark_safe(_with_inline_images(message.html, message))  # noqa: S308 - sanitized at intake
    return mark_safe(linebreaks(escape(message.text)))  # noqa: S308 - escaped


@register.filter
def message_new_text(message) -> SafeString:
    """Only what is new in the message (no quoted history), escaped."""
    return mark_safe(linebreaks(escape(message.new_text or message.text)))  # noqa: S308 - escaped


@register.filter
def has_quote(message) -> bool:
    return bool(message.quoted_text.strip())


@register.filter
def ticket_status(value) -> str:
    """A status value stored in a timeline event, as its label."""
    from storedesk.desk.models import Ticket

    return str(dict(Ticket.Status.choices).get(value, value or "—"))


@register.filter
def ticket_priority(value) -> str:
    from storedesk.desk.models import Ticket

    return str(dict(Ticket.Priority.choices).get(value, value or "—"))
