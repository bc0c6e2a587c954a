"""The model page: version, training data, metrics, bands, the model card and its plots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from lambda_app.api.dependencies import get_app_settings, get_service
from lambda_app.core.bundle import BundleError
from lambda_app.core.model_metrics import titles
from lambda_app.core.model_source import local_path
from lambda_app.core.text import number
from lambda_app.service import ScoringService
from lambda_app.settings import Settings
from lambda_app.web.bands import band_views
from lambda_app.web.rendering import error_page, page

router = APIRouter(include_in_schema=False)

ServiceDep = Annotated[ScoringService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


PLOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.png")
MODEL_CARD = "model_card.md"


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


# The label of every metric key: the titles of the manifest's metric models.
METRIC_NAMES = titles()


def metric_groups(metrics: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Metrics (as `Metrics.shown()` gives them) as titled groups of (name, value) rows; top-level
    scalars form the first group. Keys without a title keep their name, so nothing is hidden."""
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
def ui_model(request: Request, service: ServiceDep, settings: SettingsDep) -> HTMLResponse:
    plots, has_card = model_plots(bundle_directory(settings))
    context = {
        "manifest": service.scorer.manifest,
        "challenger": service.challenger.manifest if service.challenger else None,
        "metrics": metric_groups(service.scorer.manifest.metrics.shown()),
        "bands": band_views(service.scorer),
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
