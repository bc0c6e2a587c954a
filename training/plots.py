"""The model card's pictures, as PNG files next to the bundle (matplotlib, no display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.patches import Patch

from lambda_app.core.model_metrics import Regression
from lambda_app.core.schema import SPECS
from training.residuals import ranges

PREDICTED_VS_ACTUAL = "predicted_vs_actual.png"
RESIDUALS_BY_SCORE = "residuals_by_score.png"
FEATURE_IMPORTANCE = "feature_importance.png"
SCORE_BY_GROUP = "score_by_group.png"

_DPI = 110
_BLUE = "#2b6cb0"
_ORANGE = "#dd6b20"
_GREY = "#718096"


def _save(fig: Any, path: Path, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Path:
    fig.tight_layout(rect=rect)
    # No timestamp in the file, so the same data draws the same bytes.
    fig.savefig(path, dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return path


def predicted_vs_actual(actual: Any, predicted: Any, metrics: Regression, path: Path) -> Path:
    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 6.2))
    lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    hb = ax.hexbin(y, p, gridsize=55, extent=(lo, hi, lo, hi), mincnt=1, cmap="Blues", norm=LogNorm())
    fig.colorbar(hb, ax=ax, label="applicants per cell")
    ax.plot([lo, hi], [lo, hi], color=_ORANGE, lw=1.5, label="perfect prediction")
    names, order = ranges(y, [float(x) for x in np.arange(np.ceil(lo / 4) * 4, hi, 4)])
    centres = [float(np.median(y[names == n])) for n in order if np.any(names == n)]
    means = [float(np.mean(p[names == n])) for n in order if np.any(names == n)]
    ax.plot(centres, means, color="black", lw=1.8, marker="o", ms=3.5, label="mean prediction per actual range")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("actual risk score")
    ax.set_ylabel("predicted risk score (out-of-fold)")
    ax.set_title(
        f"Predicted vs actual, applicants unseen by the model\n"
        f"R\u00b2 {metrics.r2:.3f}   MAE {metrics.mae:.2f}   RMSE {metrics.rmse:.2f}   ({metrics.rows:,} rows)"
    )
    ax.legend(loc="upper left", frameon=True)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def residuals_by_score(
    actual: Any, predicted: Any, edges: Sequence[float], band_cuts: Sequence[float], path: Path
) -> Path:
    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    residual = y - p
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, by, title in (
        (axes[0], p, "by predicted score (what a user sees)"),
        (axes[1], y, "by actual score"),
    ):
        names, order = ranges(by, edges)
        groups = [(n, residual[names == n]) for n in order if np.sum(names == n) > 0]
        ax.boxplot(
            [g for _, g in groups],
            tick_labels=[f"{n}\n({len(g):,})" for n, g in groups],
            whis=(5, 95),
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#bee3f8", "edgecolor": _BLUE},
            medianprops={"color": _BLUE},
        )
        ax.plot(range(1, len(groups) + 1), [float(g.mean()) for _, g in groups], "o-", color=_ORANGE, label="mean")
        ax.axhline(0, color="black", lw=1)
        ax.set_title(f"Residual {title}")
        ax.set_xlabel("score range (applicants)")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("actual - predicted (score points)")
    axes[0].legend(loc="upper left")
    cuts = ", ".join(f"{c:g}" for c in band_cuts)
    fig.suptitle(f"Residuals by score range (boxes: quartiles, whiskers: 5th-95th percentile; band cuts at {cuts})")
    return _save(fig, path)


def feature_importance(importance: Mapping[str, float], path: Path) -> Path:
    items = list(importance.items())[::-1]
    fig, ax = plt.subplots(figsize=(8, 8.5))
    colors = [_ORANGE if SPECS[f].protected else _BLUE for f, _ in items]
    ax.barh([SPECS[f].description for f, _ in items], [v for _, v in items], color=colors)
    ax.set_xlabel("mean |contribution| to the score (points)")
    ax.set_title("What drives the score: importance of each application field", loc="right")
    fig.text(
        0.99,
        0.005,
        "SHAP values; derived ratios and the approval index are attributed to the fields they are computed from",
        ha="right",
        va="bottom",
        fontsize=8,
        color=_GREY,
    )
    ax.legend(
        handles=[Patch(color=_BLUE, label="field"), Patch(color=_ORANGE, label="protected (ECOA)")],
        loc="lower right",
    )
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=9)
    return _save(fig, path, rect=(0, 0.02, 1, 1))


def score_by_group(groups: Mapping[str, tuple[Any, Sequence[str]]], scores: Any, top_cut: float, path: Path) -> Path:
    """Score distribution per group of each protected attribute ({attribute: (labels, order)})."""
    s = np.asarray(scores, dtype=float)
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.8), sharey=True)
    for ax, (attribute, (labels, order)) in zip(np.atleast_1d(axes), groups.items(), strict=True):
        g = np.asarray(labels, dtype=object)
        present = [o for o in order if np.any(g == o)]
        data = [s[g == o] for o in present]
        ax.boxplot(
            data,
            tick_labels=[f"{o}\n({len(d):,})" for o, d in zip(present, data, strict=True)],
            whis=(5, 95),
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#bee3f8", "edgecolor": _BLUE},
            medianprops={"color": _BLUE},
        )
        ax.plot(range(1, len(data) + 1), [float(d.mean()) for d in data], "o", color=_ORANGE, label="mean")
        ax.axhline(top_cut, color=_GREY, ls="--", lw=1, label=f"highest-risk band from {top_cut:g}")
        ax.set_title(f"Out-of-fold score by {attribute}")
        ax.grid(axis="y", alpha=0.3)
    first = np.atleast_1d(axes)[0]
    first.set_ylabel("predicted risk score")
    handles, labels = first.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, frameon=False)
    return _save(fig, path, rect=(0, 0, 1, 0.93))
