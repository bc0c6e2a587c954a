"""The batch page: a CSV upload scored, summarised and offered back as a file."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from lambda_app.api.dependencies import get_app_settings, get_service
from lambda_app.core.batch import (
    CsvError,
    FieldError,
    Scored,
    TooManyRows,
    read_csv,
    write_csv,
)
from lambda_app.core.schema import FEATURES
from lambda_app.middleware.body_limit import BodyTooLarge
from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.service import ScoringService
from lambda_app.settings import Settings
from lambda_app.web.bands import band_views
from lambda_app.web.forms import (
    default_values,
)
from lambda_app.web.rendering import page, url_path
from lambda_app.web.uploads import BadForm, megabytes, read_form

router = APIRouter(include_in_schema=False)

ServiceDep = Annotated[ScoringService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


ERRORS_SHOWN = 100


@dataclass(frozen=True)
class BandCount:
    name: str
    tone: int
    count: int
    share: float  # % of the scored rows


@dataclass(frozen=True)
class RowErrors:
    line: int  # as a spreadsheet numbers it: the header is line 1
    index: int
    errors: tuple[FieldError, ...]


@dataclass(frozen=True)
class BatchSummary:
    filename: str
    download_name: str
    total: int
    scored: int
    failed: int
    bands: list[BandCount]
    errors: list[RowErrors]
    errors_not_shown: int
    csv_data_url: str


def file_too_large(settings: Settings) -> str:
    return f"The file is larger than the limit of {megabytes(settings.max_body_bytes)}. Split it into smaller files."


def download_name(filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename or "applicants").stem).strip(".-")[:60]
    return f"scored-{stem or 'applicants'}.csv"


def csv_data_url(text: str) -> str:
    # The scored file travels inside the summary page itself: nothing is kept on the server.
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode()).decode("ascii")


def batch_summary(service: ScoringService, filename: str, results: Sequence[Scored]) -> BatchSummary:
    counts = Counter(r.risk_band for r in results if r.risk_band is not None)
    scored = sum(counts.values())
    bands = [
        BandCount(
            b.name, b.tone, counts.get(b.name, 0), round(100.0 * counts.get(b.name, 0) / scored, 1) if scored else 0.0
        )
        for b in band_views(service.scorer)
    ]
    failed = [RowErrors(r.index + 2, r.index, r.errors) for r in results if r.errors]
    return BatchSummary(
        filename=filename,
        download_name=download_name(filename),
        total=len(results),
        scored=scored,
        failed=len(failed),
        bands=bands,
        errors=failed[:ERRORS_SHOWN],
        errors_not_shown=max(0, len(failed) - ERRORS_SHOWN),
        csv_data_url=csv_data_url(write_csv(results)),
    )


class UploadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def scored_upload(request: Request, service: ScoringService, settings: Settings) -> tuple[str, list[Scored]]:
    """The uploaded CSV's file name and its rows scored, or an UploadError saying what is wrong."""
    try:
        form = await read_form(request, settings.max_body_bytes, max_files=1)
    except BodyTooLarge:
        raise UploadError(413, file_too_large(settings)) from None
    except BadForm:
        raise UploadError(400, "The upload could not be read. Choose the file again and resubmit.") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadError(422, "Choose a CSV file to upload.")
    data = await upload.read()
    try:
        rows = read_csv(data, settings.max_batch_rows)
    except TooManyRows as e:
        raise UploadError(413, f"{upload.filename} has {e}.") from None
    except CsvError as e:
        raise UploadError(422, f"{upload.filename} cannot be used: {e}.") from None
    if not rows:
        raise UploadError(422, f"{upload.filename} has a header but no applicant rows.")
    try:
        return upload.filename, await run_in_threadpool(service.score_rows, rows, "web")
    except RecordsUnavailable as e:
        raise UploadError(503, f"{e} Try again in a few seconds.") from None


def batch_page(request: Request, settings: Settings, status: int = 200, **context: Any) -> HTMLResponse:
    base = {
        "columns": FEATURES,
        "max_rows": settings.max_batch_rows,
        "max_size": megabytes(settings.max_body_bytes),
        "error": "",
        "summary": None,
    }
    return page(request, "batch.html", {**base, **context}, status, active="batch")


@router.get("/batch", name="ui_batch", response_class=HTMLResponse)
def ui_batch(request: Request, settings: SettingsDep) -> HTMLResponse:
    return batch_page(request, settings)


@router.post("/batch", name="ui_batch_score", response_class=HTMLResponse)
async def ui_batch_score(request: Request, service: ServiceDep, settings: SettingsDep) -> HTMLResponse:
    try:
        filename, results = await scored_upload(request, service, settings)
    except UploadError as e:
        return batch_page(request, settings, e.status, error=e.message)
    return batch_page(request, settings, summary=batch_summary(service, filename, results))


@router.post("/batch.csv", name="ui_batch_csv", response_model=None)
async def ui_batch_csv(request: Request, service: ServiceDep, settings: SettingsDep) -> Response:
    """The same upload answered with the scored CSV itself, for the form's download button."""
    try:
        filename, results = await scored_upload(request, service, settings)
    except UploadError as e:
        return batch_page(request, settings, e.status, error=e.message)
    return PlainTextResponse(
        write_csv(results),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(filename)}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/batch.csv", name="ui_batch_csv_get", response_model=None)
def ui_batch_csv_get(request: Request) -> RedirectResponse:
    """A bookmarked or reloaded download URL: back to the upload page rather than an error."""
    return RedirectResponse(url_path(request, "ui_batch"), status_code=303)


@router.get("/batch/template.csv", name="ui_batch_template")
def ui_batch_template(service: ServiceDep) -> PlainTextResponse:
    """A CSV with the expected header and one typical applicant, to fill in."""
    values = default_values(service.scorer.manifest)
    text = ",".join(FEATURES) + "\n" + ",".join(values[n] for n in FEATURES) + "\n"
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="applicants-template.csv"'},
    )
