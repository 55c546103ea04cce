"""Benchmark: how well the default rules, the trained model and both catch the demo's fraud.

    python bench/risk_eval.py [--seeds 7 11] [--orders 20000] [--end 2026-06-30] [--rate 0.03]

For each seed, loads the demo store into a fresh SQLite database (or the empty database in
DATABASE_URL). The demo scores every order as it arrives with the default rules and points
table, and trains the score model the way the product does, on what the store itself knew at
the end: orders of the first 9 months are old enough to be labelled (fraud disputes, orders
cancelled or refunded as fraud, review decisions), the model is fitted on months 1-7 and checked
on months 8-9. The last 3 months have no labels yet; there it is measured against the demo's
ground truth (`demo.GroundTruth`, which only benchmarks and tests read).

At a review rate of `--rate` of the window's orders (the team's review budget), for each way of
choosing the orders to review:

- rules: the default rules as they ran at checkout (the points table as :risk_score:), the
  orders they flag first, then by points;
- model: the orders with the highest model score;
- both: the default rules with the model score as :risk_score:, their flags first, then by
  model score;

prints the fraud caught (recall), precision, and dollars of fraud caught per dollar of good
orders held. Rules alone are also shown at their own flag rate.
"""

import argparse
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)


def window_frame(now, days: int):
    """The last `days` of scored orders with the points score, the model score and truth."""
    import numpy as np
    import polars as pl

    from storedesk.demo.models import GroundTruth
    from storedesk.risk.backtest import snapshot
    from storedesk.risk.model import active_model, frame_matrix
    from storedesk.risk.scoring import default_score

    frame = snapshot(now - timedelta(days=days)).filter(pl.col("created_at") < now)
    fraud = set(
        GroundTruth.objects.filter(
            order_id__in=frame["order_id"].to_list(), is_fraud=True
        ).values_list("order_id", flat=True)
    )
    signals = frame.drop(["order_id", "created_at", "amount", "status", "disputed", "refunded"])
    points = [default_score(row).value for row in signals.to_dicts()]
    model = active_model()
    model_score = (
        model.raw_scores(frame_matrix(frame, model.features))
        if model is not None
        else np.full(frame.height, np.nan)
    )
    return frame.with_columns(
        pl.Series("points", points, dtype=pl.Float64),
        pl.Series("model_score", model_score, dtype=pl.Float64),
        pl.col("order_id").is_in(sorted(fraud)).alias("is_fraud"),
    ), model


def flagged_by_rules(frame, score_column: str):
    """Whether the default rules (first match, non-allow action) flag each order, with
    :risk_score: taken from `score_column`."""
    import polars as pl

    from storedesk.risk.columnar import polars_expression
    from storedesk.risk.language import Action
    from storedesk.risk.services import DEFAULT_RULES, list_values, validate_rule

    lists = list_values()
    scored = frame.with_columns(pl.col(score_column).round(0).alias("risk_score"))
    decided = pl.lit(False)
    flagged = pl.lit(False)
    for _, source in DEFAULT_RULES:
        rule = validate_rule(source)
        fires = polars_expression(rule.condition, lists).fill_null(False)
        if rule.action != Action.ALLOW:
            flagged = flagged | (~decided & fires)
        decided = decided | fires
    return scored.select(flagged.alias("flagged"))["flagged"]


def choose(frame, flags, score_column: str, k: int):
    """The k orders to review: flagged ones first, then by score (then amount)."""
    import polars as pl

    ranked = frame.with_columns(flags.alias("flagged")).with_row_index("row")
    ranked = ranked.sort(
        ["flagged", score_column, "amount"], descending=[True, True, True], nulls_last=True
    )
    chosen = set(ranked["row"].head(k).to_list())
    return pl.Series([row in chosen for row in range(frame.height)])


def measure(frame, chosen) -> dict:
    import polars as pl

    picked = frame.filter(chosen)
    caught = picked.filter(pl.col("is_fraud"))
    good = picked.filter(~pl.col("is_fraud"))
    fraud_total = int(frame["is_fraud"].sum())
    held = float(good["amount"].sum() or 0)
    return {
        "reviewed": picked.height,
        "caught": caught.height,
        "recall": caught.height / fraud_total if fraud_total else 0.0,
        "precision": caught.height / picked.height if picked.height else 0.0,
        "fraud_usd": float(caught["amount"].sum() or 0),
        "good_usd": held,
        "per_dollar": float(caught["amount"].sum() or 0) / held if held else float("inf"),
    }


def evaluate_seed(args, seed: int) -> None:
    import polars as pl
    from sklearn.metrics import average_precision_score

    from storedesk.demo.loader import demo_window, load_demo, reset_demo

    reset_demo()
    summary = load_demo(orders=args.orders, seed=seed, end=args.end)
    _, now = demo_window(args.end, 12)
    frame, model = window_frame(now, args.window_days)
    k = max(1, round(args.rate * frame.height))
    fraud = int(frame["is_fraud"].sum())
    print(
        f"\nSeed {seed}: {summary.orders:,} orders over 12 months, evaluated on the last "
        f"{args.window_days} days: {frame.height:,} orders, {fraud} fraudulent "
        f"(${float(frame.filter(pl.col('is_fraud'))['amount'].sum()):,.0f}); "
        f"review budget {args.rate:.0%} = {k} orders"
    )
    if model is None:
        print("  no model was trained (not enough labels): rules only")
    else:
        labels = frame["is_fraud"].cast(pl.Int8).to_numpy()
        pr_auc = average_precision_score(labels, frame["model_score"].to_numpy())
        print(f"  model {model.version}: PR-AUC {pr_auc:.3f} on the window's ground truth")
    rules = flagged_by_rules(frame, "points")
    rows = [
        (f"rules alone, as flagged ({rules.mean():.1%})", rules),
        (f"rules alone, {args.rate:.0%}", choose(frame, rules, "points", k)),
    ]
    if model is not None:
        nothing = pl.Series([False] * frame.height)
        rows.append((f"model alone, {args.rate:.0%}", choose(frame, nothing, "model_score", k)))
        both = flagged_by_rules(frame, "model_score")
        rows.append((f"rules + model, {args.rate:.0%}", choose(frame, both, "model_score", k)))
    print(
        f"  {'strategy':<30} {'reviewed':>8} {'caught':>7} {'recall':>7} {'precision':>9} "
        f"{'fraud $ caught':>14} {'good $ held':>12} {'fraud $ / good $':>16}"
    )
    for label, chosen in rows:
        m = measure(frame, chosen)
        print(
            f"  {label:<30} {m['reviewed']:>8,} {m['caught']:>7,} {m['recall']:>7.1%} "
            f"{m['precision']:>9.1%} {m['fraud_usd']:>14,.0f} {m['good_usd']:>12,.0f} "
            f"{m['per_dollar']:>16.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--rate", type=Decimal, default=Decimal("0.03"))
    parser.add_argument("--window-days", type=int, default=91, help="the last 3 months")
    args = parser.parse_args()
    args.rate = float(args.rate)
    with tempfile.TemporaryDirectory(prefix="storedesk-bench-") as var_dir:
        setup_django(var_dir)
        from django.db import connection

        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        for seed in args.seeds:
            evaluate_seed(args, seed)


if __name__ == "__main__":
    main()
