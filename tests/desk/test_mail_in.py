"""Email in: stored, duplicates once, quarantined with the raw bytes, big attachments dropped
with a note, auto-replies stored and never answered."""

import pytest

from storedesk.desk.mail_in import do_ingest_email
from storedesk.desk.models import Attachment, Message, QuarantinedMail, Ticket
from storedesk.desk.services import do_change_status, do_reply
from tests.desk.mail_helpers import build_mail, media  # noqa: F401
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_a_mail_becomes_a_ticket_with_its_raw_source_and_attachments():
    raw = build_mail(attachments=[("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")])
    result = do_ingest_email(raw, source="test")
    assert result.outcome == "stored"
    message = result.message
    ticket = message.ticket
    assert (ticket.channel, ticket.requester_email, ticket.subject) == (
        "email",
        "emma@mail.example",
        "Where is my ring?",
    )
    assert message.new_text.startswith("Hi, my order #1001 has not arrived yet.")
    assert message.raw.read() == raw
    attachment = Attachment.objects.get(message=message)
    assert (attachment.filename, attachment.size) == ("photo.jpg", 6)


def test_the_same_mail_twice_is_stored_once():
    raw = build_mail()
    assert do_ingest_email(raw, source="a").outcome == "stored"
    again = do_ingest_email(raw, source="b")
    assert again.outcome == "duplicate"
    assert Message.objects.count() == 1
    assert Ticket.objects.get().message_count == 1


def test_a_40_mb_attachment_is_left_out_with_a_note_and_the_mail_kept_whole(settings):
    big = bytes(range(256)) * (40 * 1024 * 1024 // 256)
    raw = build_mail(attachments=[("video.mov", "video/quicktime", big)])
    result = do_ingest_email(raw, source="test")
    assert result.outcome == "stored"
    assert not Attachment.objects.exists()
    note = result.message.ticket.messages.get(kind=Message.Kind.NOTE)
    assert "video.mov" in note.text
    assert "larger than 25 MB" in note.text
    assert result.message.raw.size == len(raw)


def test_a_blocked_file_type_is_left_out_with_a_note():
    raw = build_mail(attachments=[("invoice.exe", "application/octet-stream", b"MZ")])
    result = do_ingest_email(raw, source="test")
    assert not Attachment.objects.exists()
    assert "invoice.exe" in result.message.ticket.messages.get(kind="note").text


def test_a_mail_over_the_size_limit_is_quarantined_unparsed(settings):
    settings.DESK_MAX_MAIL_BYTES = 1024
    raw = build_mail(text="x" * 5000)
    result = do_ingest_email(raw, source="imap:care@shop.example:1:7")
    assert result.outcome == "quarantined"
    item = QuarantinedMail.objects.get()
    assert item.raw.read() == raw
    assert "larger than" in item.reason
    assert item.source == "imap:care@shop.example:1:7"
    assert not Ticket.objects.exists()


def test_not_mail_at_all_is_quarantined_with_its_bytes():
    raw = b"\x00\x01\x02 this is not an email"
    result = do_ingest_email(raw, source="test")
    assert result.outcome == "quarantined"
    assert result.quarantined.reason == "no sender address"
    assert result.quarantined.raw.read() == raw


def test_a_failed_batch_write_falls_back_to_storing_each_mail_alone(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("bulk insert failed")

    monkeypatch.setattr("storedesk.desk.mail_batch._flush", explode)
    result = do_ingest_email(build_mail(), source="test")
    assert result.outcome == "stored"
    assert Ticket.objects.get().message_count == 1


def test_a_failure_while_storing_is_quarantined_and_rolls_back(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("storedesk.desk.mail_batch._flush", explode)
    monkeypatch.setattr("storedesk.desk.mail_in.do_receive_message", explode)
    result = do_ingest_email(build_mail(), source="test")
    assert result.outcome == "quarantined"
    assert "disk full" in result.quarantined.reason
    assert not Ticket.objects.exists()


def test_html_with_scripts_is_stored_sanitized():
    html = (
        '<p onmouseover="steal()">Hello<script>alert(1)</script></p>'
        '<img src="https://pixel.example/t.gif?u=1" width="1" height="1">'
        '<div style="position:fixed;inset:0;background:white">fake login</div>'
    )
    message = do_ingest_email(build_mail(html=html), source="test").message
    for forbidden in ("script", "onmouseover", "pixel.example", "style", "position"):
        assert forbidden not in message.html


def test_an_autoresponder_loop_is_stored_flagged_and_never_answered():
    first = do_ingest_email(build_mail(), source="test").message
    ticket = first.ticket
    ours = do_reply(ticket, author=UserFactory(), text="Here is your tracking link.")
    do_change_status(ticket, Ticket.Status.PENDING, actor=None)
    for number in range(3):  # the customer's autoresponder answers each of our mails
        auto = do_ingest_email(
            build_mail(
                subject="Automatic reply: Where is my ring?",
                message_id=f"<auto.{number}@mail.example>",
                in_reply_to=ours.message_id,
                headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
                text="I am away until Monday.",
            ),
            source="test",
        ).message
        assert auto.ticket_id == ticket.pk
        assert (auto.is_automatic, auto.automatic_reason) == (True, "auto_reply")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING  # not reopened by a machine
    assert ticket.messages.filter(kind=Message.Kind.OUTBOUND).count() == 1  # never answered


def test_our_own_mail_coming_back_is_a_duplicate():
    first = do_ingest_email(build_mail(), source="test").message
    ours = do_reply(first.ticket, author=UserFactory(), text="On its way.")
    echo = build_mail(sender="care@shop.example", message_id=ours.message_id)
    assert do_ingest_email(echo, source="test").outcome == "duplicate"
