"""Warm single score through the Lambda handler in process (API Gateway v2 event ->
Mangum -> FastAPI -> model), beside raw CatBoost predicting one row on the same model.

The handler runs in Lambda's environment (benchmarks.common.lambda_environment), so its
tracer is on as in production; the headline is an unsampled invocation, the typical one,
and a sampled one (its segment sent to the X-Ray daemon's port) is measured too."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks.common import MODEL_DIR, ROOT, example, lambda_environment, median_us


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
    sampled_us: float  # the handler when X-Ray samples the invocation

    @property
    def ratio(self) -> float:
        return self.handler_us / self.raw_us


def measure(rounds: int = 3) -> LambdaWarm:
    saved_environ = dict(os.environ)
    try:
        os.environ.update(lambda_environment(), MODEL_URI=str(MODEL_DIR))
        return _measure(rounds)
    finally:  # the servers the other benchmarks start do not run on Lambda
        os.environ.clear()
        os.environ.update(saved_environ)


def _measure(rounds: int) -> LambdaWarm:
    from catboost import CatBoostRegressor

    import lambda_app.handler as lambda_handler
    from lambda_app.settings import get_settings

    get_settings.cache_clear()
    raw_model = CatBoostRegressor()
    raw_model.load_model(str(MODEL_DIR / "model.cbm"))  # as CatBoost loads it, untouched
    applicant = example()
    scorer = lambda_handler.service.scorer
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
            os.environ["_X_AMZN_TRACE_ID"] = lambda_environment(sampled=True)["_X_AMZN_TRACE_ID"]
            sampled = median_us(lambda: lambda_handler.handler(event, context), n=500)
            os.environ["_X_AMZN_TRACE_ID"] = lambda_environment()["_X_AMZN_TRACE_ID"]
            results.append((handler, raw, lean, sampled))
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)
    handler_us, raw_us, lean_us, sampled_us = (statistics.median(r[i] for r in results) for i in range(4))
    if lambda_handler.tracer.disabled:
        raise RuntimeError("the tracer is off: the handler did not see a Lambda environment")
    return LambdaWarm(handler_us, raw_us, lean_us, sampled_us)
