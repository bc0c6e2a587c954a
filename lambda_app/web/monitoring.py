"""The /monitoring page: the latest stability report (MONITORING_REPORT_DIR/report.json, as
`loan-risk drift --out` or the scheduled job writes it), or word that there is none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from lambda_app.monitoring.report import REPORT_JSON, SCORE_PNG, bin_label, charted, field_png
from lambda_app.web.pages import PLOT_NAME, SettingsDep, error_page, page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class BinView:
    label: str
    reference: float  # %
    current: float  # %
    scale: float  # the variable's largest share (%): the bars' full width

    @property
    def reference_width(self) -> float:
        return 100 * self.reference / self.scale if self.scale else 0.0

    @property
    def current_width(self) -> float:
        return 100 * self.current / self.scale if self.scale else 0.0


@dataclass(frozen=True)
class VariableView:
    name: str
    psi: float | None
    status: str
    bins: list[BinView]
    png: str | None  # a chart file beside the report, when it has one


def report_directory(setting: str) -> Path | None:
    return Path(setting) if setting and Path(setting).is_dir() else None


def read_report(directory: Path | None) -> tuple[dict[str, Any] | None, str]:
    """The report, or None and why not."""
    if directory is None or not (directory / REPORT_JSON).is_file():
        return None, ""
    try:
        report: dict[str, Any] = json.loads((directory / REPORT_JSON).read_text())
        if not isinstance(report, dict) or report.get("report") != "loan-risk.stability/1":
            raise ValueError("not a stability report")
        return report, ""
    except (ValueError, OSError) as e:
        return None, f"The report in the monitoring directory cannot be read ({type(e).__name__})."


def png_files(directory: Path | None) -> dict[str, Path]:
    """The report's charts by name: the only files the chart route serves."""
    if directory is None:
        return {}
    return {
        p.name: p
        for p in sorted(directory.glob("*.png"))
        if PLOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    }


def variable_view(name: str, variable: dict[str, Any], png: str, pngs: dict[str, Path]) -> VariableView:
    scale = max((100 * max(b["reference"], b["current"]) for b in variable["bins"]), default=0.0)
    return VariableView(
        name=name,
        psi=variable["psi"],
        status=variable["status"],
        bins=[BinView(bin_label(b), 100 * b["reference"], 100 * b["current"], scale) for b in variable["bins"]],
        png=png if png in pngs else None,
    )


@router.get("/monitoring", name="ui_monitoring", response_class=HTMLResponse)
def ui_monitoring(request: Request, settings: SettingsDep) -> HTMLResponse:
    directory = report_directory(settings.monitoring_report_dir)
    report, problem = read_report(directory)
    context: dict[str, Any] = {"report": report, "problem": problem}
    if report is not None:
        pngs = png_files(directory)
        context["fields"] = sorted(report["fields"].items(), key=lambda kv: -(kv[1]["psi"] or 0))
        context["charts"] = [variable_view("Risk score", report["score"], SCORE_PNG, pngs)] + [
            variable_view(n, report["fields"][n], field_png(n), pngs) for n in charted(report)
        ]
    return page(request, "monitoring.html", context, active="monitoring")


@router.get("/monitoring/charts/{name}", name="ui_monitoring_chart", response_model=None)
def ui_monitoring_chart(request: Request, name: str, settings: SettingsDep) -> Response:
    # Looked up among the files listed, never joined onto a path.
    path = png_files(report_directory(settings.monitoring_report_dir)).get(name)
    if path is None:
        return error_page(request, 404, "No such chart", "The monitoring report has no chart of that name.")
    return FileResponse(path, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})
