"""IMAP polling against a real IMAP server (Debian's dovecot) started on loopback by the test:
nothing lost, nothing twice, one bad mail never blocks the rest, many mailboxes at once."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from imapclient import IMAPClient

from storedesk.desk.models import Mailbox, Message, QuarantinedMail
from storedesk.integrations.mail import imap
from storedesk.integrations.mail.tasks import poll_mailboxes
from tests.desk.mail_helpers import build_mail, media  # noqa: F401

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
PASSWORD = "imap-test-secret"
USERS = ("care@shop.example", "sales@shop.example", "vip@shop.example")

pytestmark = [
    pytest.mark.skipif(
        DOVECOT is None, reason="dovecot is not installed (apt-get install dovecot-imapd)"
    ),
    pytest.mark.usefixtures("media"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dovecot_config(root: Path, port: int) -> str:
    """Maildir in a temp folder, plain passwords, loopback only, no TLS."""
    if os.geteuid() == 0:  # dovecot refuses root for logins and mail: use its own users
        mail_user, login_user, internal_user = "dovecot", "dovenull", "dovecot"
    else:
        mail_user = login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
    account = pwd.getpwnam(mail_user)
    shutil.chown(root / "mail", account.pw_uid, account.pw_gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal_user}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def imap_server():
    root = Path(tempfile.mkdtemp(prefix="storedesk-dovecot-"))
    root.chmod(0o755)
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir()
    (root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in USERS))
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(dovecot_config(root, port))
    subprocess.run([DOVECOT, "-c", str(config)], check=True, timeout=20)  # noqa: S603
    deadline = time.monotonic() + 15
    while True:
        try:
            with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=5) as probe:
                probe.login(USERS[0], PASSWORD)
            break
        except Exception:
            if time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                pytest.fail(f"dovecot did not start: {log}")
            time.sleep(0.2)
    yield port
    subprocess.run([DOVECOT, "-c", str(config), "stop"], check=False, timeout=20)  # noqa: S603
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(imap_server):
    """A clean INBOX (and Done folder) for every user, so tests don't see each other's mail."""
    for user in USERS:
        with IMAPClient("127.0.0.1", port=imap_server, ssl=False) as client:
            client.login(user, PASSWORD)
            for folder in ("INBOX", "Done"):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                client.select_folder(folder)
                uids = client.search(["ALL"])
                if uids:
                    client.delete_messages(uids)
                    client.expunge()
    return imap_server


def deliver(port: int, user: str, *mails: bytes) -> None:
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        for mail in mails:
            client.append("INBOX", mail)


def server_flags(port: int, user: str, folder: str = "INBOX") -> dict[bytes, bool]:
    """Message-ID → seen, for what is in the folder."""
    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        found = (
            client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        )
    flags = {}
    for data in found.values():
        header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]
        if b":" in header:
            flags[header.split(b":", 1)[1].strip()] = b"\\Seen" in data[b"FLAGS"]
    return flags


def mailbox_for(port: int, user: str = USERS[0], **kwargs) -> Mailbox:
    values = {
        "name": user,
        "address": user,
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_ssl": False,
        "imap_username": user,
        "imap_password_env": "STOREDESK_TEST_IMAP_PASSWORD",
    }
    return Mailbox.objects.create(**(values | kwargs))


def mails(count: int, prefix: str = "m") -> list[bytes]:
    return [
        build_mail(
            sender=f"customer{n}@mail.example",
            subject=f"Order question {n}",
            message_id=f"<{prefix}{n}@mail.example>",
        )
        for n in range(count)
    ]


@pytest.fixture(autouse=True)
def password_in_env(monkeypatch):
    monkeypatch.setenv("STOREDESK_TEST_IMAP_PASSWORD", PASSWORD)


@pytest.mark.django_db
def test_new_mail_is_stored_then_marked_seen_and_not_read_again(server):
    deliver(server, USERS[0], *mails(5))
    mailbox = mailbox_for(server)
    result = imap.poll_mailbox(mailbox, batch_size=2)
    assert (result.stored, result.duplicates, result.quarantined) == (5, 0, 0)
    assert Message.objects.count() == 5
    assert all(server_flags(server, USERS[0]).values())
    mailbox.refresh_from_db()
    assert mailbox.uid_validity is not None
    assert mailbox.last_uid == 5
    again = imap.poll_mailbox(mailbox)
    assert (again.stored, again.duplicates) == (0, 0)


@pytest.mark.django_db
def test_processed_mail_is_moved_when_a_done_folder_is_set(server):
    deliver(server, USERS[0], *mails(2))
    imap.poll_mailbox(mailbox_for(server, imap_done_folder="Done"))
    assert server_flags(server, USERS[0]) == {}
    assert set(server_flags(server, USERS[0], "Done")) == {
        b"<m0@mail.example>",
        b"<m1@mail.example>",
    }


@pytest.mark.django_db
def test_a_crash_after_commit_rereads_the_mail_and_stores_it_once(server, monkeypatch):
    deliver(server, USERS[0], *mails(4))
    mailbox = mailbox_for(server)
    real_after_commit = imap._after_commit
    calls = []

    def crash_on_second(client, box, uid):
        calls.append(uid)
        if len(calls) == 2:
            raise ConnectionError("worker killed")
        real_after_commit(client, box, uid)

    monkeypatch.setattr(imap, "_after_commit", crash_on_second)
    with pytest.raises(ConnectionError):
        imap.poll_mailbox(mailbox, batch_size=3)
    assert Message.objects.count() == 3  # the batch of 3 committed; only the first marked
    flags = server_flags(server, USERS[0])
    assert [flags[f"<m{n}@mail.example>".encode()] for n in range(4)] == [True, False, False, False]
    monkeypatch.setattr(imap, "_after_commit", real_after_commit)
    mailbox.refresh_from_db()
    result = imap.poll_mailbox(mailbox, batch_size=3)
    assert (result.stored, result.duplicates) == (1, 2)
    assert Message.objects.count() == 4
    assert all(server_flags(server, USERS[0]).values())


@pytest.mark.django_db
def test_a_huge_and_a_broken_mail_never_block_the_rest(server, settings):
    settings.DESK_MAX_MAIL_BYTES = 20_000
    huge = build_mail(message_id="<huge@mail.example>", text="big " * 10_000)
    broken = b"this is not a mail at all\r\n\x00\x01"
    good = mails(3)
    deliver(server, USERS[0], good[0], huge, broken, good[1], good[2])
    result = imap.poll_mailbox(mailbox_for(server))
    assert (result.stored, result.quarantined) == (3, 2)
    reasons = sorted(QuarantinedMail.objects.values_list("reason", flat=True))
    assert reasons[0].startswith("larger than")
    assert reasons[1] == "no sender address"
    flags = server_flags(server, USERS[0])
    assert flags[b"<huge@mail.example>"] is False  # left unread on the server for a person
    assert flags[b"<m2@mail.example>"] is True


@pytest.mark.django_db
def test_a_new_uidvalidity_rereads_the_folder_without_duplicates(server):
    deliver(server, USERS[0], *mails(2))
    mailbox = mailbox_for(server)
    imap.poll_mailbox(mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=1, last_uid=99)
    mailbox.refresh_from_db()
    result = imap.poll_mailbox(mailbox)
    assert (result.stored, result.duplicates) == (0, 2)
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_a_dead_server_is_recorded_on_the_mailbox(server, monkeypatch):
    monkeypatch.setenv("STOREDESK_TEST_IMAP_PASSWORD", "wrong")
    mailbox = mailbox_for(server)
    assert imap.poll_mailbox_by_id(mailbox.pk) is None
    mailbox.refresh_from_db()
    assert "LoginError" in mailbox.last_error
    assert mailbox.last_polled_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_periodic_job_polls_every_mailbox(server, settings):
    # One poller thread: the in-memory test database locks tables instead of waiting (a
    # file database in WAL mode waits its busy timeout); concurrency is tested below.
    settings.DESK_IMAP_POLLERS = 1
    for index, user in enumerate(USERS):
        deliver(server, user, *mails(3, prefix=f"u{index}-"))
        mailbox_for(server, user)
    counts = poll_mailboxes.call()
    assert counts == {"mailboxes": 3, "stored": 9, "duplicates": 0, "quarantined": 0}
    assert set(Message.objects.values_list("ticket__mailbox__address", flat=True)) == set(USERS)


@pytest.mark.django_db(transaction=True)
def test_mailboxes_are_polled_concurrently():
    for n in range(16):
        Mailbox.objects.create(name=f"m{n}", address=f"m{n}@shop.example", imap_host="127.0.0.1")

    def slow_poll(mailbox_id):
        time.sleep(0.3)  # a slow IMAP server
        return mailbox_id

    started = time.perf_counter()
    polled = imap.poll_all_mailboxes(max_workers=8, poll=slow_poll)
    assert len(polled) == 16
    assert time.perf_counter() - started < 1.5  # 2 rounds of 0.3 s, not 16 × 0.3 s
