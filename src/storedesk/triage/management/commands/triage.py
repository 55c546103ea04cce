"""`storedesk triage FILE`: understand a message (.eml or plain text, `-` for stdin) and print
the analysis as JSON: intents with confidence and top features, order references, mood,
threats, language."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from storedesk.triage.analysis import analyse_text
from storedesk.triage.classifier import active_classifier, builtin_classifier

MAX_FILE_BYTES = 25 * 1024 * 1024


class Command(BaseCommand):
    help = "Analyse one message (.eml or text file, or - for standard input) and print JSON."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to a .eml or text file, or - for stdin")

    def handle(self, *args, **options):
        raw = _read(options["file"])
        if options["file"].lower().endswith(".eml") or raw[:4096].lower().find(b"\nsubject:") >= 0:
            from storedesk.desk.mailparse import parse_email

            parsed = parse_email(raw)
            result = analyse_text(
                parsed.new_text or parsed.text, subject=_subject(parsed.subject), model=_model()
            )
            extra = {"from": parsed.from_email, "subject": parsed.subject}
        else:
            result = analyse_text(raw.decode("utf-8", errors="replace"), model=_model())
            extra = {}
        self.stdout.write(json.dumps(extra | result.as_dict(), indent=2, ensure_ascii=False))


def _model():
    """The active model; the built-in one when the database has no model table yet (a fresh
    checkout before `storedesk migrate`), so a message can be tried anywhere."""
    from storedesk.triage.models import IntentModel

    try:
        tables = connection.introspection.table_names()
    except DatabaseError:
        tables = []
    if IntentModel._meta.db_table in tables:
        return active_classifier()
    return builtin_classifier()


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read(MAX_FILE_BYTES)
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"no such file: {name}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CommandError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def _subject(subject: str) -> str:
    return "" if subject.lower().startswith(("re:", "fwd:", "fw:")) else subject
