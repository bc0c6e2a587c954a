"""The loan officer's web pages: one applicant's form and result, a CSV batch, the model.

Server-rendered from the same schema and scorer as the API, with no JavaScript: every
page works with a keyboard and a screen reader, and every input is validated here (the
browser's own checks are only hints). Nothing is stored between requests, so the pages
work the same on Lambda as on ECS. Every URL is built from the request's root path so
the pages work under an API Gateway stage prefix.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Scope

from lambda_app.api.dependencies import get_app_settings, get_scorer
from lambda_app.core.batch import (
    CsvError,
    FieldError,
    Scored,
    TooManyRows,
    read_csv,
    score_rows,
    validate_strings,
    write_csv,
)
from lambda_app.core.bundle import Band, BundleError, Manifest
from lambda_app.core.model_source import local_path
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES, FIELDS, SPECS, FieldSpec
from lambda_app.core.scoring import Explanation, Scorer, format_value
from lambda_app.settings import Settings
from lambda_app.web.charts import BarChart, Strip, band_tone, contribution_chart, distribution_strip, signed

router = APIRouter(include_in_schema=False)

ScorerDep = Annotated[Scorer, Depends(get_scorer)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]

# A form post is ~2 kB; anything near this is not a person filling in the form.
FORM_MAX_BYTES = 64 * 1024
ERRORS_SHOWN = 100
# Contributions shown at one decimal: smaller ones would read as 0.0 points.
NOTICEABLE = 0.05
# Plot files the model page serves: plain names only, so a request can never name a path.
PLOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.png")
MODEL_CARD = "model_card.md"
# No scripts at all; inline styles and inline SVG only; forms post only back here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages carry applicants' personal data: keep them out of shared caches and history.
    "Cache-Control": "no-store",
}


def number(x: float | int | None) -> str:
    """A bound or value as a person reads it: 1,000,000 and 0.25, never 1e+06 or 1.0."""
    if x is None:
        return ""
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.6f}".rstrip("0").rstrip(".")
    return f"{int(x):,}"


def when(iso: str) -> str:
    """An ISO timestamp as people write it, in UTC; left as it is if it is not one."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if t.tzinfo else f"{t:%Y-%m-%d %H:%M}"


def input_value(value: Any) -> str:
    """A default as the text an <input> holds (no thousands separators: the server parses it)."""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return str(value)


def url_path(request: Request, name: str, /, **params: Any) -> str:
    """A root-relative URL that keeps the mount prefix (e.g. an API Gateway stage), and no
    scheme or host, which behind a TLS-terminating proxy could come out wrong."""
    return str(request.scope.get("root_path", "")) + str(request.app.url_path_for(name, **params))


@jinja2.pass_context
def path_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    return url_path(context["request"], name, **params)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a template typo fails the tests instead of rendering blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["path_for"] = path_for
    env.filters["num"] = number
    env.filters["signed"] = signed
    env.filters["when"] = when
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, active: str = ""
) -> HTMLResponse:
    scorer: Scorer = request.app.state.scorer
    full = {"version": scorer.version, "active": active, **context}
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", {"title": title, "message": message}, status_code)


# ---------------------------------------------------------------- form fields


def is_flag(spec: FieldSpec) -> bool:
    return spec.kind == "int" and spec.minimum == 0 and spec.maximum == 1


@dataclass(frozen=True)
class FormField:
    spec: FieldSpec
    value: str
    error: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def control(self) -> str:
        return "select" if self.spec.kind == "category" or is_flag(self.spec) else "number"

    @property
    def options(self) -> list[tuple[str, str]]:
        if is_flag(self.spec):
            return [("0", "0 \u2014 no"), ("1", "1 \u2014 yes")]
        return [(c, c) for c in self.spec.choices]

    @property
    def min(self) -> str:
        return "" if self.spec.minimum is None else input_value(self.spec.minimum)

    @property
    def max(self) -> str:
        return "" if self.spec.maximum is None else input_value(self.spec.maximum)

    @property
    def step(self) -> str:
        return "1" if self.spec.kind == "int" else "any"

    @property
    def hint(self) -> str:
        spec = self.spec
        if spec.kind == "category":
            return f"One of {len(spec.choices)} choices"
        if is_flag(spec):
            return "Yes or no"
        bounds = f"{number(spec.minimum)} to {number(spec.maximum)}"
        return f"{bounds} \u00b7 {spec.unit}" if spec.unit else bounds


