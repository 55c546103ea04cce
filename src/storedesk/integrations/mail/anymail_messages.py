"""What every inbound-mail provider's message needs before ingest: its mailbox and its bytes."""

from __future__ import annotations

from storedesk.desk.models import Mailbox


def mailbox_for(message) -> Mailbox | None:
    """The active mailbox the mail was sent to (envelope recipient first, then To and Cc)."""
    recipients = [message.envelope_recipient or ""]
    recipients += [address.addr_spec for address in (message.to or []) + (message.cc or [])]
    wanted = [address.strip().lower() for address in recipients if address]
    if not wanted:
        return None
    return Mailbox.objects.filter(address__in=wanted, is_active=True).order_by("pk").first()


def raw_bytes(message) -> bytes:
    """The message as MIME bytes, for `do_ingest_email`."""
    try:
        return message.as_bytes()
    except Exception:  # an odd header the generator refuses; the text still serialises
        return message.as_string().encode("utf-8", "surrogateescape")
