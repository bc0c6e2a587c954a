"""POST /v1/score's answer, serialised once and without a web framework: the route, the fast
path and the Lambda light path (lambda_app.gateway) all send these bytes."""

from __future__ import annotations

from typing import Any

import pydantic_core

from lambda_app.service import Decision

DECISION_HEADER = "Decision-Id"


def score_body(decision: Decision, version: str) -> bytes:
    """The JSON answer to POST /v1/score: ScoreOut, serialised. Without an explanation it is
    built as a plain dict (what ScoreOut.model_dump_json(exclude_none=True) gives, byte for
    byte, at a fraction of the cost); the documented schema is the route's response_model."""
    if decision.explanation is not None:
        # Only explained answers need the response models; a plain cold start never builds them.
        from lambda_app.api.responses import ExplanationOut, ScoreOut

        out = ScoreOut(
            risk_score=decision.risk_score,
            risk_band=decision.risk_band,
            percentile=decision.percentile,
            model_version=version,
            explanation=ExplanationOut.of(decision.explanation),
            decision_id=decision.decision_id,
        )
        return out.model_dump_json(exclude_none=True).encode()
    body: dict[str, Any] = {
        "risk_score": decision.risk_score,
        "risk_band": decision.risk_band,
        "percentile": decision.percentile,
        "model_version": version,
    }
    if decision.decision_id is not None:
        body["decision_id"] = decision.decision_id
    return pydantic_core.to_json(body)