def form_fields(values: Mapping[str, str], errors: Mapping[str, str] | None = None) -> list[FormField]:
    errors = errors or {}
    return [FormField(spec, values.get(spec.name, ""), errors.get(spec.name, "")) for spec in FIELDS]


def default_values(manifest: Manifest) -> dict[str, str]:
    """The training data's typical applicant, or the schema's example for an older bundle."""
    source = {**EXAMPLE_APPLICANT, **manifest.typical_applicant}
    return {name: input_value(source[name]) for name in FEATURES if name in source}


def submitted_values(form: FormData) -> dict[str, str]:
    """The schema's fields from a post, as text; anything else posted is ignored."""
    values = {}
    for name in FEATURES:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def field_messages(values: Mapping[str, str], errors: Sequence[FieldError]) -> dict[str, str]:
    """One message per field at fault."""
    messages: dict[str, str] = {}
    for e in errors:
        name = e.field.split(".")[0]
        if name in SPECS and name not in messages:
            messages[name] = officer_message(SPECS[name], values.get(name, ""), e.message)
    return messages


def officer_message(spec: FieldSpec, raw: str, parser_message: str) -> str:
    """What to do about a bad value, in the officer's words rather than the parser's; the
    parser's own message when none of the usual mistakes explains it."""
    choose = spec.kind == "category" or is_flag(spec)
    if raw == "":
        return "Choose an option" if choose else "Enter a value"
    if choose:
        return "Choose one of the options"
    whole = spec.kind == "int"
    wanted = "a whole number" if whole else "a number"
    try:
        x = float(raw)
    except ValueError:
        return f"Enter {wanted}, without commas, spaces or units"
    if not math.isfinite(x) or (whole and not x.is_integer()):
        return f"Enter {wanted}"
    if (spec.minimum is not None and x < spec.minimum) or (spec.maximum is not None and x > spec.maximum):
        return f"Enter {wanted} from {number(spec.minimum)} to {number(spec.maximum)}"
    return parser_message


# ---------------------------------------------------------------- request bodies


class BodyTooLarge(Exception):
    pass


