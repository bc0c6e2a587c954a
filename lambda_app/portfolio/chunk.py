"""One chunk of a portfolio scored: validated, scored, banded, placed among the training scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lambda_app.core.columns import category_names
from lambda_app.core.explanation import Explanation
from lambda_app.core.schema import FIELDS
from lambda_app.core.scoring import Scorer
from lambda_app.portfolio.validate import Validated, validate_text, validate_typed

REASONS = 4  # reason codes per applicant with --explain: the largest contributions either way

RESULT_COLUMNS = ("risk_score", "risk_band", "percentile")


def score_chunk(scorer: Scorer, table: pa.Table, *, typed: bool, explain: bool = False) -> pa.Table:
    """risk_score, risk_band, percentile, (reasons,) errors for every row of the chunk, in its
    order; a row that fails validation has empty results and its errors, and never stops the rest."""
    checked = validate_typed(table) if typed else validate_text(table)
    return results(scorer, checked, explain)


def results(scorer: Scorer, checked: Validated, explain: bool) -> pa.Table:
    n = len(checked.valid)
    scores = np.asarray(scorer.score_columns(checked.fields), dtype=np.float64)
    where = np.flatnonzero(checked.valid)
    risk_score = np.full(n, np.nan)
    risk_score[where] = scores
    valid = pa.array(checked.valid)
    columns: dict[str, pa.Array] = {
        "risk_score": _masked(pa.array(risk_score), valid),
        "risk_band": _masked(_spread(scorer.bands(scores), where, n), valid),
        "percentile": _masked(pa.array(_spread_floats(scorer.percentiles(scores), where, n)), valid),
    }
    if explain:
        found = scorer.explain(applicants(checked.fields), top=REASONS) if len(where) else []
        reasons = [reason_text(e) for e in found]
        columns["reasons"] = _masked(_spread(reasons, where, n), valid)
    columns["errors"] = pa.array(checked.errors, type=pa.string())
    return pa.table(columns)


def applicants(fields: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The valid rows as the API's applicants (ints as int), for the explanations."""
    n = len(next(iter(fields.values()))) if fields else 0
    as_lists = {
        f.name: [int(v) for v in fields[f.name].tolist()]
        if f.kind == "int"
        else category_names(f.name, fields[f.name]).tolist()
        for f in FIELDS
    }
    return [{name: column[i] for name, column in as_lists.items()} for i in range(n)]


def reason_text(e: Explanation) -> str:
    """'TotalDebtToIncomeRatio +3.1; CreditScore -2.0': the largest contributions, in score points."""
    reasons = sorted(e.raised + e.lowered, key=lambda r: -abs(r.contribution))[:REASONS]
    return "; ".join(f"{r.feature} {r.contribution:+.1f}" for r in reasons)


def _spread(values: Sequence[Any], where: np.ndarray, n: int) -> pa.Array:
    out = np.full(n, None, dtype=object)
    out[where] = values
    return pa.array(out, type=pa.string())


def _spread_floats(values: Sequence[float], where: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[where] = values
    return out


def _masked(array: pa.Array, valid: pa.Array) -> pa.Array:
    """Nulls (an empty CSV cell) for the rows that failed."""
    return pc.if_else(valid, array, pa.scalar(None, type=array.type))
