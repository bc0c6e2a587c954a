"""Warm single score through the Lambda handler in process (API Gateway v2 event ->
Mangum -> FastAPI -> model), beside raw CatBoost predicting one row on the same model."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.common import MODEL_DIR, ROOT, example, median_us


class _Context:
    function_name = "loan-risk"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:loan-risk"
    aws_request_id = "bench"


@dataclass
class LambdaWarm:
    handler_us: float
    raw_us: float
    lean_us: float  # the service's own predict path (Scorer.score), for the record

    @property
    def ratio(self) -> float:
        return self.handler_us / self.raw_us


def measure(rounds: int = 3) -> LambdaWarm:
    os.environ["MODEL_URI"] = str(MODEL_DIR)
    from catboost import CatBoostRegressor

    import lambda_app.handler as lambda_handler
    from lambda_app.settings import get_settings

    get_settings.cache_clear()
    raw_model = CatBoostRegressor()
    raw_model.load_model(str(MODEL_DIR / "model.cbm"))  # as CatBoost loads it, untouched
    applicant = example()
    scorer = lambda_handler.app.state.scorer
    row = scorer.rows([applicant])[0]  # the model's input row: fields and derived features, in order
    event: dict[str, Any] = json.loads((ROOT / "tests" / "events" / "http_api_v2_score.json").read_text())
    event.update(body=json.dumps(applicant), isBase64Encoded=False)
    context = _Context()
    assert lambda_handler.handler(event, context)["statusCode"] == 200

    # Log lines and metrics go to stdout as on Lambda (they are part of the cost); the
    # terminal does not need 10,000 of them.
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        results = []
        for _ in range(rounds):  # interleaved, so a noisy neighbour hits both alike
            raw = median_us(lambda: raw_model.predict([row]))
            handler = median_us(lambda: lambda_handler.handler(event, context))
            lean = median_us(lambda: scorer.score([applicant]))
            results.append((handler, raw, lean))
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)
    handler_us, raw_us, lean_us = (statistics.median(r[i] for r in results) for i in range(3))
    return LambdaWarm(handler_us, raw_us, lean_us)
