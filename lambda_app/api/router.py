"""The JSON API's routes together: /v1/* behind the API key, /health and /ready."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from lambda_app.api import health, model, score
from lambda_app.api.batch import batch_router
from lambda_app.api.problems import documented
from lambda_app.api.security import require_api_key
from lambda_app.settings import Settings


def build_router(settings: Settings) -> APIRouter:
    v1 = APIRouter(
        prefix="/v1",
        dependencies=[Depends(require_api_key)],
        tags=["scoring"],
        # Every error is a problem document (lambda_app.api.problems); say so, status by status.
        responses=documented(
            {
                401: "Missing or invalid API key (when the service has keys set)",
                408: "The request body did not arrive within request_timeout_s",
                413: "Body larger than max_body_bytes",
                422: "A field is invalid; `errors` names it",
            }
        ),
    )
    v1.include_router(score.router)
    v1.include_router(batch_router(settings))
    v1.include_router(model.router)
    router = APIRouter()
    router.include_router(health.router)
    router.include_router(v1)
    return router
