"""SHAP contributions of the model's columns, attributed to the applicant's own fields.

A loan officer can act on "total debt to income ratio", not on "ApprovalIndex", so every
reason code names one of the 28 input fields. The attribution is exact: the field
contributions add up to the column contributions, so baseline + sum == model output
still holds.

- A derived ratio's contribution is split equally among the fields it is computed from; a
  count (bankruptcies and defaults) goes to the events the applicant actually has.
- The approval index's contribution goes to the index terms that pushed the applicant's
  index in the direction of that contribution (a risk-raising contribution to the terms
  that made the applicant look less like an approved one, relative to the average
  training applicant), in proportion to how far each pushed. Shares are therefore
  between 0 and 1 and a field is never blamed for a push it did not make. Only when no
  term pushed that way is it split equally among the index's fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lambda_app.core.approval import INDEX, ApprovalIndex, term_effects
from lambda_app.core.features import DERIVED_BY_NAME
from lambda_app.core.schema import FEATURES


def sources(column: str) -> tuple[str, ...]:
    """The applicant fields a model column is computed from."""
    derived = DERIVED_BY_NAME.get(column)
    return derived.sources if derived is not None else (column,)


def field_contributions(
    columns: Sequence[str], shap: Sequence[float], values: Mapping[str, Any], index: ApprovalIndex | None
) -> dict[str, float]:
    """Every input field's share of the model columns' SHAP values (one applicant)."""
    out = dict.fromkeys(FEATURES, 0.0)
    for column, phi in zip(columns, shap, strict=True):
        if column == INDEX:
            if index is None:
                raise ValueError(f"the model has an {INDEX} column but no index parameters")
            for field, part in split_index(index, values, phi).items():
                out[field] += part
        else:
            _share(out, column, values, phi)
    return out


def split_index(index: ApprovalIndex, values: Mapping[str, Any], phi: float) -> dict[str, float]:
    """The index column's contribution `phi`, shared among the fields of its terms."""
    out: dict[str, float] = {}
    if phi == 0.0 or not index.terms:
        return out
    # A higher index means a more approval-like applicant, i.e. lower risk, so a term pushed
    # in the direction of phi when its effect on the index has the opposite sign.
    pushes = [max(-e if phi > 0 else e, 0.0) for e in term_effects(index, values)]
    total = sum(pushes)
    if total > 0.0:
        for term, push in zip(index.terms, pushes, strict=True):
            if push > 0.0:
                _share(out, term.feature, values, phi * push / total)
    else:
        fields = list(dict.fromkeys(f for t in index.terms for f in sources(t.feature)))
        _share_equally(out, tuple(fields), phi)
    return out


def _share(out: dict[str, float], column: str, values: Mapping[str, Any], amount: float) -> None:
    derived = DERIVED_BY_NAME.get(column)
    weights = [float(w) for w in derived.weights(values)] if derived is not None and derived.weights else []
    total = sum(weights)
    if derived is None or total <= 0.0:
        _share_equally(out, sources(column), amount)
        return
    for field, weight in zip(derived.sources, weights, strict=True):
        out[field] = out.get(field, 0.0) + amount * weight / total


def _share_equally(out: dict[str, float], fields: Sequence[str], amount: float) -> None:
    part = amount / len(fields)
    for f in fields:
        out[f] = out.get(f, 0.0) + part
