"""AWS Lambda entry point: API Gateway events (REST v1 and HTTP v2) through Mangum.

The app and its model are built at import, in Lambda's init phase, so warm invocations
never reload the model; Mangum's lifespan support is off because it may run per
invocation. The app publishes its metrics once per invocation (lambda_app.telemetry)
and Powertools adds its cold-start metric; sampled invocations are traced in X-Ray
(lambda_app.tracing); logs carry the API Gateway request id as correlation id.
"""

import gc

gc.disable()  # until the app is built: see lambda_app.app.freeze_start_up_objects

from lambda_app.core.catboost_lean import import_catboost_without_pandas  # noqa: E402

import_catboost_without_pandas()  # before the app imports CatBoost: see that module

import warnings  # noqa: E402
from typing import Any  # noqa: E402

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from mangum import Mangum  # noqa: E402
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES  # noqa: E402

from lambda_app.app import create_app, freeze_start_up_objects  # noqa: E402
from lambda_app.telemetry import SERVICE, logger, metrics  # noqa: E402
from lambda_app.tracing import Tracer  # noqa: E402

# X-Ray tracing exists only on Lambda, one subsegment per sampled invocation (lambda_app.tracing,
# without the X-Ray SDK). Nothing inside it is traced: an invocation makes no AWS or HTTP calls
# (a bundle on S3 is fetched at init, where Lambda discards subsegments).
tracer = Tracer(service=SERVICE)
app = create_app(on_lambda=True)
# The app publishes its own metrics (lambda_app.telemetry); the decorator below adds the
# cold-start metric and would otherwise warn on every invocation that it has nothing else.
warnings.filterwarnings("ignore", "No application metrics to publish")
_asgi = Mangum(app, lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, "application/problem+json"])
freeze_start_up_objects()  # the server's lifespan does this on ECS; Mangum runs none here


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler  # no response in it: responses hold scores of personal data
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(_asgi(event, context))  # type: ignore[arg-type]  # Mangum's own LambdaContext protocol
