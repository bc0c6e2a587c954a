"""One error shape for every error: RFC 9457 problem details, never a stack trace."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.telemetry import logger, request_id

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise anywhere to answer with a problem document."""

    def __init__(
        self, status: int, detail: str, errors: Sequence[dict[str, Any]] = (), headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, list(errors), headers


class ProblemDoc(BaseModel):
    """The problem document, for the OpenAPI description of every error answer."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = Field(None, description="The fields at fault: `field` and `message`")


_PROBLEM_SCHEMA = ProblemDoc.model_json_schema()


def documented(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses: problem documents, as sent."""
    return {
        status: {"description": text, "content": {MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}}}
        for status, text in descriptions.items()
    }


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id(),
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def records_unavailable(request: Request | None, exc: RecordsUnavailable) -> JSONResponse:
    """Required decision records that could not be stored: no score without its record."""
    return problem_response(request, 503, str(exc), headers={"Retry-After": str(exc.retry_after)})


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Pydantic's locations become field names: ("body", "CreditScore") -> "CreditScore"."""
    out = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # its location is a character offset, not a field
            out.append({"field": "(body)", "message": str(err.get("msg", "invalid JSON"))})
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        out.append({"field": ".".join(loc) or "(body)", "message": str(err.get("msg", "invalid"))})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        return problem_response(
            request, 422, f"{len(errors)} invalid field(s): " + ", ".join(e["field"] for e in errors), errors
        )

    @app.exception_handler(RecordsUnavailable)
    async def _unrecorded(request: Request, exc: RecordsUnavailable) -> JSONResponse:
        return records_unavailable(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for operators; the client sees only the request id.
        logger.exception("unhandled error", extra={"path": request.url.path, "request_id": request_id()})
        return problem_response(request, 500, "Internal error; quote the request id when reporting it.")
