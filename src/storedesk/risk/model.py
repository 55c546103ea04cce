"""The trained risk score: a gradient-boosted model of the store's own labelled history,
calibrated to a probability and shown as a 0-100 score with the signals that moved it.

Labels come only from what the store itself recorded (never from the demo's ground truth):

- fraud: a dispute the gateway filed as fraud (Stripe `fraudulent`, PayPal `UNAUTHORISED`), a
  review cancelled as fraud, an order the store cancelled as fraud (Shopify's cancel reason
  `fraud`) or refunded as fraud (Stripe's refund reason `fraudulent`), an order the card
  issuer sent an early fraud warning about;
- good: no dispute, no fraud label, and old enough that a chargeback would have arrived
  (`maturity_days`, 90 by default), approved reviews included.

Only such mature orders are labelled, fraud and good alike: taking the fraud of the last weeks
without their good orders would tilt the held-out window towards fraud. Features are the
numeric, boolean and small-vocabulary text signals of `OrderRisk.signals`, read through the
backtest's columnar snapshot (missing values stay NaN, which gradient boosting handles).
"""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import joblib
import numpy as np
import polars as pl
from django.conf import settings
from threadpoolctl import threadpool_limits

from storedesk.commerce.models import Order, Refund
from storedesk.disputes.models import Dispute, EarlyFraudWarning
from storedesk.risk.fraud_signals import AFTER_THE_ORDER, SIGNALS, signal_types
from storedesk.risk.language import ValueType
from storedesk.risk.models import RiskDecision, RiskModel
from storedesk.risk.scoring import Score

ALGORITHM = "HistGradientBoostingClassifier, sigmoid-calibrated"  # fits max_length 60
FRAUD_DISPUTE_REASONS = ("fraudulent", "UNAUTHORISED")  # Stripe, PayPal
FRAUD_CANCEL_REASON = "fraud"  # Shopify's order cancel_reason
REVIEW_SCORE = 60  # the default rule "review if :risk_score: >= 60"
REVIEW_RATE = 0.03  # the review budget the metrics are also reported at
MAX_CATEGORIES = 12
TOP_REASONS = 5
# Identifiers say who, not how risky: a model that learns them only remembers past fraudsters
# (the block lists do that, explicitly).
# Facts that arrive after the order (its disputes, warnings, tickets) are what labels are made
# of: learning from them would score nothing but the past.
NOT_FEATURES = {
    "risk_score",
    "email",
    "ip_address",
    "card_fingerprint",
    "email_domain",
    *AFTER_THE_ORDER,
}


class NotEnoughLabels(Exception):
    """Training refused: the store's labelled history is too thin to learn from yet."""


