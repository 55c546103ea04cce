"""The trained risk score: labels from the store's own records, a time split, calibration,
explanations, versioned activation, and scoring with the active model."""

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from storedesk.commerce.models import Order
from storedesk.risk import model as risk_model
from storedesk.risk import training as risk_training
from storedesk.risk.fraud_signals import SIGNALS
from storedesk.risk.model import (
    NotEnoughLabels,
    ScoreModel,
    TrainingOptions,
    active_model,
    labelled_frame,
    score_from_probability,
    split,
)
from storedesk.risk.models import OrderRisk, RiskDecision, RiskModel, RiskRule
from storedesk.risk.scoring import default_score
from storedesk.risk.services import do_install_defaults, do_save_rule, do_score_orders
from storedesk.risk.tasks import train_risk_model
from storedesk.risk.training import do_train_model
from tests.factories import OrderFactory, PaymentFactory, StoreFactory

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 240  # of history before the maturity cutoff


@pytest.fixture(autouse=True)
def small_minimums(settings):
    settings.RISK_MODEL_MIN_FRAUD = 12
    settings.RISK_MODEL_MIN_GOOD = 120
    risk_model._loaded.clear()


def _signals(rng: random.Random, fraud: bool) -> dict:
    """Signals as scoring stores them: a disposable email and a random-looking address make
    fraud likely, a returning customer makes it rare; the rest is noise."""
    disposable = rng.random() < (0.75 if fraud else 0.03)
    return {
        "amount_usd": f"{rng.uniform(40, 900 if fraud else 400):.2f}",
        "is_disposable_email": disposable,
        "email_randomness": f"{rng.uniform(0.3, 1) if fraud else rng.uniform(0, 0.7):.2f}",
        "is_first_order": True if fraud else rng.random() < 0.5,
        "orders_per_ip_24h": str(rng.choice([0, 0, 1])),
        "cvc_check": rng.choice(["pass", "pass", "fail"] if fraud else ["pass"] * 9 + ["fail"]),
        "gateway_risk_score": str(rng.randint(30, 80) if fraud else rng.randint(0, 50)),
        "ip_country": None,
    }


def history(
    good: int, fraud: int, *, days: int = DAYS, seed: int = 3, as_of: datetime = AS_OF
) -> list[Order]:
    """Orders spread over `days` before the maturity cutoff, scored with crafted signals;
    fraud is labelled the way the store would: cancelled as fraud (and a reviewer's cancel
    as fraud for some)."""
    rng = random.Random(seed)
    store = StoreFactory()
    cutoff = as_of - timedelta(days=90)
    labels = [True] * fraud + [False] * good
    rng.shuffle(labels)
    orders = Order.objects.bulk_create(
        Order(
            store=store,
            number=f"#M{n}",
            number_key=f"M{n}",
            email=f"buyer{n}@mail.example",
            created_at=cutoff - timedelta(days=days) + timedelta(days=days * n / len(labels)),
            subtotal_price=Decimal("100.00"),
            total_price=Decimal("100.00"),
            cancelled_at=(
                cutoff - timedelta(days=days) + timedelta(days=days * n / len(labels), hours=3)
            )
            if is_fraud
            else None,
            cancel_reason="fraud" if is_fraud else "",
        )
        for n, is_fraud in enumerate(labels)
    )
    risks = OrderRisk.objects.bulk_create(
        OrderRisk(
            order=order,
            signals=_signals(rng, is_fraud),
            amount_usd=Decimal("100.00"),
            scored_at=order.created_at,
            status=OrderRisk.Status.IN_REVIEW if is_fraud else OrderRisk.Status.CLEAR,
        )
        for order, is_fraud in zip(orders, labels, strict=True)
    )
    RiskDecision.objects.bulk_create(
        RiskDecision(
            order_risk=risk,
            kind=RiskDecision.Kind.CANCEL_FRAUD,
            stage=OrderRisk.Stage.DONE,
            created_at=risk.order.created_at + timedelta(hours=2),
        )
        for risk, is_fraud in zip(risks[:40], labels[:40], strict=True)
        if is_fraud
    )
    return orders


