"""GET /health (alive) and GET /ready (the model scores its canary applicant)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lambda_app.api.problems import Problem, documented
from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.service import ScoringService

router = APIRouter(tags=["ops"])


@router.get("/health", summary="Alive")
async def health(request: Request) -> dict[str, str]:
    service: ScoringService = request.app.state.service
    return {"status": "ok", "model_version": service.version}


@router.get("/ready", summary="Model loaded and scoring a canary applicant", responses=documented({503: "Not ready"}))
async def ready(request: Request) -> dict[str, Any]:
    scorer = request.app.state.service.scorer
    try:
        [canary] = scorer.score([scorer.manifest.typical_applicant or EXAMPLE_APPLICANT])
    except Exception as e:  # any failure here means: do not send traffic
        raise Problem(503, f"Model cannot score the canary applicant: {type(e).__name__}") from None
    return {"status": "ready", "model_version": scorer.version, "canary_score": canary}
