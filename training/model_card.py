"""The model card: what the model is for, how good it is on unseen applicants, where it
errs and how it treats protected groups. Rendering only: report.py gathers the facts.

The text is in templates/model_card.md.j2; the functions here turn the facts into the
template's table rows and phrases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from lambda_app.core.approval import INDEX
from lambda_app.core.bundle import Band, Manifest
from lambda_app.core.features import DERIVED_BY_NAME
from lambda_app.core.model_metrics import ApprovalIndexStatus, MeanStd, Regression
from lambda_app.core.schema import SPECS
from training.fairness import FOUR_FIFTHS, SMD_FLAG, GroupFigures, findings
from training.residuals import ErrorAnalysis, Slice

MODEL_CARD = "model_card.md"
TEMPLATE = "model_card.md.j2"
# The model this one replaces, as published: measured on 4,000 applicants it had not seen.
PUBLISHED = Regression(r2=0.7995, mae=2.84, rmse=3.53, rows=4000)
TOP_FIELDS = 12  # fields listed under "What drives the score"
PROTECTED_SHOWN = ("MaritalStatus", "Age")


@dataclass(frozen=True)
class CardFacts:
    manifest: Manifest
    errors: ErrorAnalysis
    fairness: Mapping[str, list[GroupFigures]]  # attribute -> groups
    importance: Mapping[str, float]
    band_shares: Mapping[str, float]
    target_summary: Mapping[str, float]
    seconds: float
    plots: Mapping[str, str]  # what -> file name


Row = list[str]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def plus_minus(spread: MeanStd, digits: int) -> str:
    return f"{spread.mean:.{digits}f} ± {spread.std:.{digits}f}"


def _fit_row(name: str, fit: Regression) -> Row:
    return [name, f"{fit.r2:.4f}", f"{fit.mae:.3f}", f"{fit.rmse:.3f}", f"{fit.rows:,}"]


def performance_rows(m: Manifest) -> list[Row]:
    cv = m.metrics.cv
    return [
        [
            f"{cv.folds}-fold CV, mean ± std over folds (ddof=1)",
            plus_minus(cv.r2, 4),
            plus_minus(cv.mae, 3),
            plus_minus(cv.rmse, 3),
            f"{m.data.rows:,}",
        ],
        _fit_row("out-of-fold, all rows pooled", m.metrics.holdout),
        # As published: the figures' own precision.
        [
            "published model (4,000 unseen applicants)",
            str(PUBLISHED.r2),
            str(PUBLISHED.mae),
            str(PUBLISHED.rmse),
            f"{PUBLISHED.rows:,}",
        ],
        _fit_row("fit on its own training rows (not an estimate)", m.metrics.train_fit),
    ]


def band_rows(bands: Sequence[Band], shares: Mapping[str, float]) -> list[Row]:
    def edge(x: float | None) -> str:
        return "" if x is None else str(x)

    return [[b.name, edge(b.lower), edge(b.upper), f"{shares[b.name]:.1%}"] for b in bands]


def slice_rows(rows: Sequence[Slice]) -> list[Row]:
    return [
        [s.name, f"{s.rows:,}", f"{s.share:.1%}", f"{s.mean_residual:+.2f}", f"{s.mae:.2f}", f"{s.worst_share:.1%}"]
        for s in rows
    ]


def importance_rows(importance: Mapping[str, float], top: int = TOP_FIELDS) -> list[Row]:
    return [[f"{SPECS[k].description} (`{k}`)", f"{v:.2f}"] for k, v in list(importance.items())[:top]]


def group_rows(groups: Sequence[GroupFigures]) -> list[Row]:
    return [
        [
            g.group,
            f"{g.rows:,}",
            f"{g.mean_score:.2f}",
            f"{g.mean_actual:.2f}",
            f"{g.gap:+.2f}",
            f"{g.top_band_share:.1%}",
            f"{g.favourable_ratio:.3f}",
            "n/a" if g.adverse_ratio is None else f"{g.adverse_ratio:.2f}",
            f"{g.smd:+.3f}",
            ", ".join(g.flags) or "-",
        ]
        for g in groups
    ]


def grid_shares(status: ApprovalIndexStatus) -> dict[str, float]:
    """Share of targets on each of the target's grids (training/approval.py)."""
    rows = max(status.rows, 1)
    return {
        "not_approved": status.not_approved_rows / rows,
        "approved": status.approved_rows / rows,
        "ambiguous": status.ambiguous_rows / rows,
        "off_grid": status.off_grid_rows / rows,
    }


def parameters(m: Manifest) -> str:
    return ", ".join(f"{k}={v}" for k, v in m.params.items() if k != "monotone_constraints")


def derived_ratios(m: Manifest) -> list[str]:
    return [f"{DERIVED_BY_NAME[c].label.lower()} (`{c}`)" for c in m.features if c in DERIVED_BY_NAME]


def constraint_list(m: Manifest) -> str:
    constraints: Mapping[str, int] = m.params.get("monotone_constraints") or {}
    return ", ".join(f"`{k}` {'+' if v > 0 else '-'}" for k, v in constraints.items())


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("training", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters.update(
        fixed=lambda x, digits: f"{x:.{digits}f}",
        signed=lambda x, digits: f"{x:+.{digits}f}",
        count=lambda n: f"{n:,}",
        percent=lambda x: f"{x:.1%}",
        g=lambda x: f"{x:g}",
        pm=plus_minus,
    )
    env.globals.update(table=table, slice_rows=slice_rows)
    return env


_ENV = _environment()


def render(f: CardFacts) -> str:
    m = f.manifest
    return _ENV.get_template(TEMPLATE).render(
        m=m,
        cv=m.metrics.cv,
        holdout=m.metrics.holdout,
        index=m.metrics.approval_index,
        comparison=m.metrics.exclusion_comparison,
        published=PUBLISHED,
        target=f.target_summary,
        grid=grid_shares(m.metrics.approval_index),
        parameters=parameters(m),
        fields=len([c for c in m.features if c in SPECS]),
        ratios=derived_ratios(m),
        uses_index=INDEX in m.features,
        constraints=constraint_list(m),
        performance=performance_rows(m),
        bands=band_rows(m.bands, f.band_shares),
        errors=f.errors,
        importance=importance_rows(f.importance),
        top=m.bands[-1],
        four_fifths=FOUR_FIFTHS,
        smd_flag=SMD_FLAG,
        fairness_findings=[x for attribute, groups in f.fairness.items() for x in findings(attribute, groups)],
        fairness=[(attribute, group_rows(groups)) for attribute, groups in f.fairness.items()],
        protected_used=[p for p in PROTECTED_SHOWN if p in m.features],
        seconds=f.seconds,
        plots=f.plots,
    )
