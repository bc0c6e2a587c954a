"""AWS Lambda entry point: API Gateway events (REST v1 and HTTP v2), plain scores straight from
the event, everything else through Mangum and the app.

The scoring service and its model are built at import, in Lambda's init phase, so warm
invocations never reload the model. A plain score (POST /v1/score, JSON, no options) is
answered by lambda_app.gateway from the event itself, as the app would answer it, so a cold
start that scores imports neither FastAPI, Starlette nor Mangum; the app is built, around the
same service, on the first invocation that is anything else, and answers that one and every
such one after it. Mangum's lifespan support is off because it may run per invocation. Each
invocation publishes its metrics (lambda_app.telemetry), buffered decision records are written
before it returns, Powertools adds its cold-start metric, sampled invocations are traced in
X-Ray (lambda_app.tracing), and logs carry the API Gateway request id as correlation id.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from lambda_app.startup import start_up

with start_up():  # everything a cold start imports and builds: lambda_app.startup says why
    from lambda_app.core.catboost_lean import import_catboost_lean

    import_catboost_lean()  # before the service imports CatBoost: see that module

    import warnings

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from lambda_app.gateway.events import TEXT_MIME_TYPES
    from lambda_app.gateway.plain_score import PlainScores
    from lambda_app.service import load_service
    from lambda_app.settings import get_settings
    from lambda_app.telemetry import SERVICE, logger, metrics
    from lambda_app.tracing import Tracer

    # X-Ray tracing exists only on Lambda, one subsegment per sampled invocation
    # (lambda_app.tracing, without the X-Ray SDK). Nothing inside it is traced: an invocation
    # makes no AWS or HTTP calls (a bundle on S3 is fetched at init, where Lambda discards
    # subsegments).
    tracer = Tracer(service=SERVICE)
    settings = get_settings()
    service = load_service(settings)
    plain = PlainScores(service, settings)
    # The app publishes its own metrics (lambda_app.telemetry); the decorator below adds the
    # cold-start metric and would otherwise warn on every invocation that it has nothing else.
    warnings.filterwarnings("ignore", "No application metrics to publish")

Asgi = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@cache
def full_app() -> Asgi:
    """The app through Mangum, built on first use around the handler's scoring service."""
    with start_up():
        from mangum import Mangum

        from lambda_app.app import create_app

        app = create_app(settings, on_lambda=True, service=service)
        return Mangum(app, lifespan="off", text_mime_types=TEXT_MIME_TYPES)  # type: ignore[return-value]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler  # no response in it: responses hold scores of personal data
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        answer = plain.answer(event)
        if answer is None:
            answer = dict(full_app()(event, context))
        return answer
    finally:
        # Before the invocation returns: a frozen environment may never run again, and a
        # record still in the buffer then would be lost.
        service.flush_records()
