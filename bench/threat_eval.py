"""Benchmark: threat detection on the labelled set in the repository.

    python bench/threat_eval.py [--path FILE.jsonl ...]

By default every file in src/storedesk/triage/training_data/threats/ (labelled.jsonl, the
phrasings the patterns were written for, and held_out.jsonl, written after them).

Prints precision and recall per threat (chargeback, bad review, legal, never again) and for
"any threat", then every message missed or wrongly flagged. Needs no database.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.test")
    import django

    django.setup()
    from storedesk.triage.threat_eval import LABELLED_THREATS, labelled_messages, measure_threats

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, nargs="+", default=LABELLED_THREATS)
    args = parser.parse_args()
    rows = labelled_messages(args.path)
    positives = sum(1 for row in rows if row.threats)
    negatives = len(rows) - positives
    print(f"{len(rows)} labelled messages: {positives} with a threat, {negatives} without")
    print(f"{'threat':<12} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    figures = measure_threats(rows)
    for name, figure in figures.items():
        print(
            f"{name:<12} {figure.precision:>9.3f} {figure.recall:>7.3f} "
            f"{figure.true_positives:>4} {figure.false_positives:>4} {figure.false_negatives:>4}"
        )
    for name, figure in figures.items():
        for text in figure.missed:
            print(f"missed   {name}: {text}")
        for text in figure.wrongly_flagged:
            print(f"flagged  {name}: {text}")


if __name__ == "__main__":
    main()