@dataclass(frozen=True)
class TrainingOptions:
    maturity_days: int = 90
    holdout_days: int = 60
    history_days: int = 365
    min_fraud: int = 30
    min_good: int = 300

    @classmethod
    def from_settings(cls, **overrides) -> TrainingOptions:
        values = {
            "maturity_days": settings.RISK_MODEL_MATURITY_DAYS,
            "holdout_days": settings.RISK_MODEL_HOLDOUT_DAYS,
            "history_days": settings.RISK_MODEL_HISTORY_DAYS,
            "min_fraud": settings.RISK_MODEL_MIN_FRAUD,
            "min_good": settings.RISK_MODEL_MIN_GOOD,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        if values["holdout_days"] < 1 or values["maturity_days"] < 0:
            raise ValueError("holdout days must be at least 1 and maturity days at least 0")
        return cls(**values)


# --- Score scale -------------------------------------------------------------------------------


def score_from_probability(probability):
    """0-100 on a log scale of the calibrated fraud probability: 0 at 0, 35 at 1 %, 60 at
    about 6 %, 67 at 10 %, 90 at 50 %, 100 at 1. Monotone, so ranking by score is ranking by
    probability, and the default `review if :risk_score: >= 60` reviews orders with about a
    one-in-sixteen chance of fraud."""
    p = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    return 100.0 * np.log10(1.0 + 999.0 * p) / 3.0


def probability_for_score(score: float) -> float:
    return (10 ** (3.0 * score / 100.0) - 1.0) / 999.0


# --- Labels ------------------------------------------------------------------------------------


def fraud_labelled_orders(as_of: datetime) -> set[int]:
    """Orders the store had labelled fraud by `as_of` (see the module docstring)."""
    fraud = set(
        Dispute.objects.filter(reason__in=FRAUD_DISPUTE_REASONS, opened_at__lte=as_of).values_list(
            "order_id", flat=True
        )
    )
    fraud |= set(
        Order.objects.filter(
            cancel_reason=FRAUD_CANCEL_REASON, cancelled_at__lte=as_of
        ).values_list("pk", flat=True)
    )
    fraud |= set(
        Refund.objects.filter(reason=Refund.Reason.FRAUDULENT, created_at__lte=as_of).values_list(
            "order_id", flat=True
        )
    )
    fraud |= set(
        EarlyFraudWarning.objects.filter(warned_at__lte=as_of, order__isnull=False).values_list(
            "order_id", flat=True
        )
    )
    return fraud | {order_id for order_id, label in review_labels(as_of).items() if label == 1}


def review_labels(as_of: datetime) -> dict[int, int]:
    """What reviewers had decided by `as_of`: 1 cancelled as fraud, 0 approved (latest wins),
    as `risk.review.review_labels` reads them, with the decision time bounded."""
    labels = {}
    for order_id, kind in (
        RiskDecision.objects.filter(
            kind__in=[RiskDecision.Kind.APPROVE, RiskDecision.Kind.CANCEL_FRAUD],
            created_at__lte=as_of,
        )
        .order_by("created_at", "pk")
        .values_list("order_risk__order_id", "kind")
    ):
        labels[order_id] = 1 if kind == RiskDecision.Kind.CANCEL_FRAUD else 0
    return labels


def labelled_frame(as_of: datetime, options: TrainingOptions) -> pl.DataFrame:
    """The snapshot of mature scored orders (the `history_days` before the maturity cutoff)
    with a `label` column (1 fraud, 0 good), oldest first. Orders with a dispute that is not
    fraud are neither and left out."""
    from storedesk.risk.backtest import snapshot

    cutoff = as_of - timedelta(days=options.maturity_days)
    frame = snapshot(cutoff - timedelta(days=options.history_days))
    frame = frame.filter(pl.col("created_at") <= cutoff)
    if frame.is_empty():
        return frame.with_columns(pl.lit(0, dtype=pl.Int8).alias("label"))
    fraud = fraud_labelled_orders(as_of)
    disputed = set(
        Dispute.objects.filter(opened_at__lte=as_of, order__created_at__lte=cutoff).values_list(
            "order_id", flat=True
        )
    )
    is_fraud = pl.col("order_id").is_in(sorted(fraud))
    is_disputed = pl.col("order_id").is_in(sorted(disputed))
    return (
        frame.filter(is_fraud | ~is_disputed)
        .with_columns(is_fraud.cast(pl.Int8).alias("label"))
        .sort("created_at", "order_id")
    )


# --- Features ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # number, boolean or category
    categories: tuple[str, ...] = ()
    baseline: float | None = None  # the training median (the mode for categories)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "categories": list(self.categories),
            "baseline": self.baseline,
        }

    @classmethod
    def from_json(cls, data: dict) -> Feature:
        return cls(data["name"], data["kind"], tuple(data["categories"]), data["baseline"])


def choose_features(frame: pl.DataFrame) -> list[Feature]:
    """Every signal with at least one value in the training rows; text signals only with a
    small vocabulary (gateway results such as cvc_check, not free text)."""
    features = []
    for name, value_type in signal_types().items():
        if name in NOT_FEATURES or name not in frame.columns:
            continue
        column = frame[name]
        if column.null_count() == frame.height:
            continue
        if value_type == ValueType.TEXT:
            counts = column.drop_nulls().value_counts(sort=True)
            if counts.height > MAX_CATEGORIES:
                continue
            categories = tuple(counts[name].to_list())
            features.append(Feature(name, "category", categories, 0.0))
        else:
            kind = "number" if value_type == ValueType.NUMBER else "boolean"
            median = column.cast(pl.Float64).median()
            features.append(Feature(name, kind, (), None if median is None else float(median)))
    return features


