"""Fitting the approval index (lambda_app.core.approval) on training rows.

The pseudo-label comes from the target's structure. In the public loan data the lender's
dropped LoanApproved flag multiplied a base score by 0.8, so:

- a target on the integer grid but not on the 0.8 x integer grid (e.g. 49) was not approved;
- a target on the 0.8 x integer grid but not on the integer grid (e.g. 41.6) was approved;
- a target on both grids (multiples of 4, e.g. 48 = 0.8 x 60) is ambiguous and left out of
  the fit. Approved and not-approved rows land there at similar rates (1 in 5 and 1 in 4),
  so leaving them out shifts little beyond the intercept, which the tree model does not
  care about.

Data without that structure (most targets on neither grid, or one class nearly absent) gets
no index: the stage is skipped and the manifest says why.

The logistic regression is fitted on standardised inputs with an L2 penalty (C as in
scikit-learn) by L-BFGS-B, whose bounds keep the weights of monotone fields on the side
that preserves the model's monotone guarantee through the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import rankdata

from lambda_app.core.approval import ApprovalIndex, Term, index_value, term_input
from lambda_app.core.features import derived_columns, with_derived
from lambda_app.core.model_metrics import ApprovalIndexStatus
from lambda_app.core.schema import CATEGORICAL, FEATURES, SPECS
from training.monotone import index_weight_sign

APPROVED_FACTOR = 0.8
GRID_TOLERANCE = 1e-6
MAX_OFF_GRID = 0.02  # share of targets on neither grid beyond which there is no such structure
MIN_CLASS_ROWS = 30
MIN_CLASS_SHARE = 0.02
C = 10.0

# Money amounts and ratios enter the index both as they are and as logs: approval rules
# tend to work in proportions (twice the income), which a log turns into a linear term.
LOG_INPUTS = (
    "AnnualIncome",
    "LoanAmount",
    "TotalAssets",
    "TotalLiabilities",
    "MonthlyLoanPayment",
    "MonthlyDebtPayments",
    "TotalDebtToIncomeRatio",
    "DebtToIncomeRatio",
    "LoanToIncome",
    "PaymentToIncome",
    "SavingsAccountBalance",
    "CheckingAccountBalance",
)


def approval_labels(target: Any) -> np.ndarray:
    """1 approved, 0 not approved, -1 unknown (on both grids or on neither)."""
    y = np.asarray(target, dtype=float)
    on_integer = np.isclose(y, np.round(y), rtol=0, atol=GRID_TOLERANCE)
    k = y / APPROVED_FACTOR
    on_scaled = np.isclose(k, np.round(k), rtol=0, atol=GRID_TOLERANCE)
    return np.where(on_scaled & ~on_integer, 1, np.where(on_integer & ~on_scaled, 0, -1))


def label_summary(target: Any) -> dict[str, Any]:
    y = np.asarray(target, dtype=float)
    labels = approval_labels(y)
    on_integer = np.isclose(y, np.round(y), rtol=0, atol=GRID_TOLERANCE)
    k = y / APPROVED_FACTOR
    on_scaled = np.isclose(k, np.round(k), rtol=0, atol=GRID_TOLERANCE)
    return {
        "rows": int(y.size),
        "approved_rows": int(np.sum(labels == 1)),
        "not_approved_rows": int(np.sum(labels == 0)),
        "ambiguous_rows": int(np.sum(on_integer & on_scaled)),
        "off_grid_rows": int(np.sum(~on_integer & ~on_scaled)),
    }


def skip_reason(summary: dict[str, Any]) -> str | None:
    """Why the data shows no approval structure, or None when it does."""
    rows = max(summary["rows"], 1)
    off = summary["off_grid_rows"] / rows
    if off > MAX_OFF_GRID:
        return (
            f"{off:.0%} of targets lie on neither the integer nor the {APPROVED_FACTOR} x integer grid, "
            "so approval cannot be read from the target"
        )
    labelled = summary["approved_rows"] + summary["not_approved_rows"]
    smaller = min(summary["approved_rows"], summary["not_approved_rows"])
    if smaller < max(MIN_CLASS_ROWS, MIN_CLASS_SHARE * labelled):
        return f"only {smaller} of {labelled} readable targets are in the smaller approval class"
    return None


@dataclass(frozen=True)
class Candidate:
    feature: str
    transform: Literal["linear", "log", "is"]
    level: str | None = None


def candidates(exclude: Iterable[str] = ()) -> list[Candidate]:
    """The index's possible terms: excluded fields, and derived features computed from
    them, take no part."""
    dropped = set(exclude)
    numeric = [f for f in FEATURES if f not in dropped and f not in CATEGORICAL]
    derived = derived_columns(dropped)
    available = set(numeric) | set(derived)
    out = [Candidate(c, "linear") for c in [*numeric, *derived]]
    out += [Candidate(c, "log") for c in LOG_INPUTS if c in available]
    for field in CATEGORICAL:
        if field not in dropped:
            # The first level is the reference; its effect is in the intercept.
            out += [Candidate(field, "is", level) for level in SPECS[field].choices[1:]]
    return out


@dataclass(frozen=True)
class IndexFit:
    index: ApprovalIndex | None
    status: ApprovalIndexStatus  # goes into the manifest's metrics


def fit_index(frame: pd.DataFrame, target: Any, exclude: Iterable[str] = (), monotone: bool = True) -> IndexFit:
    """The approval index fitted on these rows only (frame: the applicant fields)."""
    summary = label_summary(target)
    reason = skip_reason(summary)
    dropped = tuple(exclude)
    terms = [] if reason else _usable_terms(with_derived(frame), candidates(dropped))
    if reason is None and not terms:
        reason = "no input is left for it after the exclusions"
    if reason is not None:
        return IndexFit(None, ApprovalIndexStatus(status="skipped", reason=reason, **summary))

    labels = approval_labels(target)
    keep = labels >= 0
    values = with_derived(frame.loc[keep])
    design = np.column_stack([np.asarray(term_input(t, values[t.feature]), dtype=float) for t in terms])
    signs = [index_weight_sign(t.feature) if monotone and t.transform != "is" else 0 for t in terms]
    weights, intercept, converged = logistic_fit(design, labels[keep].astype(float), signs, C)

    fitted_terms = [
        t.model_copy(update={"weight": float(w), "mean": float(np.mean(design[:, j]))})
        for j, (t, w) in enumerate(zip(terms, weights, strict=True))
        if w != 0.0
    ]
    index = ApprovalIndex(intercept=float(intercept), terms=fitted_terms)
    scores = np.asarray(index_value(index, values), dtype=float)
    status = ApprovalIndexStatus(
        status="fitted",
        **summary,
        terms=len(fitted_terms),
        C=C,
        sign_constrained=monotone,
        converged=converged,
        auc_in_sample=round(auc(labels[keep], scores), 5),
    )
    return IndexFit(index.model_copy(update={"fit": status.model_dump(exclude_none=True)}), status)


def _usable_terms(values: pd.DataFrame, options: Sequence[Candidate]) -> list[Term]:
    """Terms with their clipping bounds from these rows; constant inputs are dropped."""
    out = []
    for c in options:
        column = values[c.feature]
        if c.transform == "is":
            lower = upper = None
            if not (column == c.level).any() or (column == c.level).all():
                continue
        else:
            x = column.to_numpy(dtype=float)
            positive = x[x > 0]
            if c.transform == "log" and positive.size == 0:
                continue
            lower = float(positive.min()) if c.transform == "log" else float(x.min())
            upper = float(x.max())
            if lower >= upper:
                continue
        out.append(Term(feature=c.feature, transform=c.transform, weight=0.0, level=c.level, lower=lower, upper=upper))
    return out


def logistic_fit(x: np.ndarray, y: np.ndarray, signs: Sequence[int], c: float) -> tuple[np.ndarray, float, bool]:
    """L2-penalised logistic regression (penalty |w|^2 / 2C on standardised inputs, the
    intercept free) with sign bounds: +1 keeps a weight >= 0, -1 <= 0. Returns the
    weights and intercept on the original scale."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        eta = b + z @ w
        p = 1.0 / (1.0 + np.exp(-eta))
        value = float(np.sum(np.logaddexp(0.0, eta) - y * eta) + 0.5 * np.dot(w, w) / c)
        r = p - y
        return value, np.concatenate([[r.sum()], z.T @ r + w / c])

    bounds = [(None, None)] + [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs]
    result = minimize(
        loss,
        np.zeros(x.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "gtol": 1e-6},
    )
    weights = result.x[1:] / scale
    intercept = float(result.x[0] - np.sum(weights * mean))
    return weights, intercept, bool(result.success)


def auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney), ties counted half."""
    y = np.asarray(labels)
    ranks = rankdata(np.asarray(scores, dtype=float))
    positives = int(np.sum(y == 1))
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))
