"""The FastAPI application factory: the one scoring core both entry points serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from lambda_app.schema import Applicant
from lambda_app.scoring import Scorer
from lambda_app.settings import Settings, get_settings


class ScoreOut(BaseModel):
    model_config = {"protected_namespaces": ()}
    risk_score: float
    model_version: str


def load_scorer(settings: Settings) -> Scorer:
    return Scorer.load(Path(settings.model_uri))


def create_app(settings: Settings | None = None, scorer: Scorer | None = None) -> FastAPI:
    """Build the app; the model is loaded here, before the first request, so a bad
    bundle stops start-up instead of failing requests."""
    settings = settings or get_settings()
    scorer = scorer or load_scorer(settings)
    app = FastAPI(
        title="Loan risk scoring",
        version=scorer.version,
        root_path=settings.root_path,
        description="Predicts a loan applicant's risk score (higher is riskier).",
    )
    app.state.scorer = scorer
    app.state.settings = settings

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_version": scorer.version}

    @app.post("/v1/score", response_model=ScoreOut, tags=["scoring"])
    def score(applicant: Applicant) -> ScoreOut:
        [risk] = scorer.score([applicant.model_dump()])
        return ScoreOut(risk_score=risk, model_version=scorer.version)

    return app
