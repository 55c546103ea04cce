"""A small reader of gettext `.po` files: enough to check our own catalogue in tests."""

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    context: str = ""
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False
    comments: list[str] = field(default_factory=list)  # the translators' own ("# …")

    @property
    def customer_facing(self) -> bool:
        """Marked "# Customer-facing": customers always get US English, so it stays empty."""
        return any(comment.startswith("Customer-facing") for comment in self.comments)

    @property
    def key(self) -> tuple[str, str]:
        return (self.context, self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr) and not self.fuzzy


def read_po(path: Path) -> list[Entry]:
    """Entries in file order, the header (empty msgid) left out."""
    entries, entry, target = [], Entry(), None

    def finish():
        nonlocal entry, target
        if entry.msgid or entry.msgstr:
            entries.append(entry)
        entry, target = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.fuzzy = entry.fuzzy or "fuzzy" in line
            continue
        if line.startswith("# "):
            entry.comments.append(line[2:])
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if target == "msgstr":
                entry.msgstr[-1] += value
            else:
                setattr(entry, target, getattr(entry, target) + value)
            continue
        value = ast.literal_eval(rest)
        if keyword == "msgctxt":
            target, entry.context = "context", value
        elif keyword in ("msgid", "msgid_plural"):
            target = keyword
            setattr(entry, keyword, value)
        elif keyword.startswith("msgstr"):
            target = "msgstr"
            entry.msgstr.append(value)
    finish()
    return [e for e in entries if e.msgid and not e.obsolete]