def test_training_refuses_without_enough_labels_and_says_why():
    history(good=60, fraud=4)

    with pytest.raises(NotEnoughLabels, match=r"at least 12 fraud and 120 good") as refusal:
        do_train_model(as_of=AS_OF)

    assert "default points table" in str(refusal.value)
    assert not RiskModel.objects.exists()
    assert active_model() is None


def test_the_retrain_command_refuses_with_the_same_message():
    history(good=60, fraud=4, as_of=timezone.now())

    with pytest.raises(CommandError, match=r"Not enough labelled history"):
        call_command("risk-train", stdout=StringIO())


@pytest.mark.parametrize("days", ["0", "many", "400"])
def test_the_retrain_command_refuses_nonsense_holdout_days(days):
    with pytest.raises(CommandError, match="--holdout-days"):
        call_command("risk-train", "--holdout-days", days, stdout=StringIO())


def test_a_model_trains_on_labelled_history_and_is_activated():
    history(good=400, fraud=40)

    report = do_train_model(as_of=AS_OF, rescore=False)

    stored = report.risk_model
    assert report.activated
    assert stored.is_active
    assert stored.version.startswith("gbm-")
    assert {f["name"] for f in stored.features} >= {"is_disposable_email", "email_randomness"}
    assert "ip_country" not in {f["name"] for f in stored.features}  # never has a value
    metrics = stored.metrics
    assert metrics["train"]["fraud"] + metrics["fraud"] == 40
    assert metrics["train"]["good"] + metrics["good"] == 400
    assert metrics["roc_auc"] > 0.8
    assert set(metrics["at_threshold"]) >= {"precision", "recall", "flagged", "threshold"}
    assert active_model().version == stored.version


def test_the_queued_training_task_trains_as_of_the_day_it_is_given():
    history(good=400, fraud=40)

    said = train_risk_model.call(as_of=AS_OF.isoformat(), force=True)

    stored = RiskModel.objects.get(is_active=True)
    assert said.startswith(f"{stored.version}: activated")
    assert stored.metrics["as_of"] == AS_OF.isoformat()
    assert train_risk_model.call(as_of=(AS_OF - timedelta(days=400)).isoformat()).startswith(
        "Not enough labelled history"
    )


def test_time_split_keeps_the_held_out_window_and_young_orders_out_of_training():
    orders = history(good=300, fraud=30)
    young = OrderFactory(store=orders[0].store, created_at=AS_OF - timedelta(days=10))
    OrderRisk.objects.create(order=young, signals={}, scored_at=AS_OF)
    options = TrainingOptions(holdout_days=60)

    frame = labelled_frame(AS_OF, options)
    train, test = split(frame, options)

    assert young.pk not in frame["order_id"].to_list()  # not old enough to be called good
    assert train["created_at"].max() < test["created_at"].min()
    assert test["created_at"].max() - test["created_at"].min() <= timedelta(days=60)
    assert train.height + test.height == frame.height == 330


def test_labels_only_count_what_the_store_knew_at_the_time():
    orders = history(good=300, fraud=30)
    fraud_ids = set(Order.objects.filter(cancel_reason="fraud").values_list("pk", flat=True))
    earliest = min(o.created_at for o in orders)

    before = risk_model.fraud_labelled_orders(earliest + timedelta(hours=1))
    now = risk_model.fraud_labelled_orders(AS_OF)

    assert now == fraud_ids
    assert before == set()


def test_calibrated_scores_are_monotone_in_the_models_raw_output_and_within_0_100():
    history(good=400, fraud=40)
    trained = do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    frame = labelled_frame(AS_OF, TrainingOptions())
    matrix = risk_model.frame_matrix(frame, model.features)

    raw = model.estimator.calibrated_classifiers_[0].estimator.decision_function(matrix)
    scores = model.raw_scores(matrix)

    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(scores[order]) >= -1e-9)
    assert scores.min() >= 0
    assert scores.max() <= 100
    grid = score_from_probability(np.linspace(0, 1, 1001))
    assert grid[0] == 0
    assert grid[-1] == pytest.approx(100)
    assert np.all(np.diff(grid) > 0)
    assert trained.risk_model.metrics["at_threshold"]["threshold"] == 60


