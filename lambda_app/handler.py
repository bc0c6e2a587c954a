"""AWS Lambda entry point: API Gateway events (REST v1 and HTTP v2) through Mangum.

The app and its model are built at import, in Lambda's init phase, so warm invocations
never reload the model; Mangum's lifespan support is off because it may run per
invocation. The app publishes its metrics once per invocation (lambda_app.telemetry),
buffered decision records are written before each invocation returns, Powertools adds
its cold-start metric, sampled invocations are traced in X-Ray (lambda_app.tracing),
and logs carry the API Gateway request id as correlation id.
"""

from typing import Any

from lambda_app.startup import start_up

with start_up():  # everything a cold start imports and builds: lambda_app.startup says why
    from lambda_app.core.catboost_lean import import_catboost_without_pandas

    import_catboost_without_pandas()  # before the app imports CatBoost: see that module

    import warnings

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mangum import Mangum
    from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

    from lambda_app.app import create_app
    from lambda_app.telemetry import SERVICE, logger, metrics
    from lambda_app.tracing import Tracer

    # X-Ray tracing exists only on Lambda, one subsegment per sampled invocation
    # (lambda_app.tracing, without the X-Ray SDK). Nothing inside it is traced: an invocation
    # makes no AWS or HTTP calls (a bundle on S3 is fetched at init, where Lambda discards
    # subsegments).
    tracer = Tracer(service=SERVICE)
    app = create_app(on_lambda=True)
    # The app publishes its own metrics (lambda_app.telemetry); the decorator below adds the
    # cold-start metric and would otherwise warn on every invocation that it has nothing else.
    warnings.filterwarnings("ignore", "No application metrics to publish")
    _asgi = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/problem+json"])
    _service = app.state.service


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler  # no response in it: responses hold scores of personal data
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return dict(_asgi(event, context))  # type: ignore[arg-type]  # Mangum's own LambdaContext protocol
    finally:
        # Before the invocation returns: a frozen environment may never run again, and a
        # record still in the buffer then would be lost.
        _service.flush_records()
