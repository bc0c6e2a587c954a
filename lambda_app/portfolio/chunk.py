"""One chunk of a portfolio scored: validated, scored, banded, placed among the training scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

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
    scores = scorer.score_columns(checked.fields)
    # The valid rows' results spread over the chunk's rows; the others' are null (an empty cell).
    failed = None if checked.valid.all() else ~checked.valid
    codes, names = scorer.band_codes(scores)
    columns: dict[str, pa.Array] = {
        "risk_score": pa.array(_spread(scores, checked.valid, np.nan), mask=failed),
        "risk_band": pa.array(names, pa.string()).take(pa.array(_spread(codes, checked.valid, 0), mask=failed)),
        "percentile": pa.array(_spread(scorer.percentiles(scores), checked.valid, np.nan), mask=failed),
    }
    if explain:
        where = np.flatnonzero(checked.valid)
        found = scorer.explain(applicants(checked.fields), top=REASONS) if len(where) else []
        reasons = np.full(len(checked.valid), None, dtype=object)
        reasons[where] = [reason_text(e) for e in found]
        columns["reasons"] = pa.array(reasons, type=pa.string())
    every_row_valid = failed is None  # then every error cell is "", made in one go
    n = len(checked.valid)
    errors = pa.repeat(pa.scalar("", pa.string()), n) if every_row_valid else pa.array(checked.errors, pa.string())
    columns["errors"] = errors
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


def _spread(values: np.ndarray, valid: np.ndarray, filler: Any) -> np.ndarray:
    """The valid rows' values in their places among all the chunk's rows (filler elsewhere)."""
    if valid.all():
        return values
    out = np.full(len(valid), filler, dtype=values.dtype)
    out[valid] = values
    return out
