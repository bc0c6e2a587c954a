"""The single-applicant page: the form, its result, the reasons chart."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from lambda_app.api.dependencies import get_service
from lambda_app.core.batch import (
    validate_strings,
)
from lambda_app.core.explanation import Explanation
from lambda_app.core.schema import FIELDS, SPECS
from lambda_app.core.text import reason_value
from lambda_app.middleware.body_limit import BodyTooLarge
from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.service import ScoringService
from lambda_app.web.bands import band_views, tone_of
from lambda_app.web.charts import BarChart, Strip, contribution_chart, distribution_strip
from lambda_app.web.forms import (
    default_values,
    field_messages,
    form_fields,
    is_flag,
    submitted_values,
)
from lambda_app.web.rendering import error_page, page
from lambda_app.web.uploads import FORM_MAX_BYTES, BadForm, read_form

router = APIRouter(include_in_schema=False)

ServiceDep = Annotated[ScoringService, Depends(get_service)]


# Contributions shown at one decimal: smaller ones would read as 0.0 points.
NOTICEABLE = 0.05


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
    decision_id: str | None = None


def value_text(feature: str, value: Any) -> str:
    spec = SPECS.get(feature)
    if spec is not None and is_flag(spec):
        return "yes" if value else "no"
    return reason_value(value)


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


def result_view(service: ScoringService, applicant: Mapping[str, Any]) -> ResultView:
    scorer = service.scorer
    decision = service.score_now(applicant, explain=True)
    assert decision.explanation is not None
    explanation = noticeable(decision.explanation)
    band, pct = decision.risk_band, decision.percentile
    shown = explanation.raised + explanation.lowered
    return ResultView(
        score=decision.risk_score,
        band=band,
        tone=tone_of(scorer, band),
        percentile=None if math.isnan(pct) else pct,
        strip=distribution_strip(scorer.manifest.bands, scorer.percentile, pct),
        explanation=explanation,
        chart=contribution_chart(reason_rows(explanation)),
        protected_shown=any(r.protected for r in shown),
        decision_id=decision.decision_id,
    )


def form_page(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], result: ResultView | None, status: int
) -> HTMLResponse:
    context = {
        "fields": form_fields(values, errors),
        "errors": errors,
        "result": result,
        "bands": band_views(request.app.state.service.scorer),
        "protected_labels": [spec.description for spec in FIELDS if spec.protected],
    }
    return page(request, "form.html", context, status, active="form")


@router.get("/", name="ui_form", response_class=HTMLResponse)
def ui_form(request: Request, service: ServiceDep) -> HTMLResponse:
    return form_page(request, default_values(service.scorer.manifest), {}, None, 200)


@router.post("/", name="ui_score", response_class=HTMLResponse)
async def ui_score(request: Request, service: ServiceDep) -> HTMLResponse:
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
    try:
        result = await run_in_threadpool(result_view, service, row.applicant)
    except RecordsUnavailable as e:
        return error_page(request, 503, "Not scored", f"{e} Try again in a few seconds.")
    return form_page(request, values, {}, result, 200)
