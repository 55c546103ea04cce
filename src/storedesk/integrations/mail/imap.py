"""IMAP polling with no loss: a mail is marked seen (or moved) only after it is committed.

Per mailbox we keep UIDVALIDITY and the last UID handled. Each poll fetches the UIDs above it
in batches; a batch goes through `do_ingest_batch` (one transaction, a savepoint per mail),
and only after it commits are its mails flagged on the server and the last UID moved on. A
crash anywhere in between re-reads the mail next time, and its Message-ID makes the second
read a duplicate, stored once. A mail
larger than the limit is not downloaded: its headers are quarantined and it stays unseen on
the server. A mail that cannot be fetched or stored is quarantined; the rest go on.

Many mailboxes: `poll_all_mailboxes` polls them at once in a thread pool (IMAP is waiting on
the network, not the CPU), so 80 mailboxes take about as long as the slowest one, not their
sum; a mailbox still being polled is not polled twice in the same process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from storedesk.desk.mail_in import (
    DUPLICATE,
    QUARANTINED,
    STORED,
    do_advance_mailbox,
    do_ingest_batch,
    do_record_mailbox_poll,
    do_restart_mailbox,
    quarantine,
)
from storedesk.desk.models import Mailbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 25
CONNECT_TIMEOUT_SECONDS = 60
SEEN = b"\\Seen"
_polling: set[int] = set()
_polling_lock = threading.Lock()


@dataclass
class PollResult:
    mailbox: str
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def count(self, outcome: str) -> None:
        if outcome == STORED:
            self.stored += 1
        elif outcome == DUPLICATE:
            self.duplicates += 1
        elif outcome == QUARANTINED:
            self.quarantined += 1


class MailboxNotConfigured(Exception):
    pass


def mailbox_password(mailbox: Mailbox) -> str:
    """The password from the named environment variable (preferred) or the stored one."""
    if mailbox.imap_password_env:
        password = os.environ.get(mailbox.imap_password_env, "")
        if not password:
            raise MailboxNotConfigured(f"environment variable {mailbox.imap_password_env} is empty")
        return password
    return mailbox.imap_password


def connect(mailbox: Mailbox) -> IMAPClient:
    if not mailbox.imap_host or not mailbox.imap_username:
        raise MailboxNotConfigured("no IMAP host or user")
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=mailbox.imap_ssl,
        timeout=CONNECT_TIMEOUT_SECONDS,
    )
    client.login(mailbox.imap_username, mailbox_password(mailbox))
    return client


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _after_commit(client: IMAPClient, mailbox: Mailbox, uid: int) -> None:
    """The mail is safely stored: tell the server, then remember the UID."""
    if mailbox.imap_done_folder:
        client.move([uid], mailbox.imap_done_folder)
    else:
        client.add_flags([uid], [SEEN])
    do_advance_mailbox(mailbox, uid)


def _source(mailbox: Mailbox, uid: int) -> str:
    return f"imap:{mailbox.address}:{mailbox.uid_validity}:{uid}"


def _fetch_bodies(client: IMAPClient, uids: list[int]) -> dict[int, bytes | Exception]:
    """The batch in one round trip; if the server fails it, each mail alone."""
    try:
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: fetched[uid][b"BODY[]"] for uid in uids if uid in fetched}
    except IMAPClientError:
        logger.warning("Batch fetch failed, fetching one by one", exc_info=True)
    bodies: dict[int, bytes | Exception] = {}
    for uid in uids:
        try:
            bodies[uid] = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        except (IMAPClientError, KeyError) as error:
            bodies[uid] = error
    return bodies


def poll_mailbox(mailbox: Mailbox, *, batch_size: int = BATCH_SIZE) -> PollResult:
    """Fetch and store every new mail of one mailbox; see the module docstring."""
    result = PollResult(mailbox=mailbox.address)
    with connect(mailbox) as client:
        folder = client.select_folder(mailbox.imap_folder)
        uid_validity = int(folder[b"UIDVALIDITY"])
        if mailbox.uid_validity != uid_validity:
            # The server renumbered the folder: read it again; Message-IDs dedupe.
            do_restart_mailbox(mailbox, uid_validity)
        uids = sorted(
            uid
            for uid in client.search(["UID", f"{mailbox.last_uid + 1}:*"])
            if uid > mailbox.last_uid
        )
        limit = settings.DESK_MAX_MAIL_BYTES
        for batch in _chunks(uids, batch_size):
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            small = [uid for uid in batch if sizes.get(uid, {}).get(b"RFC822.SIZE", 0) <= limit]
            for uid in batch:
                if uid not in small:
                    head = client.fetch([uid], ["BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"]
                    size_mb = sizes[uid][b"RFC822.SIZE"] // (1024 * 1024)
                    quarantine(
                        head,
                        reason=f"larger than {limit // (1024 * 1024)} MB ({size_mb} MB): only "
                        "its headers were read; the mail is left unread on the server",
                        source=_source(mailbox, uid),
                        mailbox=mailbox,
                    )
                    result.quarantined += 1
                    do_advance_mailbox(mailbox, uid)
            bodies = _fetch_bodies(client, small) if small else {}
            fetched = [uid for uid in small if isinstance(bodies.get(uid), bytes)]
            outcomes = do_ingest_batch(
                [(_source(mailbox, uid), bodies[uid]) for uid in fetched], mailbox=mailbox
            )
            for outcome in outcomes:
                result.count(outcome.outcome)
            for uid in small:
                if uid not in fetched:
                    quarantine(
                        b"",
                        reason=f"could not be fetched: {bodies.get(uid)!r}; it stays on the server",
                        source=_source(mailbox, uid),
                        mailbox=mailbox,
                    )
                    result.quarantined += 1
                _after_commit(client, mailbox, uid)
    return result


def poll_mailbox_by_id(mailbox_id: int) -> PollResult | None:
    """One mailbox, recording the outcome on it; skipped if already being polled here."""
    with _polling_lock:
        if mailbox_id in _polling:
            return None
        _polling.add(mailbox_id)
    try:
        mailbox = Mailbox.objects.get(pk=mailbox_id)
        try:
            result, error = poll_mailbox(mailbox), ""
        except Exception as exc:  # a dead server must not stop the other mailboxes
            logger.exception("Polling %s failed", mailbox)
            result, error = None, f"{type(exc).__name__}: {exc}"[:2000]
        do_record_mailbox_poll(mailbox_id, error=error)
        return result
    finally:
        with _polling_lock:
            _polling.discard(mailbox_id)


def _in_own_thread(poll: Callable[[int], PollResult | None], mailbox_id: int):
    try:
        return poll(mailbox_id)
    finally:
        connection.close()  # each pool thread opened its own


def poll_all_mailboxes(
    *, max_workers: int | None = None, poll: Callable[[int], PollResult | None] | None = None
) -> list[PollResult | None]:
    """Every active IMAP mailbox, concurrently."""
    ids = list(
        Mailbox.objects.filter(is_active=True)
        .exclude(imap_host="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return []
    workers = max_workers or settings.DESK_IMAP_POLLERS
    with ThreadPoolExecutor(max_workers=min(workers, len(ids))) as pool:
        return list(pool.map(partial(_in_own_thread, poll or poll_mailbox_by_id), ids))