def test_the_fast_prediction_path_equals_scikit_learns():
    history(good=400, fraud=40)
    do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    matrix = risk_model.frame_matrix(labelled_frame(AS_OF, TrainingOptions()), model.features)
    matrix[::7, 0] = np.nan  # missing values take the trees' missing branch

    assert model._arithmetic is not None
    np.testing.assert_allclose(
        model.probabilities(matrix), model.estimator.predict_proba(matrix)[:, 1], atol=1e-12
    )


def test_scikit_learns_private_shape_is_the_one_the_fast_path_reads():
    """Fails when a scikit-learn upgrade moves what `risk.model._fitted_trees` reads; then
    adapt that one function (or let the model use the public path) before upgrading."""
    history(good=400, fraud=40)
    do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    boosting = model.estimator.calibrated_classifiers_[0].estimator
    matrix = risk_model.frame_matrix(labelled_frame(AS_OF, TrainingOptions()), model.features)

    trees = risk_model._fitted_trees(model.estimator)

    assert len(trees.predictors) == boosting.n_iter_
    assert all(
        table.dtype.names and "num_threshold" in table.dtype.names for table in trees.node_tables
    )
    raw = np.zeros((len(matrix), 1)) + trees.baseline
    trees.predict_iterations(np.ascontiguousarray(matrix), trees.predictors, raw, False, 1)
    np.testing.assert_allclose(raw[:, 0], boosting.decision_function(matrix), atol=1e-9)


def test_a_fast_path_that_disagrees_with_scikit_learn_is_not_used(monkeypatch):
    history(good=400, fraud=40)
    do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    matrix = risk_model.frame_matrix(labelled_frame(AS_OF, TrainingOptions()), model.features)
    real = risk_model._fitted_trees

    def shifted(estimator):  # as if an upgrade changed what a private attribute means
        trees = real(estimator)
        return dataclasses.replace(trees, baseline=trees.baseline + 1.0)

    monkeypatch.setattr(risk_model, "_fitted_trees", shifted)
    reloaded = ScoreModel(model.version, model.features, model.estimator)

    assert reloaded._arithmetic is None
    np.testing.assert_allclose(
        reloaded.probabilities(matrix), model.estimator.predict_proba(matrix)[:, 1], atol=1e-12
    )


def test_skipping_features_that_cannot_change_a_tree_path_explains_as_perturbing_them_all():
    history(good=400, fraud=40)
    do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    matrix = risk_model.frame_matrix(labelled_frame(AS_OF, TrainingOptions()), model.features)
    matrix[::5, 0] = np.nan  # missing values differ from a present baseline
    brute = ScoreModel(model.version, model.features, model.estimator)
    brute._thresholds = None  # every feature that differs from its baseline is predicted

    scores, parts = model.explained_scores(matrix)
    brute_scores, brute_parts = brute.explained_scores(matrix)

    assert model._thresholds is not None
    np.testing.assert_allclose(scores, brute_scores, atol=1e-9)
    assert any(parts), "some rows have contributions"
    for quick, slow in zip(parts, brute_parts, strict=True):
        assert _nonzero(quick) == pytest.approx(_nonzero(slow), abs=1e-9)


def _nonzero(parts: list[tuple[int, float]]) -> dict[int, float]:
    return {column: points for column, points in parts if abs(points) > 1e-9}


