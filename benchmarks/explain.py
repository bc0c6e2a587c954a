"""Explanations in process: the service's SHAP values (lambda_app.core.treeshap, one applicant
and a batch of 32) beside CatBoost's own ShapValues call for one applicant, the way every
explanation was computed before and the reference the tests hold the values to."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.common import MODEL_DIR, applicants, median_us


@dataclass
class Explained:
    one_us: float  # Scorer.contributions for one applicant
    batch_row_us: float  # per applicant, in a batch of 32
    catboost_us: float  # CatBoost's get_feature_importance(type="ShapValues") for one row
    table_ms: float  # building the leaf table once per model (start-up, or a Lambda's first explanation)


def measure() -> Explained:
    import time

    from lambda_app.core.scoring import Scorer

    scorer = Scorer.load(MODEL_DIR)
    people = applicants(32)
    pool = scorer._named_pool(scorer.rows(people[:1]))
    start = time.perf_counter()
    scorer.prepare_explanations()
    table_ms = (time.perf_counter() - start) * 1000
    return Explained(
        one_us=median_us(lambda: scorer.contributions(people[:1]), n=1000, warmup=50),
        batch_row_us=median_us(lambda: scorer.contributions(people), n=100, warmup=5) / len(people),
        catboost_us=median_us(
            lambda: scorer.model.get_feature_importance(data=pool, type="ShapValues", thread_count=1), n=300, warmup=20
        ),
        table_ms=table_ms,
    )