class BadForm(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`: from Content-Length before
    reading anything, else while streaming, so an oversized upload is never held whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    except HTTPException as e:  # the app-wide limit, cutting off a body sent without a length
        if e.status_code == 413:
            raise BodyTooLarge from None
        raise
    return b"".join(chunks)


def too_large_page(scope: Scope) -> ASGIApp | None:
    """The app-wide body limit's answer when a post to one of these pages is too large: this
    service's page with the reason, where an API client gets a problem document."""
    route = next((r for r in router.routes if isinstance(r, APIRoute) and r.matches(scope)[0] is Match.FULL), None)
    if route is None:
        return None
    request = Request(scope)
    settings: Settings = request.app.state.settings
    if route.name in ("ui_batch_score", "ui_batch_csv"):
        return batch_page(request, settings, 413, error=file_too_large(settings))
    return error_page(request, 413, "Form too large", f"A form post is limited to {FORM_MAX_BYTES // 1024} kB.")


def file_too_large(settings: Settings) -> str:
    return f"The file is larger than the limit of {megabytes(settings.max_body_bytes)}. Split it into smaller files."


async def read_form(request: Request, limit: int, max_files: int) -> FormData:
    body = await read_body(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=max_files, max_fields=len(FIELDS) + 20)
    except (HTTPException, MultiPartException, ValueError) as e:  # a malformed multipart or urlencoded body
        raise BadForm(str(getattr(e, "detail", e))) from None


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


# ---------------------------------------------------------------- single applicant


@dataclass(frozen=True)
class BandView:
    name: str
    tone: int
    lower: float | None
    upper: float | None
    share: float | None  # % of training applicants in the band


@dataclass(frozen=True)
class ResultView:
    score: float
    band: str
    tone: int
    percentile: float | None
    strip: Strip
    explanation: Explanation
    chart: BarChart
    protected_shown: bool


def band_views(scorer: Scorer) -> list[BandView]:
    bands: list[Band] = scorer.manifest.bands
    views = []
    for i, b in enumerate(bands):
        lo = 0.0 if b.lower is None else scorer.percentile(b.lower)
        hi = 100.0 if b.upper is None else scorer.percentile(b.upper)
        share = None if math.isnan(lo) or math.isnan(hi) else round(hi - lo, 1)
        views.append(BandView(b.name, band_tone(i, len(bands)), b.lower, b.upper, share))
    return views


def tone_of(scorer: Scorer, band: str) -> int:
    names = [b.name for b in scorer.manifest.bands]
    return band_tone(names.index(band), len(names)) if band in names else 0


def value_text(feature: str, value: Any) -> str:
    spec = SPECS.get(feature)
    if spec is not None and is_flag(spec):
        return "yes" if value else "no"
    return format_value(feature, value)


def reason_rows(explanation: Explanation) -> list[tuple[str, float, bool, str]]:
    rows = [
        (f"{r.label}: {value_text(r.feature, r.value)}", r.contribution, r.protected, kind)
        for kind, reasons in (("raised", explanation.raised), ("lowered", explanation.lowered))
        for r in reasons
    ]
    if abs(explanation.other) >= NOTICEABLE:
        rows.append(("All other fields together", explanation.other, False, "other"))
    return rows


def noticeable(explanation: Explanation, threshold: float = NOTICEABLE) -> Explanation:
    """The explanation without reasons too small to show at one decimal ("raised the score
    by 0.0 points"); their contributions join `other`, so the parts still add up."""
    raised = [r for r in explanation.raised if abs(r.contribution) >= threshold]
    lowered = [r for r in explanation.lowered if abs(r.contribution) >= threshold]
    dropped = sum(r.contribution for r in explanation.raised + explanation.lowered if abs(r.contribution) < threshold)
    return replace(explanation, raised=raised, lowered=lowered, other=round(explanation.other + dropped, 4))


def result_view(scorer: Scorer, applicant: Mapping[str, Any]) -> ResultView:
    [score] = scorer.score([applicant])
    explanation = noticeable(scorer.explain([applicant])[0])
    band = scorer.band(score)
    pct = scorer.percentile(score)
    shown = explanation.raised + explanation.lowered
    return ResultView(
        score=score,
        band=band,
        tone=tone_of(scorer, band),
        percentile=None if math.isnan(pct) else pct,
        strip=distribution_strip(scorer.manifest.bands, scorer.percentile, pct),
        explanation=explanation,
        chart=contribution_chart(reason_rows(explanation)),
        protected_shown=any(r.protected for r in shown),
    )


def form_page(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], result: ResultView | None, status: int
) -> HTMLResponse:
    context = {
        "fields": form_fields(values, errors),
        "errors": errors,
        "result": result,
        "bands": band_views(request.app.state.scorer),
        "protected_labels": [spec.description for spec in FIELDS if spec.protected],
    }
    return page(request, "form.html", context, status, active="form")


@router.get("/", name="ui_form", response_class=HTMLResponse)
def ui_form(request: Request, scorer: ScorerDep) -> HTMLResponse:
    return form_page(request, default_values(scorer.manifest), {}, None, 200)


@router.post("/", name="ui_score", response_class=HTMLResponse)
async def ui_score(request: Request, scorer: ScorerDep) -> HTMLResponse:
    try:
        form = await read_form(request, FORM_MAX_BYTES, max_files=0)
    except BodyTooLarge:
        return error_page(request, 413, "Form too large", f"A form post is limited to {FORM_MAX_BYTES // 1024} kB.")
    except BadForm:
        return error_page(request, 400, "Unreadable form", "The form data could not be read. Go back and try again.")
    values = submitted_values(form)
    [row] = validate_strings([values])
    if row.applicant is None:
        return form_page(request, values, field_messages(values, row.errors), None, 422)
    # The model's work runs off the event loop, as the API's does, so pages never stall other requests.
    result = await run_in_threadpool(result_view, scorer, row.applicant)
    return form_page(request, values, {}, result, 200)


# ---------------------------------------------------------------- batch


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


def download_name(filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename or "applicants").stem).strip(".-")[:60]
    return f"scored-{stem or 'applicants'}.csv"


def csv_data_url(text: str) -> str:
    # The scored file travels inside the summary page itself: nothing is kept on the server.
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode()).decode("ascii")


def batch_summary(scorer: Scorer, filename: str, results: Sequence[Scored]) -> BatchSummary:
    counts = Counter(r.risk_band for r in results if r.risk_band is not None)
    scored = sum(counts.values())
    bands = [
        BandCount(
            b.name, b.tone, counts.get(b.name, 0), round(100.0 * counts.get(b.name, 0) / scored, 1) if scored else 0.0
        )
        for b in band_views(scorer)
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


async def scored_upload(request: Request, scorer: Scorer, settings: Settings) -> tuple[str, list[Scored]]:
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
    return upload.filename, await run_in_threadpool(score_rows, scorer, rows)


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
async def ui_batch_score(request: Request, scorer: ScorerDep, settings: SettingsDep) -> HTMLResponse:
    try:
        filename, results = await scored_upload(request, scorer, settings)
    except UploadError as e:
        return batch_page(request, settings, e.status, error=e.message)
    return batch_page(request, settings, summary=batch_summary(scorer, filename, results))


@router.post("/batch.csv", name="ui_batch_csv", response_model=None)
async def ui_batch_csv(request: Request, scorer: ScorerDep, settings: SettingsDep) -> Response:
    """The same upload answered with the scored CSV itself, for the form's download button."""
    try:
        filename, results = await scored_upload(request, scorer, settings)
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
def ui_batch_template(scorer: ScorerDep) -> PlainTextResponse:
    """A CSV with the expected header and one typical applicant, to fill in."""
    values = default_values(scorer.manifest)
    text = ",".join(FEATURES) + "\n" + ",".join(values[n] for n in FEATURES) + "\n"
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="applicants-template.csv"'},
    )


# ---------------------------------------------------------------- model


def bundle_directory(settings: Settings) -> Path | None:
    """The served bundle's local directory (an S3 bundle's cache, which holds its plots too)."""
    try:
        directory = local_path(settings.model_uri, settings.model_cache_dir)
    except BundleError:
        return None
    return directory if directory.is_dir() else None


def plot_files(directory: Path | None) -> dict[str, Path]:
    """The bundle's plots by name: the only files the plot route will serve."""
    if directory is None:
        return {}
    return {
        p.name: p
        for p in sorted(directory.glob("*.png"))
        if PLOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    }


IMAGE_REF = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def plot_captions(card: str) -> dict[str, str]:
    """Alt texts the model card gives its images (`![alt](file.png)`), by file name."""
    return {Path(src).name: alt.strip() for alt, src in IMAGE_REF.findall(card) if alt.strip()}


def caption_from_name(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").capitalize()


@dataclass(frozen=True)
class Plot:
    name: str
    caption: str


def model_plots(directory: Path | None) -> tuple[list[Plot], bool]:
    """The plots (in the card's order, then by name) and whether there is a model card."""
    files = plot_files(directory)
    card_path = directory / MODEL_CARD if directory else None
    has_card = card_path is not None and card_path.is_file()
    captions = plot_captions(card_path.read_text(errors="replace")) if has_card and card_path else {}
    order = [n for n in captions if n in files] + [n for n in files if n not in captions]
    return [Plot(n, captions.get(n) or caption_from_name(n)) for n in order], has_card


METRIC_NAMES = {
    "r2": "R\u00b2 (share of score variance explained)",
    "mae": "Mean absolute error (score points)",
    "rmse": "Root mean squared error (score points)",
    "rows": "Rows",
    "holdout": "Hold-out set (not trained on)",
    "holdout_share": "Share of data held out",
    "train_fit": "Training data (fit)",
    # training/train.py: cross-validation, the approval index, the cost of excluding fields
    "cv": "Cross-validation (mean \u00b1 std over folds)",
    "folds": "Folds",
    "method": "Method",
    "approval_index": "Approval index",
    "auc_in_sample": "AUC on its training rows",
    "auc_out_of_fold": "AUC on unseen applicants",
    "exclusion_comparison": "Cost of excluding fields (same folds)",
    "r2_with": "R\u00b2 with them",
    "r2_without": "R\u00b2 without them",
    "r2_difference": "R\u00b2 difference (without - with)",
    "mae_with": "MAE with them",
    "mae_without": "MAE without them",
    "mae_difference": "MAE difference (without - with)",
    "rmse_with": "RMSE with them",
    "rmse_without": "RMSE without them",
    "rmse_difference": "RMSE difference (without - with)",
}


def metric_groups(metrics: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Metrics as titled groups of (name, value) rows; top-level scalars form the first group."""
    general = [(METRIC_NAMES.get(k, k), metric_text(v)) for k, v in metrics.items() if not isinstance(v, Mapping)]
    groups = [("General", general)] if general else []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            rows = [(METRIC_NAMES.get(str(k), str(k)), metric_text(v)) for k, v in value.items()]
            groups.append((METRIC_NAMES.get(key, key), rows))
    return groups


def metric_text(value: Any) -> str:
    if isinstance(value, Mapping) and {"mean", "std"} <= set(value):
        return f"{metric_text(value['mean'])} \u00b1 {metric_text(value['std'])}"
    if isinstance(value, list | tuple):
        return ", ".join(metric_text(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return number(round(value, 4) if isinstance(value, float) else value)


@router.get("/model", name="ui_model", response_class=HTMLResponse)
def ui_model(request: Request, scorer: ScorerDep, settings: SettingsDep) -> HTMLResponse:
    plots, has_card = model_plots(bundle_directory(settings))
    context = {
        "manifest": scorer.manifest,
        "metrics": metric_groups(scorer.manifest.metrics),
        "bands": band_views(scorer),
        "plots": plots,
        "has_card": has_card,
    }
    return page(request, "model.html", context, active="model")


@router.get("/model/plots/{name}", name="ui_plot", response_model=None)
def ui_plot(request: Request, name: str, settings: SettingsDep) -> Response:
    # Looked up among the files actually listed, never joined onto a path.
    path = plot_files(bundle_directory(settings)).get(name)
    if path is None:
        return error_page(request, 404, "No such plot", "This model bundle has no plot of that name.")
    return FileResponse(path, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})


@router.get("/model/card.md", name="ui_model_card", response_model=None)
def ui_model_card(request: Request, settings: SettingsDep) -> Response:
    directory = bundle_directory(settings)
    card = directory / MODEL_CARD if directory else None
    if card is None or not card.is_file():
        return error_page(request, 404, "No model card", "This model bundle has no model card.")
    return PlainTextResponse(card.read_text(errors="replace"), media_type="text/plain; charset=utf-8")
