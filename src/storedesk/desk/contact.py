"""The public contact form: one submission is one ticket on the `form` channel.

The order number links the ticket to that order only when the email given is the order's
email (or its customer's): someone typing a stranger's order number never sees it linked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from storedesk.commerce.models import Order, Store
from storedesk.commerce.queries import number_keys
from storedesk.desk.deflection import record_contact_after_help
from storedesk.desk.mail_out import do_send_acknowledgement
from storedesk.desk.models import Channel, Ticket
from storedesk.desk.services import (
    AttachmentIn,
    InboundMessage,
    do_link_orders,
    do_open_ticket,
    do_receive_message,
    do_set_tags,
    text_to_html,
)


class ContactReason:
    """The C3 situations, in the customer's words; the value becomes a `reason-…` tag."""

    CHOICES = [
        ("where_is_my_order", _("Where is my order?")),
        ("tracking_stalled", _("My tracking is not updating")),
        ("not_received", _("My order has not arrived")),
        ("delivered_not_received", _("Tracking says delivered, but I don't have it")),
        ("wrong_item", _("Wrong item, size or details")),
        ("damaged", _("Damaged or defective item")),
        ("return", _("Return, exchange or refund")),
        ("cancel", _("Cancel or change my order")),
        ("payment", _("Payment or billing question")),
        ("product", _("Product, sizing or care question")),
        ("warranty", _("Warranty or repair")),
        ("other", _("Something else")),
    ]
    VALUES = frozenset(value for value, _label in CHOICES)

    @classmethod
    def label(cls, value: str) -> str:
        return str(dict(cls.CHOICES).get(value, value))


@dataclass
class ContactSubmission:
    email: str
    message: str
    reason: str
    name: str = ""
    order_number: str = ""
    attachments: Sequence[AttachmentIn] = field(default_factory=tuple)
    ip: str = ""
    user_agent: str = ""
    page: str = ""
    help_session: str = ""  # the help center's token for this visitor's tab, when it has one


def matching_order(store: Store | None, number: str, email: str) -> Order | None:
    """The order with that number whose email (or customer's email) is the sender's."""
    number, email = (number or "").strip()[:32], (email or "").strip().lower()
    if store is None or not number or not email:
        return None
    return (
        Order.objects.filter(store=store, number_key__in=number_keys(number, store))
        .filter(Q(email__iexact=email) | Q(customer__email=email))
        .order_by("pk")
        .first()
    )


ACKNOWLEDGEMENT = _(
    "Hi %(name)s,\n\n"
    "Thanks for reaching out — we got your message and a real person on our team will reply "
    "to this email, usually within one business day.\n\n"
    "Your request number is %(token)s. If you want to add anything, just reply to this email "
    "and keep the number in the subject.\n\n"
    "Warmly,\n%(store)s"
)


@transaction.atomic
def do_submit_contact_form(submission: ContactSubmission, *, store: Store | None) -> Ticket:
    """Open the ticket, store the message (as text: the customer's HTML is never rendered),
    link the order when the email matches it, tag the reason and send the acknowledgement."""
    reason = submission.reason if submission.reason in ContactReason.VALUES else "other"
    email = submission.email.strip().lower()
    order = matching_order(store, submission.order_number, email)
    subject = ContactReason.label(reason)
    if submission.order_number.strip():
        subject = f"{subject} (order {submission.order_number.strip()[:32]})"
    ticket = do_open_ticket(
        channel=Channel.FORM,
        requester_email=email,
        requester_name=submission.name,
        subject=subject,
        store=store,
    )
    if order is not None:
        do_link_orders(ticket, [order], actor=None)
    text = submission.message.replace("\x00", "").strip()
    do_receive_message(
        ticket,
        InboundMessage(
            channel=Channel.FORM,
            from_email=email,
            from_name=submission.name.strip()[:200],
            subject=subject,
            text=text,
            html=text_to_html(text),
            new_text=text,
            headers={
                "form_reason": reason,
                "form_order_number": submission.order_number.strip()[:32],
                "form_order_matched": order is not None,
                "form_ip": submission.ip,
                "form_user_agent": submission.user_agent[:400],
                "form_page": submission.page[:500],
            },
            attachments=submission.attachments,
        ),
    )
    do_set_tags(ticket, [f"reason-{reason}", "web-form"], actor=None)
    record_contact_after_help(ticket, submission.help_session, Channel.FORM)
    ticket.refresh_from_db()
    first_name = (submission.name.strip().split() or ["there"])[0]
    with translation.override("en-us"):  # customers are written to in US English
        text = str(ACKNOWLEDGEMENT) % {
            "name": first_name,
            "token": ticket.token,
            "store": store.name if store else "Customer care",
        }
    do_send_acknowledgement(ticket, text=text, reason="form_acknowledgement")
    return ticket
