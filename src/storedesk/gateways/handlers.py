"""Outbox handlers: a gateway's notice that arrives in the desk's mail opens a case."""

from storedesk.core.events import handles
from storedesk.desk.models import Channel, Message
from storedesk.gateways.services import CaseIn, do_open_case, recognise_gateway_email

ACTOR = "gateway-mail"


@handles("message_received")
def open_case_from_gateway_email(event) -> None:
    """One case per ticket: later mails in the same ticket join that case's timeline."""
    message = (
        Message.objects.filter(pk=event.payload.get("message_id"), channel=Channel.EMAIL)
        .select_related("ticket")
        .only("from_email", "subject", "created_at", "ticket__store", "ticket__subject")
        .first()
    )
    if message is None or message.ticket.store_id is None:
        return
    subject = message.subject or message.ticket.subject
    recognised = recognise_gateway_email(message.from_email, subject)
    if recognised is None:
        return
    gateway, kind = recognised
    case_in = CaseIn(
        gateway=gateway,
        kind=kind,
        provider_ref=f"ticket:{message.ticket_id}",
        title=subject or kind,
        happened_at=message.created_at,
        data={"ticket_id": message.ticket_id, "message_id": message.pk},
    )
    do_open_case(message.ticket.store, case_in, actor=ACTOR)
