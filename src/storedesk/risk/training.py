"""Training the score model: fit on the labelled history, store it as a new version, activate
it when it does at least as well as the active one, then re-score what is still waiting.

`risk.model` is the model itself (features, fitting, loading); this module is the write that
uses it and the scoring service, so neither of those needs the other's writer.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime

import joblib
from django.db import transaction
from django.utils import timezone

from storedesk.audit.services import record_audit
from storedesk.risk.model import (
    ALGORITHM,
    ScoreModel,
    TrainedModel,
    TrainingOptions,
    active_model,
    fit,
    frame_matrix,
    keep_loaded,
    labelled_frame,
)
from storedesk.risk.models import RiskModel
from storedesk.risk.services import do_rescore_open_orders


def _version(now: datetime) -> str:
    base = f"gbm-{now:%Y%m%d-%H%M}"
    taken = set(
        RiskModel.objects.filter(version__startswith=base).values_list("version", flat=True)
    )
    if base not in taken:
        return base
    serial = 2
    while f"{base}-{serial}" in taken:
        serial += 1
    return f"{base}-{serial}"


@dataclass
class TrainingReport:
    risk_model: RiskModel
    activated: bool
    decision: str
    rescored: int = 0
    seconds: float = 0.0


def do_train_model(
    *,
    actor=None,
    force: bool = False,
    holdout_days: int | None = None,
    as_of: datetime | None = None,
    rescore: bool = True,
) -> TrainingReport:
    """Train on the labelled history as of `as_of` (now), store the model as a new version and
    activate it if it scores at least as well as the active one on the same held-out window
    (or `force`). Raises NotEnoughLabels when the history is too thin.

    After an activation, orders of the last `RESCORE_DAYS` whose review nobody has touched
    are re-scored, so what is still waiting (to ship, or in the queue) is judged by the new
    model; older orders keep the score they had when the team acted on them.
    """
    started = time.perf_counter()
    now = timezone.now()
    as_of = as_of or now
    options = TrainingOptions.from_settings(holdout_days=holdout_days)
    frame = labelled_frame(as_of, options)
    trained = fit(frame, options, _version(now))
    previous = active_model()
    decision, activate = _compare(trained, previous, force)
    buffer = io.BytesIO()
    joblib.dump(trained.model.estimator, buffer)
    metrics = trained.metrics | {"decision": decision, "as_of": as_of.isoformat()}
    with transaction.atomic():
        if activate:
            RiskModel.objects.select_for_update().filter(is_active=True).update(is_active=False)
        risk_model = RiskModel.objects.create(
            version=trained.model.version,
            algorithm=ALGORITHM,
            features=[feature.as_json() for feature in trained.model.features],
            trained_at=now,
            trained_by=actor if getattr(actor, "pk", None) else None,
            train_from=trained.train_from,
            train_until=trained.train_until,
            test_from=trained.test_from,
            test_until=trained.test_until,
            metrics=metrics,
            artifact=buffer.getvalue(),
            is_active=activate,
        )
        record_audit(
            actor=actor,
            action="risk.model_trained",
            obj=risk_model,
            changes={
                "activated": activate,
                "decision": decision,
                "pr_auc": metrics["pr_auc"],
                "roc_auc": metrics["roc_auc"],
            },
        )
    keep_loaded(risk_model.version, trained.model)
    report = TrainingReport(risk_model, activate, decision)
    if activate and rescore:
        report.rescored = do_rescore_open_orders(as_of=as_of, actor=actor)
    report.seconds = time.perf_counter() - started
    return report


def _compare(trained: TrainedModel, previous: ScoreModel | None, force: bool) -> tuple[str, bool]:
    """Whether the new model may replace the active one, judged on the new held-out window."""
    new = trained.metrics["pr_auc"]
    if previous is None:
        return "activated: no model was active", True
    labels = trained.test_frame["label"].to_numpy()
    old_scores = previous.raw_scores(frame_matrix(trained.test_frame, previous.features))
    from sklearn.metrics import average_precision_score

    old = round(float(average_precision_score(labels, old_scores)), 4)
    trained.metrics["previous"] = {"version": previous.version, "pr_auc": old}
    if new >= old:
        return f"activated: PR-AUC {new:.3f} ≥ {old:.3f} of {previous.version}", True
    if force:
        return f"activated (forced): PR-AUC {new:.3f} < {old:.3f} of {previous.version}", True
    return f"kept {previous.version}: its PR-AUC {old:.3f} > {new:.3f} on the same window", False
