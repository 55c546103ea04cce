"""`storedesk ingest-mail` imports .eml, mbox, maildir and folders, twice without duplicates;
`storedesk add-mailbox` sets up a mailbox without an admin."""

import mailbox as mailboxes
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storedesk.audit.models import AuditEntry
from storedesk.desk.models import Mailbox, Message, QuarantinedMail, Ticket
from tests.desk.mail_helpers import build_mail, media  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def ingest(path, *args) -> str:
    out, err = StringIO(), StringIO()
    call_command("ingest-mail", str(path), *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def thread(prefix: str) -> list[bytes]:
    """A customer's mail and their reply to it: one ticket."""
    return [
        build_mail(message_id=f"<{prefix}.1@mail.example>"),
        build_mail(
            message_id=f"<{prefix}.2@mail.example>",
            in_reply_to=f"<{prefix}.1@mail.example>",
            subject="Re: Where is my ring?",
            text="Any news?\n\nOn Monday, Emma wrote:\n> Hi, my order #1001 has not arrived yet.",
        ),
    ]


def test_an_eml_file_then_the_same_again(tmp_path):
    path = tmp_path / "one.eml"
    path.write_bytes(build_mail())
    assert ingest(path).startswith("stored 1, duplicates 0, quarantined 0")
    assert ingest(path).startswith("stored 0, duplicates 1, quarantined 0")


def test_an_mbox_export_threads_its_replies(tmp_path):
    box = mailboxes.mbox(tmp_path / "export.mbox")
    for raw in [*thread("a"), b"garbage without headers\n"]:
        box.add(raw)
    box.flush()
    assert ingest(tmp_path / "export.mbox").startswith("stored 2, duplicates 0, quarantined 1")
    assert Ticket.objects.count() == 1
    assert Message.objects.get(message_id="<a.2@mail.example>").new_text == "Any news?"
    assert QuarantinedMail.objects.get().source.startswith("mbox:export.mbox:")


def test_a_maildir(tmp_path):
    box = mailboxes.Maildir(tmp_path / "Maildir")
    for raw in thread("b"):
        box.add(raw)
    assert ingest(tmp_path / "Maildir").startswith("stored 2, duplicates 0, quarantined 0")


def test_a_folder_of_eml_files_for_a_mailbox(tmp_path):
    Mailbox.objects.create(name="Care", address="care@shop.example")
    (tmp_path / "2024").mkdir()
    for index, raw in enumerate(thread("c")):
        (tmp_path / "2024" / f"{index}.eml").write_bytes(raw)
    assert ingest(tmp_path, "--mailbox", "Care@Shop.example").startswith("stored 2")
    assert Ticket.objects.get().mailbox.address == "care@shop.example"


def test_bad_paths_and_mailboxes_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        ingest(tmp_path / "missing.mbox")
    with pytest.raises(CommandError, match="no mailbox"):
        ingest(tmp_path, "--mailbox", "nobody@shop.example")


def test_add_mailbox_stores_the_env_var_name_never_a_password():
    out = StringIO()
    call_command(
        "add-mailbox",
        "Care@Shop.example",
        "--imap-host=imap.mail.example",
        "--imap-user=care@shop.example",
        "--password-env=CARE_IMAP_PASSWORD",
        "--done-folder=Handled",
        stdout=out,
        stderr=StringIO(),
    )
    assert "Added mailbox care@shop.example" in out.getvalue()
    mailbox = Mailbox.objects.get()
    assert (mailbox.imap_host, mailbox.imap_port, mailbox.imap_ssl) == (
        "imap.mail.example",
        993,
        True,
    )
    assert (mailbox.imap_password, mailbox.imap_password_env) == ("", "CARE_IMAP_PASSWORD")
    assert AuditEntry.objects.filter(action="desk.mailbox_added").count() == 1
    call_command(
        "add-mailbox",
        "care@shop.example",
        "--imap-host=imap2.mail.example",
        "--imap-user=care",
        "--password-env=X",
        stdout=out,
        stderr=StringIO(),
    )
    assert Mailbox.objects.get().imap_host == "imap2.mail.example"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-address"], "not an email address"),
        (["care@shop.example", "--imap-host=imap.mail.example"], "--password-env is required"),
        (["care@shop.example", "--imap-host=h", "--password-env=X"], "needs a user name"),
        (["care@shop.example", "--imap-port=0"], "not a port"),
    ],
)
def test_add_mailbox_refuses_bad_input_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("add-mailbox", *args, stdout=StringIO(), stderr=StringIO())
    assert not Mailbox.objects.exists()
