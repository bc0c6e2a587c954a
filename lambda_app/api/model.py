"""GET /v1/model: the served model's version, data, metrics, bands and schema."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from lambda_app.api.responses import FieldOut, ModelOut
from lambda_app.core.bundle import Manifest
from lambda_app.core.schema import FIELDS
from lambda_app.service import ScoringService

router = APIRouter()


@router.get("/model", response_model=ModelOut, summary="The served model: version, data, metrics, bands, schema")
async def model(request: Request) -> ModelOut:
    service: ScoringService = request.app.state.service
    out = model_out(service.scorer.manifest)
    if service.challenger is not None:
        out.challenger = model_out(service.challenger.manifest)
    return out


def model_out(m: Manifest) -> ModelOut:
    return ModelOut(
        version=m.version,
        trained_at=m.created_at,
        target=m.target,
        data=m.data,
        metrics=m.metrics,
        bands=m.bands,
        score_range=m.score_range,
        excluded_features=m.excluded_features,
        model_features=m.features,
        code_version=m.code_version,
        schema=[FieldOut.model_validate(asdict(f)) for f in FIELDS],
    )
