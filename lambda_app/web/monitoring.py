"""The /monitoring page: the latest stability report (report.json, as `loan-risk drift --out`
or the scheduled job writes it) from MONITORING_REPORT_DIR, a directory or an s3:// prefix,
or word that there is none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from lambda_app.monitoring.report import REPORT_JSON, SCORE_PNG, bin_label, charted, field_png
from lambda_app.web.model import PLOT_NAME, SettingsDep
from lambda_app.web.rendering import error_page, page

router = APIRouter(include_in_schema=False)
STABILITY_REPORT = "loan-risk.stability/1"


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


class ReportSource:
    """Where the latest report lives: its JSON, and the chart files beside it."""

    def read(self, name: str) -> bytes | None:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def response(self, name: str) -> Response | None:
        raise NotImplementedError


class LocalReport(ReportSource):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path | None:
        # Only plain names, and only files: a request can never name a path.
        path = self.directory / name
        return path if path.is_file() and not path.is_symlink() else None

    def read(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path else None

    def has(self, name: str) -> bool:
        return self._path(name) is not None

    def response(self, name: str) -> Response | None:
        path = self._path(name)
        return (
            FileResponse(path, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"}) if path else None
        )


class S3Report(ReportSource):
    """A report in S3 (the scheduled job's `stability/latest/`): read with the function's role."""

    def __init__(self, uri: str) -> None:
        parsed = urlparse(uri)
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        import boto3  # only S3 users pay for importing boto3

        self.s3 = boto3.client("s3")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def read(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            body: bytes = self.s3.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return body

    def has(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError:
            return False
        return True

    def response(self, name: str) -> Response | None:
        body = self.read(name)
        return Response(body, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"}) if body else None


def report_source(setting: str) -> ReportSource | None:
    if setting.startswith("s3://"):
        return S3Report(setting)
    return LocalReport(Path(setting)) if setting and Path(setting).is_dir() else None


def read_report(source: ReportSource | None) -> tuple[dict[str, Any] | None, str]:
    """The report, or None and why not (nothing when there is simply none yet)."""
    if source is None:
        return None, ""
    try:
        data = source.read(REPORT_JSON)
        if data is None:
            return None, ""
        report = json.loads(data)
        if not isinstance(report, dict) or report.get("report") != STABILITY_REPORT:
            raise ValueError("not a stability report")
    except Exception as e:  # unreadable JSON, or S3 refusing: the page says so instead of failing
        return None, f"The report in the monitoring directory cannot be read ({type(e).__name__})."
    return report, ""


def variable_view(name: str, variable: dict[str, Any], png: str, source: ReportSource) -> VariableView:
    scale = max((100 * max(b["reference"], b["current"]) for b in variable["bins"]), default=0.0)
    return VariableView(
        name=name,
        psi=variable["psi"],
        status=variable["status"],
        bins=[BinView(bin_label(b), 100 * b["reference"], 100 * b["current"], scale) for b in variable["bins"]],
        png=png if source.has(png) else None,
    )


@router.get("/monitoring", name="ui_monitoring", response_class=HTMLResponse)
def ui_monitoring(request: Request, settings: SettingsDep) -> HTMLResponse:
    source = report_source(settings.monitoring_report_dir)
    report, problem = read_report(source)
    context: dict[str, Any] = {"report": report, "problem": problem}
    if report is not None and source is not None:
        context["fields"] = sorted(report["fields"].items(), key=lambda kv: -(kv[1]["psi"] or 0))
        context["charts"] = [variable_view("Risk score", report["score"], SCORE_PNG, source)] + [
            variable_view(n, report["fields"][n], field_png(n), source) for n in charted(report)
        ]
    return page(request, "monitoring.html", context, active="monitoring")


@router.get("/monitoring/charts/{name}", name="ui_monitoring_chart", response_model=None)
def ui_monitoring_chart(request: Request, name: str, settings: SettingsDep) -> Response:
    source = report_source(settings.monitoring_report_dir)
    found = (
        source.response(name) if source is not None and PLOT_NAME.fullmatch(name) and name.endswith(".png") else None
    )
    if found is None:
        return error_page(request, 404, "No such chart", "The monitoring report has no chart of that name.")
    return found
