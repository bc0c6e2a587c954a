"""POST /v1/score/batch: up to max_batch_rows applicants as JSON or CSV, each validated on its own."""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from lambda_app.api.content import request_media
from lambda_app.api.media import is_json
from lambda_app.api.problems import Problem, documented
from lambda_app.api.responses import BatchOut
from lambda_app.core import batch
from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.service import ScoringService
from lambda_app.settings import Settings


def batch_router(settings: Settings) -> APIRouter:
    """The route, with the batch size limit the settings give in its OpenAPI schema."""
    router = APIRouter()
    max_rows = settings.max_batch_rows

    @router.post(
        "/score/batch",
        response_model=BatchOut,
        summary="Score up to max_batch_rows applicants",
        description="Each applicant is validated on its own: valid ones are scored, invalid ones come back "
        "with their index and the fields at fault (the batch is not all-or-nothing; check `failed`). "
        "Send JSON, or `text/csv` with the schema's columns; ask for CSV back with `Accept: text/csv`.",
        openapi_extra={"requestBody": request_body(max_rows)},
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            **documented(
                {
                    413: "More applicants or bytes than allowed",
                    415: "Neither JSON nor CSV",
                    422: "Unusable body",
                    503: "Decision records are required and could not be stored; retry after Retry-After seconds",
                }
            ),
        },
    )
    async def score_batch(request: Request) -> Response:
        service: ScoringService = request.app.state.service
        rows = read_rows(request_media(request), await request.body(), max_rows)
        results = await run_in_threadpool(service.score_rows, rows)
        if "text/csv" in request.headers.get("accept", ""):
            return PlainTextResponse(batch.write_csv(results), media_type="text/csv")
        # pydantic-core's serialiser, not the json module's: see benchmarks/batch_http.py.
        return Response(pydantic_core.to_json(batch_body(service.version, results)), media_type="application/json")

    return router


def request_body(max_rows: int) -> dict[str, Any]:
    example = EXAMPLE_APPLICANT
    json_schema = {
        "type": "object",
        "required": ["applicants"],
        "additionalProperties": False,
        "properties": {
            "applicants": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_rows,
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
        "example": {"applicants": [example, {**example, "PreviousLoanDefaults": 1, "CreditScore": 420}]},
    }
    csv_example = ",".join(example) + "\n" + ",".join(str(v) for v in example.values()) + "\n"
    return {
        "required": True,
        "content": {
            "application/json": {"schema": json_schema},
            "text/csv": {"schema": {"type": "string"}, "example": csv_example},
        },
    }


def read_rows(media: str, body: bytes, max_rows: int) -> list[batch.Row]:
    if media == "text/csv":
        try:
            return batch.read_csv(body, max_rows)
        except batch.TooManyRows as e:
            raise Problem(413, str(e)) from None
        except batch.CsvError as e:
            raise Problem(422, f"Unusable CSV: {e}", [{"field": "(body)", "message": str(e)}]) from None
    if is_json(media):
        return json_rows(body, max_rows)
    raise Problem(415, f"Send application/json or text/csv (got {media or 'no content type'}).")


def batch_body(version: str, results: list[batch.Scored]) -> dict[str, Any]:
    """What BatchOut(...).model_dump(mode="json", exclude_none=True) gives, built directly:
    a thousand pydantic models per batch cost more than scoring the batch."""
    items = [
        {"index": r.index, "errors": [{"field": e.field, "message": e.message} for e in r.errors]}
        if r.errors
        else {"index": r.index, "risk_score": r.risk_score, "risk_band": r.risk_band}
        if r.decision_id is None
        else {"index": r.index, "risk_score": r.risk_score, "risk_band": r.risk_band, "decision_id": r.decision_id}
        for r in results
    ]
    failed = sum(1 for r in results if r.errors)
    return {
        "model_version": version,
        "count": len(results),
        "scored": len(results) - failed,
        "failed": failed,
        "results": items,
    }


def _parse_json(body: bytes) -> Any:
    # pydantic-core's parser first; anything it will not take (UTF-16, a BOM, lone
    # surrogates) gets the json module's verdict, as before.
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return json.loads(body)


def json_rows(body: bytes, max_rows: int) -> list[batch.Row]:
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
