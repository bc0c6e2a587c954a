"""POST /v1/score: one applicant's score, band and percentile, with reasons on request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from lambda_app.api.content import require_json
from lambda_app.api.plain import MAX_REASONS
from lambda_app.api.problems import documented
from lambda_app.api.responses import ScoreOut
from lambda_app.api.score_answer import DECISION_HEADER, score_body
from lambda_app.core.schema import Applicant
from lambda_app.service import Decision, ScoringService

router = APIRouter()


def decision_headers(decision: Decision) -> dict[str, str] | None:
    """The decision id as a header too, for callers that log headers rather than bodies."""
    return None if decision.decision_id is None else {DECISION_HEADER: decision.decision_id}


@router.post(
    "/score",
    response_model=ScoreOut,
    response_model_exclude_none=True,
    dependencies=[Depends(require_json)],
    summary="Score one applicant",
    responses=documented(
        {
            400: "Body could not be parsed at all (e.g. nested too deep)",
            415: "Not JSON",
            422: "A field is invalid; `errors` names it",
            503: "Decision records are required and could not be stored; retry after Retry-After seconds",
        }
    ),
)
async def score(
    request: Request,
    applicant: Applicant,
    explain: Annotated[bool, Query(description="Add reason codes from the model's SHAP values")] = False,
    reasons: Annotated[int, Query(ge=1, le=MAX_REASONS, description="Reason codes each way (default from settings)")]
    | None = None,
) -> Response:
    service: ScoringService = request.app.state.service  # not a dependency: see lambda_app.api.security
    decision = await service.score(
        applicant.model_dump(), explain=explain, reasons=reasons, alone="aws.event" in request.scope
    )
    # Serialised here, once: returned as a model, FastAPI would validate it against
    # response_model again first. The documented schema is the decorator's.
    return Response(
        score_body(decision, service.version), media_type="application/json", headers=decision_headers(decision)
    )
