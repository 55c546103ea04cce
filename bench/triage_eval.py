"""Benchmark: the triage classifier on third-party customer-support messages it never saw.

    python bench/triage_eval.py [--csv PATH] [--map bench/bitext_intent_map.json] [--latency 2000]

The model is trained here only on the project's own training data (src/storedesk/triage/
training_data); the benchmark rows are for measuring, never for training or tuning. Reports:

1. intent accuracy and macro-F1 (primary intent) on the rows whose Bitext intent maps to one of
   ours (bench/bitext_intent_map.json; the unmapped intents are listed and left out), per intent;
2. order-number extraction recall on the rows with an `order_id` entity span: a span counts as
   found when an extracted order reference has the same digits (leading zeros ignored, since
   Bitext's entity_value drops them while the text keeps them); and how many references were
   found on rows that name no order;
3. latency per message of the in-process analysis (intents with explanation, order references,
   mood and threats, language), p50/p99, over --latency messages one at a time.

Needs no database. The CSV defaults to ../shared/benchmarks/intents/bitext_customer_support.csv.
"""

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_CSV = ROOT.parent / "shared" / "benchmarks" / "intents" / "bitext_customer_support.csv"
DEFAULT_MAP = ROOT / "bench" / "bitext_intent_map.json"


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit()).lstrip("0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--map", type=Path, default=DEFAULT_MAP)
    parser.add_argument("--latency", type=int, default=2000, help="messages timed one by one")
    args = parser.parse_args()
    if not args.csv.exists():
        sys.exit(f"benchmark file not found: {args.csv}")

    from sklearn.metrics import accuracy_score, classification_report, f1_score

    from storedesk.triage.classifier import IntentClassifier
    from storedesk.triage.language import detect_language
    from storedesk.triage.mood import read_mood
    from storedesk.triage.orders import extract_refs
    from storedesk.triage.training import build_training_set

    mapping = json.loads(args.map.read_text())
    mapped = mapping["mapped"]
    rows = list(csv.DictReader(args.csv.open(newline="", encoding="utf-8")))

    started = time.perf_counter()
    examples = build_training_set()
    classifier = IntentClassifier.fit([e.text for e in examples], [e.intents for e in examples])
    print(
        f"trained on the project's own data: {len(examples):,} messages "
        f"in {time.perf_counter() - started:.1f} s"
    )

    scored = [row for row in rows if row["intent"] in mapped]
    truth = [mapped[row["intent"]] for row in scored]
    started = time.perf_counter()
    predicted = [p.primary for p in classifier.predict_many([r["instruction"] for r in scored])]
    batch_seconds = time.perf_counter() - started
    labels = sorted(set(truth))
    print(f"\n1. intents: {len(scored):,} of {len(rows):,} rows mapped to {len(labels)} intents")
    print(f"   left out ({len(mapping['left_out'])}): {', '.join(sorted(mapping['left_out']))}")
    print(f"   accuracy  {accuracy_score(truth, predicted):.4f}")
    macro = f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
    print(f"   macro-F1  {macro:.4f}  (over the {len(labels)} mapped intents; target ≥ 0.85)")
    print(classification_report(truth, predicted, labels=labels, digits=3, zero_division=0))
    by_source = Counter()
    for row, guess in zip(scored, predicted, strict=True):
        by_source[row["intent"], guess == mapped[row["intent"]]] += 1
    print("   accuracy by Bitext intent:")
    for name in sorted(mapped):
        right, wrong = by_source[name, True], by_source[name, False]
        print(f"     {name:<26} → {mapped[name]:<16} {right / max(1, right + wrong):.3f}")
    elsewhere = Counter(
        g for g, t in zip(predicted, truth, strict=True) if g != t and g not in labels
    )
    print(f"   mistakes into intents outside the mapping: {dict(elsewhere.most_common(6))}")

    with_order = [r for r in rows if r["entity_type"] == "order_id"]
    found = 0
    for row in with_order:
        span = row["instruction"][int(row["start_offset"]) : int(row["end_offset"])]
        refs = {_digits(ref.value) for ref in extract_refs(row["instruction"])}
        found += _digits(span) in refs
    spans = Counter("placeholder" if "{{" in r["instruction"] else "digits" for r in with_order)
    no_order = [r for r in rows if r["entity_type"] != "order_id"]
    spurious = sum(1 for r in no_order if extract_refs(r["instruction"]))
    print(f"\n2. order numbers: {len(with_order)} rows with an order_id span ({dict(spans)})")
    print(
        f"   recall    {found / max(1, len(with_order)):.4f}  "
        f"({found}/{len(with_order)}; target ≥ 0.95)"
    )
    placeholders = sum(1 for r in rows if "{{Order Number}}" in r["instruction"])
    print(f"   rows with a '{{{{Order Number}}}}' placeholder instead of a number: {placeholders}")
    print(f"   rows naming no order where something was extracted: {spurious} of {len(no_order)}")

    foreign = Counter(
        detect_language(r["instruction"]).code
        for r in rows
        if not detect_language(r["instruction"]).is_english
    )
    print(
        f"   English messages flagged as another language: {sum(foreign.values())} of "
        f"{len(rows):,} ({dict(foreign.most_common(5))})"
    )

    sample = [r["instruction"] for r in scored][: args.latency]
    for text in sample[:50]:
        classifier.predict(text)
    timings, cpu_timings = [], []
    for text in sample:
        t0, c0 = time.perf_counter(), time.process_time()
        classifier.predict(text, explain=True)
        extract_refs(text)
        read_mood(text)
        detect_language(text)
        timings.append((time.perf_counter() - t0) * 1000)
        cpu_timings.append((time.process_time() - c0) * 1000)

    def p99(values: list[float]) -> float:
        return sorted(values)[min(len(values) - 1, int(len(values) * 0.99))]

    print(f"\n3. latency per message, one at a time ({len(sample)} messages, in process):")
    print(
        f"   wall p50 {statistics.median(timings):.2f} ms, p99 {p99(timings):.2f} ms; "
        f"CPU p50 {statistics.median(cpu_timings):.2f} ms, p99 {p99(cpu_timings):.2f} ms "
        f"(target < 5 ms); batch classification {batch_seconds * 1000 / len(scored):.3f} ms/msg"
    )
    print("   load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
