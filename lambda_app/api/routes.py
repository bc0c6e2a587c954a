"""The JSON API: /v1/* scoring and model metadata, /health and /ready."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from lambda_app.api.dependencies import get_app_settings, get_scorer
from lambda_app.api.problems import Problem, documented
from lambda_app.api.responses import BatchOut, ExplanationOut, FieldOut, ModelOut, ScoreOut
from lambda_app.api.security import require_api_key
from lambda_app.core import batch
from lambda_app.core.schema import EXAMPLE_APPLICANT, FIELDS, Applicant
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings
from lambda_app.telemetry import count

ScorerDep = Annotated[Scorer, Depends(get_scorer)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
_EXAMPLE = EXAMPLE_APPLICANT


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def require_json(request: Request) -> None:  # async: no threadpool hop
    media = _media_type(request)
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, f"Send the applicant as application/json (got {media or 'no content type'}).")


def score_body(
    scorer: Scorer, applicant: dict[str, Any], explain: bool, reasons: int, risk: float | None = None
) -> bytes:
    """The JSON answer to POST /v1/score: ScoreOut, serialised. Without an explanation it is
    built as a plain dict (what ScoreOut.model_dump_json(exclude_none=True) gives, byte for
    byte, in a fifth of the time); the documented schema is the route's response_model."""
    if risk is None:
        [risk] = scorer.score([applicant])
    if explain:
        explanation = ExplanationOut.of(scorer.explain([applicant], reasons)[0])
        out = ScoreOut(
            risk_score=risk,
            risk_band=scorer.band(risk),
            percentile=scorer.percentile(risk),
            model_version=scorer.version,
            explanation=explanation,
        )
        return out.model_dump_json(exclude_none=True).encode()
    return pydantic_core.to_json(
        {
            "risk_score": risk,
            "risk_band": scorer.band(risk),
            "percentile": scorer.percentile(risk),
            "model_version": scorer.version,
        }
    )


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter()
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

    @v1.post(
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
            }
        ),
    )
    async def score(
        request: Request,
        applicant: Applicant,
        explain: Annotated[bool, Query(description="Add reason codes from the model's SHAP values")] = False,
        reasons: Annotated[int, Query(ge=1, le=28, description="Reason codes each way (default from settings)")]
        | None = None,
    ) -> Response:
        scorer: Scorer = request.app.state.scorer  # not a dependency: see lambda_app.api.security
        fields = applicant.model_dump()
        top = reasons or settings.max_reasons
        if explain:
            # Exact SHAP takes tens of ms and CatBoost releases the GIL for it: in a thread,
            # the other requests on this worker are not held up behind it.
            body = await run_in_threadpool(score_body, scorer, fields, True, top)
        else:  # concurrent requests share one model call (lambda_app.core.coalesce)
            body = score_body(scorer, fields, False, top, await request.app.state.coalescer.score(fields))
        count("ScoresServed")
        # Serialised here, once: returned as a model, FastAPI would validate it against
        # response_model again first. The documented schema is the decorator's.
        return Response(body, media_type="application/json")

    batch_schema = {
        "type": "object",
        "required": ["applicants"],
        "additionalProperties": False,
        "properties": {
            "applicants": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_batch_rows,
                # Not all-or-nothing: an item that is no valid applicant is reported in its
                # result row, not refused, so the schema accepts any item and says so.
                "items": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Applicant"},
                        {"description": "Anything else is answered with its errors in `results`"},
                    ]
                },
            }
        },
        "example": {"applicants": [_EXAMPLE, {**_EXAMPLE, "PreviousLoanDefaults": 1, "CreditScore": 420}]},
    }
    csv_example = ",".join(_EXAMPLE) + "\n" + ",".join(str(v) for v in _EXAMPLE.values()) + "\n"

    @v1.post(
        "/score/batch",
        response_model=BatchOut,
        summary="Score up to max_batch_rows applicants",
        description="Each applicant is validated on its own: valid ones are scored, invalid ones come back "
        "with their index and the fields at fault (the batch is not all-or-nothing; check `failed`). "
        "Send JSON, or `text/csv` with the schema's columns; ask for CSV back with `Accept: text/csv`.",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": batch_schema},
                    "text/csv": {"schema": {"type": "string"}, "example": csv_example},
                },
            }
        },
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            **documented(
                {
                    413: "More applicants or bytes than allowed",
                    415: "Neither JSON nor CSV",
                    422: "Unusable body",
                }
            ),
        },
    )
    async def score_batch(request: Request, scorer: ScorerDep) -> Response:
        media = _media_type(request)
        body = await request.body()
        if media == "text/csv":
            try:
                rows = batch.read_csv(body, settings.max_batch_rows)
            except batch.TooManyRows as e:
                raise Problem(413, str(e)) from None
            except batch.CsvError as e:
                raise Problem(422, f"Unusable CSV: {e}", [{"field": "(body)", "message": str(e)}]) from None
        elif media == "application/json" or media.endswith("+json"):
            rows = _json_rows(body, settings.max_batch_rows)
        else:
            raise Problem(415, f"Send application/json or text/csv (got {media or 'no content type'}).")
        results = await run_in_threadpool(batch.score_rows, scorer, rows)
        failed = sum(1 for r in results if r.errors)
        count("BatchSize", len(results))
        count("ScoresServed", len(results) - failed)
        if failed:
            count("ValidationFailures", failed)
        if "text/csv" in request.headers.get("accept", ""):
            return PlainTextResponse(batch.write_csv(results), media_type="text/csv")
        # pydantic-core's serialiser: a third of the json module's time for a thousand results.
        return Response(
            pydantic_core.to_json(batch_body(scorer.version, results, failed)), media_type="application/json"
        )

    @v1.get("/model", response_model=ModelOut, summary="The served model: version, data, metrics, bands, schema")
    async def model(scorer: ScorerDep) -> ModelOut:
        m = scorer.manifest
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

    @router.get("/health", tags=["ops"], summary="Alive")
    async def health(scorer: ScorerDep) -> dict[str, str]:
        return {"status": "ok", "model_version": scorer.version}

    @router.get(
        "/ready",
        tags=["ops"],
        summary="Model loaded and scoring a canary applicant",
        responses=documented({503: "Not ready"}),
    )
    async def ready(scorer: ScorerDep) -> dict[str, Any]:
        try:
            [canary] = scorer.score([scorer.manifest.typical_applicant or _EXAMPLE])
        except Exception as e:  # any failure here means: do not send traffic
            raise Problem(503, f"Model cannot score the canary applicant: {type(e).__name__}") from None
        return {"status": "ready", "model_version": scorer.version, "canary_score": canary}

    router.include_router(v1)
    return router


