"""`storedesk ingest-mail PATH`: import mail from an .eml file, an mbox, a maildir or a folder
of .eml files (moving from Gmail, Help Scout, …). Safe to run twice: duplicates are skipped."""

import mailbox as mailboxes
import time
from collections import Counter
from collections.abc import Iterator
from itertools import batched
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from storedesk.desk.mail_in import do_ingest_batch
from storedesk.desk.models import Mailbox

BATCH_SIZE = 50  # mails per transaction


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def read_mail(path: Path) -> Iterator[tuple[str, bytes]]:
    """(source, raw bytes) of every mail under the path."""
    if path.is_file():
        if _is_mbox(path):
            box = mailboxes.mbox(path, create=False)
            for key in box.iterkeys():
                yield f"mbox:{path.name}:{key}", box.get_bytes(key)
        else:
            yield f"file:{path.name}", path.read_bytes()
    elif all((path / folder).is_dir() for folder in ("cur", "new")):
        box = mailboxes.Maildir(path, factory=None, create=False)
        for key in sorted(box.iterkeys()):
            yield f"maildir:{key}", box.get_bytes(key)
    else:
        for file in sorted(path.rglob("*.eml")):
            yield f"file:{file.relative_to(path)}", file.read_bytes()


class Command(BaseCommand):
    help = "Import mail from an .eml file, an mbox, a maildir or a folder of .eml files."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--mailbox", help="address of the mailbox the mail was sent to")

    def handle(self, *args, path: Path, mailbox: str | None, **options):
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        target = None
        if mailbox:
            target = Mailbox.objects.filter(address=mailbox.strip().lower()).first()
            if target is None:
                raise CommandError(f"no mailbox {mailbox}: add it with `storedesk add-mailbox`")
        counts: Counter = Counter()
        started = time.perf_counter()
        for batch in batched(read_mail(path), BATCH_SIZE):
            mails = [(source[:200], raw) for source, raw in batch]
            for (source, _), result in zip(
                mails, do_ingest_batch(mails, mailbox=target), strict=True
            ):
                counts[result.outcome] += 1
                if result.outcome == "quarantined":
                    self.stderr.write(f"quarantined {source}: {result.quarantined.reason}")
        elapsed = time.perf_counter() - started
        total = sum(counts.values())
        self.stdout.write(
            f"stored {counts['stored']}, duplicates {counts['duplicate']}, "
            f"quarantined {counts['quarantined']} ({total} mails in {elapsed:.1f} s)"
        )
