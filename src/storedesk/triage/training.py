"""The project's own training set, expanded from the hand-written templates in training_data/.

Each template is expanded several times with a fixed seed, wrapped in greetings and sign-offs,
given typos, shouting or angry asides now and then, and pairs of intents are joined into
two-intent messages: a few thousand realistic messages, always the same ones for the same files.
"""

import json
import random
import re
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from storedesk.triage.intents import Intent

DATA_DIR = Path(__file__).resolve().parent / "training_data"
SEED = 20260415
EXPANSIONS_PER_TEMPLATE = 9
TWO_INTENT_MESSAGES = 1400

_CHOICE = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<(\w+)>")


@dataclass(frozen=True)
class Example:
    text: str
    intents: tuple[str, ...]
    template: str = ""  # "intent:line" it came from; empty for two-intent messages


@cache
def pieces() -> dict[str, list[str]]:
    return json.loads((DATA_DIR / "pieces.json").read_text())


@cache
def data_fingerprint() -> str:
    """A short hash of the intent model's training data files: the built-in model's version
    (the labelled threats are for measuring threat detection, not for this model)."""
    digest = 0
    for path in sorted(DATA_DIR.rglob("*")):
        if path.is_file() and "threats" not in path.relative_to(DATA_DIR).parts:
            digest = zlib.crc32(path.read_bytes(), zlib.crc32(path.name.encode(), digest))
    return f"{digest:08x}"


@cache
def templates() -> dict[str, list[str]]:
    """intent → its template lines (comments and blank lines skipped)."""
    found = {}
    for intent in Intent.values:
        path = DATA_DIR / "intents" / f"{intent}.txt"
        lines = path.read_text().splitlines()
        found[intent] = [line.strip() for line in lines if line.strip() and line[0] != "#"]
    return found


def expand(template: str, rng: random.Random) -> str:
    """Pick one alternative of every {a|b} (innermost first) and fill every <slot>."""
    text = template
    while True:
        replaced = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), text)
        if replaced == text:
            break
        text = replaced
    text = _SLOT.sub(lambda m: _fill(m.group(1), rng), text)
    return re.sub(r"\s+([?.!,])", r"\1", re.sub(r"[ \t]+", " ", text)).strip()


def _fill(slot: str, rng: random.Random) -> str:
    if slot == "n5":
        return str(rng.randint(10000, 99999))
    value = rng.choice(pieces()[slot])
    value = re.sub(r"\{n(\d)\}", lambda m: _digits(int(m.group(1)), rng), value)
    return _SLOT.sub(lambda m: _fill(m.group(1), rng), value)


def _digits(count: int, rng: random.Random) -> str:
    return str(rng.randint(10 ** (count - 1), 10**count - 1))


def add_typos(text: str, rng: random.Random, rate: float = 0.04) -> str:
    """Swap, drop or double letters inside words, as hurried phone typing does."""
    chars = list(text)
    i = 1
    while i < len(chars) - 1:
        if chars[i].isalpha() and chars[i - 1].isalpha() and rng.random() < rate:
            kind = rng.randrange(3)
            if kind == 0 and chars[i + 1].isalpha():
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
                i += 1
            elif kind == 1:
                del chars[i]
            else:
                chars.insert(i, chars[i])
                i += 1
        i += 1
    return "".join(chars)


def _dress(body: str, rng: random.Random) -> str:
    """Wrap a body the way real messages come: greeting, asides, sign-off, casing, typos."""
    p = pieces()
    parts = []
    if rng.random() < 0.45:
        parts.append(rng.choice(p["greeting"]) + rng.choice([",", "!", "", " -", ",\n"]))
    if rng.random() < 0.15:
        parts.append(expand(rng.choice(p["filler"]), rng))
    parts.append(body)
    if rng.random() < 0.15:
        parts.append(rng.choice(p["angry_aside"]))
    if rng.random() < 0.07:
        parts.append(rng.choice(p["threat_aside"]))
    if rng.random() < 0.35:
        parts.append(rng.choice(p["signoff"]) + rng.choice(["", ",", "!"]))
        if rng.random() < 0.5:
            parts.append(rng.choice(p["name"]))
    text = " ".join(parts)
    roll = rng.random()
    if roll < 0.18:
        text = text.lower()
    elif roll < 0.22:
        text = text.upper()
    elif roll < 0.30:
        text = re.sub(r"[.,?!]", "", text)
    if rng.random() < 0.35:
        text = add_typos(text, rng)
    return text


def build_training_set(seed: int = SEED) -> list[Example]:
    """Every template expanded and dressed, plus two-intent messages; deterministic."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    examples: list[Example] = []
    seen: set[str] = set()
    bodies: dict[str, list[str]] = {}
    for intent, lines in templates().items():
        for number, line in enumerate(lines):
            for _ in range(EXPANSIONS_PER_TEMPLATE):
                body = expand(line, rng)
                bodies.setdefault(intent, []).append(body)
                text = _dress(body, rng)
                if text not in seen:
                    seen.add(text)
                    examples.append(Example(text, (intent,), f"{intent}:{number}"))
    pairable = [i for i in bodies if i not in (Intent.OTHER, Intent.COMPLIMENT)]
    for _ in range(TWO_INTENT_MESSAGES):
        first, second = rng.sample(pairable, 2)
        joined = (
            rng.choice(bodies[first])
            + rng.choice(pieces()["connector"])
            + rng.choice(bodies[second])
        )
        text = _dress(joined, rng)
        if text not in seen:
            seen.add(text)
            examples.append(Example(text, (first, second)))
    return examples


HOLDOUT_EVERY = 7


def is_held_out(template: str) -> bool:
    return zlib.crc32(template.encode()) % HOLDOUT_EVERY == 0


@dataclass
class TrainingReport:
    intent_model: object  # IntentModel
    seconds: float
    agent_labels: int


def agent_examples() -> list[Example]:
    """Every intent agents confirmed or corrected, with the message's new text."""
    from storedesk.triage.models import IntentLabel

    rows = IntentLabel.objects.select_related("message").only(
        "intents", "message__new_text", "message__text", "message__subject"
    )
    examples = []
    for label in rows.iterator(chunk_size=2000):
        intents = tuple(i for i in label.intents if i in Intent.values)
        text = message_text(label.message)
        if intents and text.strip():
            examples.append(Example(text, intents))
    return examples


def message_text(message) -> str:
    """What the model reads of a message: its subject and what is new in it."""
    body = message.new_text or message.text or ""
    subject = message.subject or ""
    if subject.lower().startswith(("re:", "fwd:", "fw:")):
        subject = ""
    return f"{subject}\n{body}".strip()