def frame_matrix(frame: pl.DataFrame, features: list[Feature]) -> np.ndarray:
    """The feature matrix of a snapshot (NaN where a value is missing or unknown)."""
    columns = []
    for feature in features:
        if feature.name not in frame.columns:
            columns.append(pl.lit(None, dtype=pl.Float64).alias(feature.name))
        elif feature.kind == "category":
            codes = {value: float(code) for code, value in enumerate(feature.categories)}
            columns.append(
                pl.col(feature.name).replace_strict(codes, default=None, return_dtype=pl.Float64)
            )
        else:
            columns.append(pl.col(feature.name).cast(pl.Float64))
    if not columns:
        return np.empty((frame.height, 0))
    return frame.select(columns).to_numpy().astype(float, copy=False)


def _number(value) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)  # Decimal, int, bool (1.0 / 0.0) or a number as text
    except (TypeError, ValueError):
        return math.nan


def values_matrix(rows: list[dict], features: list[Feature], used=None) -> np.ndarray:
    """The same matrix from signal values as `compute_signals` returns them (real time),
    filled a column at a time; columns not `used` (no tree splits on them) stay NaN."""
    matrix = np.full((len(rows), len(features)), math.nan)
    nan = math.nan
    for j, feature in enumerate(features):
        if used is not None and not used[j]:
            continue
        column = [values.get(feature.name) for values in rows]
        if feature.kind == "category":
            codes = {value: float(code) for code, value in enumerate(feature.categories)}
            matrix[:, j] = [codes.get(value, nan) for value in column]
            continue
        try:
            matrix[:, j] = [nan if value is None else float(value) for value in column]
        except (TypeError, ValueError):
            matrix[:, j] = [_number(value) for value in column]
    return matrix


# --- The fitted model --------------------------------------------------------------------------


@dataclass(frozen=True)
class _FittedTrees:
    """What the fast path needs from a fitted model, read in one place (`_fitted_trees`)."""

    baseline: np.ndarray
    predictors: list
    predict_iterations: Callable
    node_tables: list[np.ndarray]
    slope: float
    intercept: float


def _fitted_trees(estimator) -> _FittedTrees:
    """The only reader of scikit-learn's private attributes (`_predictors`,
    `_baseline_prediction`, `_predict_iterations`; the calibration's `a_`/`b_` and the tree
    nodes are attributes of private classes). scikit-learn has no public API for a fitted
    HistGradientBoosting model's trees, or for predicting without its per-call input checks.
    `test_scikit_learns_private_shape_is_the_one_the_fast_path_reads` fails when an upgrade
    changes them; `_Arithmetic` checks itself against `predict_proba` when a model loads and
    falls back to the public path if they disagree."""
    (calibrated,) = estimator.calibrated_classifiers_
    boosting = calibrated.estimator
    (calibrator,) = calibrated.calibrators
    if list(boosting.classes_) != [0, 1] or boosting.is_categorical_ is not None:
        raise ValueError("only binary models without categorical splits")
    predictors = boosting._predictors
    return _FittedTrees(
        baseline=boosting._baseline_prediction,
        predictors=predictors,
        predict_iterations=boosting._predict_iterations,
        node_tables=[tree.nodes for (tree,) in predictors],
        slope=float(calibrator.a_),
        intercept=float(calibrator.b_),
    )


class _Arithmetic:
    """The calibrated estimator's prediction without scikit-learn's per-call input checks
    (about a millisecond, most of a single order's budget) and on one thread: the boosted
    trees' raw sum, then the sigmoid calibration. Built from `_fitted_trees`; it answers a
    probe row as `predict_proba` does before it is used, or raises ValueError."""

    PROBE_TOLERANCE = 1e-9

    def __init__(self, estimator):
        self.trees = _fitted_trees(estimator)
        probe = np.full((2, estimator.n_features_in_), math.nan)
        probe[1, :] = 0.0
        expected = estimator.predict_proba(probe)[:, 1]
        if not np.allclose(self.probabilities(probe), expected, atol=self.PROBE_TOLERANCE):
            raise ValueError("the fast path disagrees with predict_proba")

    def thresholds(self, n_features: int) -> list[np.ndarray]:
        """Per feature, the sorted split thresholds of all trees (empty: never split on)."""
        nodes = np.concatenate(self.trees.node_tables)
        splits = nodes[nodes["is_leaf"] == 0]
        return [
            np.unique(splits["num_threshold"][splits["feature_idx"] == j])
            for j in range(n_features)
        ]

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        raw = np.zeros((len(matrix), 1))
        raw += self.trees.baseline
        self.trees.predict_iterations(
            np.ascontiguousarray(matrix, dtype=np.float64),
            self.trees.predictors,
            raw,
            False,  # raw values, not bins
            1,  # one thread
        )
        return 1.0 / (1.0 + np.exp(self.trees.slope * raw[:, 0] + self.trees.intercept))