def test_explanations_name_real_signals_with_their_values():
    history(good=400, fraud=40)
    do_train_model(as_of=AS_OF, rescore=False)
    model = active_model()
    risky = {
        "amount_usd": Decimal("850.00"),
        "is_disposable_email": True,
        "email_randomness": Decimal("0.95"),
        "is_first_order": True,
        "orders_per_ip_24h": Decimal("0"),
        "cvc_check": "fail",
        "gateway_risk_score": Decimal("75"),
    }
    quiet = risky | {
        "is_disposable_email": False,
        "email_randomness": Decimal("0.1"),
        "cvc_check": "pass",
        "gateway_risk_score": Decimal("5"),
        "amount_usd": Decimal("80.00"),
        "is_first_order": False,
    }

    high, low = model.score_rows([risky, quiet])

    assert high.value > low.value
    assert high.model_version == model.version
    assert high.reasons, "a risky order says why"
    assert {reason["signal"] for reason in high.reasons} <= set(SIGNALS)
    top = high.reasons[0]
    assert top["points"] > 0
    assert top["reason"] == SIGNALS[top["signal"]].description
    assert top["value"] == risk_model._jsonable(risky[top["signal"]])
    assert all(set(r) == {"signal", "points", "reason", "value"} for r in high.reasons)


def test_a_worse_model_is_kept_out_unless_forced():
    history(good=400, fraud=40)
    first = do_train_model(as_of=AS_OF, rescore=False).risk_model

    class Oracle:  # a "previous model" that knew every answer of the held-out window
        def __init__(self, labels):
            self.labels = labels

        def predict_proba(self, matrix):
            return np.column_stack([1 - self.labels, self.labels]).astype(float)

    options = TrainingOptions.from_settings()
    trained = risk_model.fit(labelled_frame(AS_OF, options), options, "candidate")
    oracle = ScoreModel("oracle", [], Oracle(trained.test_frame["label"].to_numpy()))

    decision, activate = risk_training._compare(trained, oracle, force=False)
    assert not activate
    assert decision.startswith("kept oracle")
    decision, activate = risk_training._compare(trained, oracle, force=True)
    assert activate
    assert "forced" in decision

    same = do_train_model(as_of=AS_OF, rescore=False)  # matches the active one: replaces it
    assert same.activated
    assert list(RiskModel.objects.filter(is_active=True).values_list("version", flat=True)) == [
        same.risk_model.version
    ]
    assert first.version != same.risk_model.version


def test_scored_orders_record_the_model_version_and_rules_see_the_model_score(agent):
    history(good=400, fraud=40)
    do_install_defaults(agent)
    version = do_train_model(as_of=AS_OF, rescore=False).risk_model.version
    RiskRule.objects.exclude(name="High score").update(is_enabled=False)
    store = StoreFactory()
    order = OrderFactory(store=store, email="xk7qz9wp2v@mailinator.com")
    PaymentFactory(order=order, cvc_check="fail")

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.model_version == version
    assert risk.signals["risk_score"] == risk.score
    assert {reason["signal"] for reason in risk.score_reasons} <= set(SIGNALS)
    high_score = RiskRule.objects.get(name="High score")
    assert (risk.decided_by_rule_id == high_score.pk) == (risk.score >= 60)
    assert risk.rule_outcomes[0]["values"] == {"risk_score": risk.score}


def test_a_rule_on_the_score_fires_on_the_model_score_not_the_points_table(agent):
    history(good=400, fraud=40)
    do_install_defaults(agent)
    do_train_model(as_of=AS_OF, rescore=False)
    RiskRule.objects.update(is_enabled=False)
    store = StoreFactory()
    order = OrderFactory(store=store, email="jane.doe@gmail.com")
    PaymentFactory(order=order)
    do_score_orders([order.pk])
    score = OrderRisk.objects.get(order=order).score
    do_save_rule(f"review if :risk_score: = {score}", actor=agent, name="exactly")

    do_score_orders([order.pk])

    risk = OrderRisk.objects.get(order=order)
    assert risk.decided_by_rule.name == "exactly"
    assert risk.status == OrderRisk.Status.IN_REVIEW
    assert default_score(risk.signals).value != score  # the points table would not match


def test_the_retrain_command_prints_the_held_out_metrics():
    history(good=400, fraud=40, as_of=timezone.now())
    out = StringIO()

    call_command("risk-train", "--holdout-days", "60", "--no-rescore", stdout=out)

    text = out.getvalue()
    version = RiskModel.objects.get().version
    assert f"Model {version}" in text
    for part in ("PR-AUC", "ROC-AUC", "score ≥ 60", "top 3% by score"):
        assert part in text
    assert "activated: no model was active" in text
