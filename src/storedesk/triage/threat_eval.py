"""How well threat detection (`mood.read_mood`) does on the labelled set kept with the training
data: messages that threaten a chargeback or a bad review in many phrasings, and hard
negatives that name a card, a bank, PayPal or a review without threatening anything.

Precision and recall per threat (and for "any threat"); the tests hold them above stated
floors and `bench/threat_eval.py` prints them with every miss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from storedesk.triage.intents import Threat
from storedesk.triage.mood import read_mood

# labelled.jsonl: the phrasings the patterns were written for; held_out.jsonl: written after
# them, to see how they do on phrasings they were not written for (then learned from too).
THREATS_DIR = Path(__file__).resolve().parent / "training_data" / "threats"
LABELLED_THREATS = sorted(THREATS_DIR.glob("*.jsonl"))
ANY_THREAT = "any"


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    threats: frozenset[str]


@dataclass
class ThreatFigures:
    threat: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_flagged: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0


def labelled_messages(paths: list[Path] = LABELLED_THREATS) -> list[LabelledMessage]:
    """The JSON lines `{"text": …, "threats": [...]}`; an unknown threat name is an error."""
    rows = []
    lines = [
        (path, number, line)
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    ]
    for path, number, line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        unknown = set(row["threats"]) - set(Threat.values)
        if unknown:
            raise ValueError(f"{path.name}:{number}: unknown threat {sorted(unknown)}")
        rows.append(LabelledMessage(row["text"], frozenset(row["threats"])))
    return rows


def measure_threats(rows: list[LabelledMessage] | None = None) -> dict[str, ThreatFigures]:
    """Figures per threat and for any threat at all (a message flagged with some threat)."""
    rows = labelled_messages() if rows is None else rows
    figures = {name: ThreatFigures(name) for name in [*Threat.values, ANY_THREAT]}
    for row in rows:
        found = frozenset(read_mood(row.text).threats)
        for name in Threat.values:
            _count(figures[name], row.text, name in row.threats, name in found)
        _count(figures[ANY_THREAT], row.text, bool(row.threats), bool(found))
    return figures


def _count(figures: ThreatFigures, text: str, labelled: bool, found: bool) -> None:
    if labelled and found:
        figures.true_positives += 1
    elif labelled:
        figures.false_negatives += 1
        figures.missed.append(text)
    elif found:
        figures.false_positives += 1
        figures.wrongly_flagged.append(text)