@dataclass
class ScoreModel:
    """A fitted, calibrated estimator with its features; scores and explains in batches."""

    version: str
    features: list[Feature]
    estimator: object
    _arithmetic: _Arithmetic | None = field(default=None, init=False, repr=False)
    _thresholds: list[np.ndarray] | None = field(default=None, init=False, repr=False)
    _intervals: tuple[np.ndarray, ...] | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        try:
            self._arithmetic = _Arithmetic(self.estimator)
            self._thresholds = self._arithmetic.thresholds(len(self.features))
        except (AttributeError, TypeError, ValueError):
            self._arithmetic = None  # another scikit-learn: the public, slower path
            self._thresholds = None

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.empty(0)
        if self._arithmetic is not None:
            return self._arithmetic.probabilities(matrix)
        return self.estimator.predict_proba(matrix)[:, 1]

    def raw_scores(self, matrix: np.ndarray) -> np.ndarray:
        return score_from_probability(self.probabilities(matrix))

    def explained_scores(self, matrix: np.ndarray) -> tuple[np.ndarray, list[list]]:
        """Each row's score, and (feature index, score points) of every feature that differs
        from its training baseline: the score minus the score with that feature set to its
        baseline. The rows and all their variations go through one prediction."""
        baseline = np.array(
            [math.nan if f.baseline is None else f.baseline for f in self.features], dtype=float
        )
        same = (matrix == baseline) | (np.isnan(matrix) & np.isnan(baseline))
        if self._thresholds is not None:
            # A value on the same side of every split threshold as the baseline takes the same
            # path through every tree: its contribution is exactly zero, no need to predict it.
            # The baseline's side is the interval (below, above] between its two neighbouring
            # thresholds; one vectorised comparison for all features (NaN compares false).
            below, above, never_split = self._baseline_intervals(baseline)
            same |= (matrix > below) & (matrix <= above)
            same[:, never_split] = True
        rows, columns = np.nonzero(~same)
        perturbed = matrix[rows]
        perturbed[np.arange(len(rows)), columns] = baseline[columns]
        raw = self.raw_scores(np.concatenate([matrix, perturbed]))
        scores, delta = raw[: len(matrix)], raw[rows] - raw[len(matrix) :]
        result: list[list[tuple[int, float]]] = [[] for _ in range(len(matrix))]
        for row, column, points in zip(
            rows.tolist(), columns.tolist(), delta.tolist(), strict=True
        ):
            result[row].append((column, points))
        return scores, result

    def _baseline_intervals(self, baseline: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per feature, the thresholds either side of its baseline (NaN where the baseline is
        missing, so nothing compares inside), and which features no tree splits on."""
        if self._intervals is None:
            below = np.full(len(baseline), np.nan)
            above = np.full(len(baseline), np.nan)
            for j, thresholds in enumerate(self._thresholds):
                if len(thresholds) == 0 or math.isnan(baseline[j]):
                    continue
                side = int(np.searchsorted(thresholds, baseline[j], side="left"))
                below[j] = thresholds[side - 1] if side > 0 else -np.inf
                above[j] = thresholds[side] if side < len(thresholds) else np.inf
            never_split = np.array([len(t) == 0 for t in self._thresholds], dtype=bool)
            self._intervals = (below, above, never_split)
        return self._intervals

    def score_rows(self, rows: list[dict]) -> list[Score]:
        """Score and explain orders from their signal values, in one vectorised pass."""
        if not rows:
            return []
        used = None if self._thresholds is None else [len(t) > 0 for t in self._thresholds]
        raw, contributions = self.explained_scores(values_matrix(rows, self.features, used))
        scores = []
        for values, value, parts in zip(rows, raw.tolist(), contributions, strict=True):
            reasons = []
            for column, points in sorted(parts, key=lambda part: -abs(part[1]))[:TOP_REASONS]:
                rounded = int(round(points))
                if rounded == 0:
                    continue
                name = self.features[column].name
                reasons.append(
                    {
                        "signal": name,
                        "points": rounded,
                        "reason": self._reason(name),
                        "value": _jsonable(values.get(name)),
                    }
                )
            scores.append(Score(int(round(value)), reasons, self.version))
        return scores

    def _reason(self, name: str) -> str:
        spec = SIGNALS.get(name)
        return spec.description if spec else name


def _jsonable(value):
    return str(value) if isinstance(value, Decimal) else value


def _estimator():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    boosting = HistGradientBoostingClassifier(
        learning_rate=0.08,
        max_iter=200,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=15,
        random_state=0,
    )
    # One estimator on all training rows, calibrated on out-of-fold predictions (sigmoid: the
    # store has few fraud labels, too few for isotonic steps).
    return CalibratedClassifierCV(boosting, method="sigmoid", cv=3, ensemble=False)


# --- Metrics -----------------------------------------------------------------------------------


def held_out_metrics(labels: np.ndarray, scores: np.ndarray, amounts: np.ndarray) -> dict:
    """Precision/recall at the review threshold and at a 3 % review rate, PR-AUC, ROC-AUC."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    fraud = int(labels.sum())
    metrics: dict = {"orders": len(labels), "fraud": fraud, "good": len(labels) - fraud}
    both = 0 < fraud < len(labels)
    metrics["pr_auc"] = round(float(average_precision_score(labels, scores)), 4) if both else None
    metrics["roc_auc"] = round(float(roc_auc_score(labels, scores)), 4) if both else None
    flagged = scores >= REVIEW_SCORE
    metrics["at_threshold"] = _flagged_metrics(labels, flagged, amounts) | {
        "threshold": REVIEW_SCORE
    }
    k = max(1, int(round(REVIEW_RATE * len(labels)))) if len(labels) else 0
    top = np.zeros(len(labels), dtype=bool)
    top[np.argsort(-scores, kind="stable")[:k]] = True
    metrics["at_review_rate"] = _flagged_metrics(labels, top, amounts) | {"rate": REVIEW_RATE}
    return metrics


def _flagged_metrics(labels: np.ndarray, flagged: np.ndarray, amounts: np.ndarray) -> dict:
    caught = int((flagged & (labels == 1)).sum())
    count = int(flagged.sum())
    fraud = int(labels.sum())
    return {
        "flagged": count,
        "fraud_caught": caught,
        "precision": round(caught / count, 4) if count else None,
        "recall": round(caught / fraud, 4) if fraud else None,
        "fraud_usd_caught": round(float(amounts[flagged & (labels == 1)].sum()), 2),
        "good_usd_held": round(float(amounts[flagged & (labels == 0)].sum()), 2),
    }


# --- Training ----------------------------------------------------------------------------------


@dataclass
class TrainedModel:
    model: ScoreModel
    train_from: datetime
    train_until: datetime
    test_from: datetime
    test_until: datetime
    metrics: dict
    test_frame: pl.DataFrame


def split(frame: pl.DataFrame, options: TrainingOptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train on the older labelled orders, hold out the last `holdout_days` of them: nothing
    from the held-out window, or after it, is in training."""
    if frame.is_empty():
        return frame, frame
    last = frame["created_at"].max()
    test_from = last - timedelta(days=options.holdout_days)
    return (
        frame.filter(pl.col("created_at") < test_from),
        frame.filter(pl.col("created_at") >= test_from),
    )


def _check_enough(train: pl.DataFrame, test: pl.DataFrame, options: TrainingOptions) -> None:
    fraud = int(train["label"].sum()) if train.height else 0
    good = train.height - fraud
    if fraud < options.min_fraud or good < options.min_good:
        raise NotEnoughLabels(
            f"Not enough labelled history to train a model: {fraud} fraud and {good} good "
            f"orders before the held-out window (at least {options.min_fraud} fraud and "
            f"{options.min_good} good are needed; orders count once they are "
            f"{options.maturity_days} days old). Until then the default points table carries "
            "the risk score."
        )
    test_fraud = int(test["label"].sum()) if test.height else 0
    if test_fraud == 0 or test_fraud == test.height:
        raise NotEnoughLabels(
            f"The held-out window (the last {options.holdout_days} days of labelled orders) "
            f"has {test_fraud} fraud and {test.height - test_fraud} good orders; it needs "
            "both to measure a model. Try a longer window with --holdout-days."
        )


def fit(frame: pl.DataFrame, options: TrainingOptions, version: str) -> TrainedModel:
    """Fit and measure a model on a labelled frame (no database writes)."""
    train, test = split(frame, options)
    _check_enough(train, test, options)
    features = choose_features(train)
    if not features:
        raise NotEnoughLabels("No signal has a value in the labelled orders: nothing to learn.")
    estimator = _estimator()
    with threadpool_limits(limits=1):  # OpenMP threads stall when the cores are busy
        estimator.fit(frame_matrix(train, features), train["label"].to_numpy())
    model = ScoreModel(version, features, estimator)
    scores = model.raw_scores(frame_matrix(test, features))
    metrics = held_out_metrics(test["label"].to_numpy(), scores, test["amount"].to_numpy())
    metrics["train"] = {
        "orders": train.height,
        "fraud": int(train["label"].sum()),
        "good": train.height - int(train["label"].sum()),
    }
    return TrainedModel(
        model=model,
        train_from=train["created_at"].min(),
        train_until=train["created_at"].max(),
        test_from=test["created_at"].min(),
        test_until=test["created_at"].max(),
        metrics=metrics,
        test_frame=test,
    )


# --- The active model, loaded once per version -------------------------------------------------

_loaded: OrderedDict[str, ScoreModel] = OrderedDict()
_KEEP_LOADED = 3


def load_model(risk_model: RiskModel) -> ScoreModel:
    model = _loaded.get(risk_model.version)
    if model is None:
        estimator = joblib.load(io.BytesIO(bytes(risk_model.artifact)))
        features = [Feature.from_json(item) for item in risk_model.features]
        model = ScoreModel(risk_model.version, features, estimator)
        _loaded[risk_model.version] = model
        while len(_loaded) > _KEEP_LOADED:
            _loaded.popitem(last=False)
    return model


def keep_loaded(version: str, model: ScoreModel) -> None:
    """Keep a model just trained in memory, so its first scores need no artifact read."""
    _loaded[version] = model
    while len(_loaded) > _KEEP_LOADED:
        _loaded.popitem(last=False)


def active_model() -> ScoreModel | None:
    """The active model (one small query; the artifact is read only for a new version)."""
    version = RiskModel.objects.filter(is_active=True).values_list("version", flat=True).first()
    if version is None:
        return None
    model = _loaded.get(version)
    if model is not None:
        return model
    return load_model(RiskModel.objects.get(version=version))


# --- For people --------------------------------------------------------------------------------


def metrics_table(risk_model: RiskModel) -> str:
    """The held-out metrics as a plain-text table (the retrain command prints it)."""
    m = risk_model.metrics
    lines = [
        f"Model {risk_model.version} ({risk_model.algorithm})",
        f"  trained on  {risk_model.train_from:%Y-%m-%d} … {risk_model.train_until:%Y-%m-%d}: "
        f"{m['train']['orders']:,} orders, {m['train']['fraud']:,} fraud, "
        f"{m['train']['good']:,} good",
        f"  held out    {risk_model.test_from:%Y-%m-%d} … {risk_model.test_until:%Y-%m-%d}: "
        f"{m['orders']:,} orders, {m['fraud']:,} fraud, {m['good']:,} good",
        f"  PR-AUC {_fmt(m['pr_auc'])}   ROC-AUC {_fmt(m['roc_auc'])}",
        "",
        f"  {'held-out window':<26} {'flagged':>8} {'caught':>7} {'precision':>10} "
        f"{'recall':>7} {'fraud $ caught':>15} {'good $ held':>12}",
    ]
    for label, part in (
        (f"score ≥ {m['at_threshold']['threshold']}", m["at_threshold"]),
        (f"top {m['at_review_rate']['rate']:.0%} by score", m["at_review_rate"]),
    ):
        lines.append(
            f"  {label:<26} {part['flagged']:>8,} {part['fraud_caught']:>7,} "
            f"{_fmt(part['precision']):>10} {_fmt(part['recall']):>7} "
            f"{part['fraud_usd_caught']:>15,.2f} {part['good_usd_held']:>12,.2f}"
        )
    if "previous" in m:
        lines.append(
            f"\n  previous active model {m['previous']['version']}: PR-AUC "
            f"{_fmt(m['previous']['pr_auc'])} on the same window"
        )
    lines.append(f"  {m.get('decision', '')}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"