def batch_body(version: str, results: list[batch.Scored], failed: int) -> dict[str, Any]:
    """What BatchOut(...).model_dump(mode="json", exclude_none=True) gives, built directly:
    a thousand pydantic models per batch cost more than scoring the batch."""
    items = [
        {"index": r.index, "errors": [{"field": e.field, "message": e.message} for e in r.errors]}
        if r.errors
        else {"index": r.index, "risk_score": r.risk_score, "risk_band": r.risk_band}
        for r in results
    ]
    return {
        "model_version": version,
        "count": len(results),
        "scored": len(results) - failed,
        "failed": failed,
        "results": items,
    }


def _parse_json(body: bytes) -> Any:
    # pydantic-core's parser is twice as fast as the json module; anything it will not
    # take (UTF-16, a BOM, lone surrogates) gets the json module's verdict, as before.
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return json.loads(body)


def _json_rows(body: bytes, max_rows: int) -> list[batch.Row]:
    rows = batch.validate_json_document(body, max_rows)
    if rows is not None:  # the common case: nothing wrong anywhere
        return rows
    try:
        doc = _parse_json(body)
    except (ValueError, RecursionError):
        raise Problem(422, "Body is not valid JSON.", [{"field": "(body)", "message": "invalid JSON"}]) from None
    if not isinstance(doc, dict) or set(doc) != {"applicants"} or not isinstance(doc["applicants"], list):
        raise Problem(422, 'Send {"applicants": [...]}.', [{"field": "applicants", "message": "a list is required"}])
    applicants = doc["applicants"]
    if not applicants:
        raise Problem(
            422, "No applicants in the batch.", [{"field": "applicants", "message": "at least one applicant"}]
        )
    if len(applicants) > max_rows:
        raise Problem(413, f"{len(applicants)} applicants; at most {max_rows} per batch.")
    return batch.validate_records(applicants)
