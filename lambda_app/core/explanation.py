"""Reason codes: each field's SHAP contribution turned into the reasons a person reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_app.core.schema import SPECS
from lambda_app.core.text import reason_value


@dataclass(frozen=True)
class Reason:
    feature: str
    label: str
    value: Any
    contribution: float  # score points; positive raised the score
    protected: bool

    @property
    def sentence(self) -> str:
        """'Total debt to income ratio of 0.62 raised the score by 3.1 points'."""
        verb = "raised" if self.contribution > 0 else "lowered"
        return (
            f"{describe(self.feature, self.label, self.value)} {verb} the score by {abs(self.contribution):.1f} points"
        )


@dataclass(frozen=True)
class Explanation:
    """baseline + sum(every contribution) == model_output: `raised` and `lowered` are the
    largest ones each way, `other` the sum of the rest."""

    baseline: float
    model_output: float
    raised: list[Reason]
    lowered: list[Reason]
    other: float


_LABELS = {n: s.description for n, s in SPECS.items()}
_PROTECTED = {n for n, s in SPECS.items() if s.protected}


def explanation(
    applicant: Mapping[str, Any], contributions: Mapping[str, float], baseline: float, top: int
) -> Explanation:
    """Reasons for one applicant from each field's contribution. `other` takes the rest,
    rounding included, so the published numbers add up exactly."""
    reasons = [
        Reason(f, _LABELS.get(f, f), applicant[f], round(x, 4), f in _PROTECTED) for f, x in contributions.items()
    ]
    ranked = sorted(reasons, key=lambda r: -abs(r.contribution))
    raised = [r for r in ranked if r.contribution > 0][:top]
    lowered = [r for r in ranked if r.contribution < 0][:top]
    base = round(baseline, 4)
    output = round(baseline + sum(contributions.values()), 4)
    other = round(output - base - sum(r.contribution for r in raised + lowered), 4)
    return Explanation(base, output, raised, lowered, other)


def describe(feature: str, label: str, value: Any) -> str:
    spec = SPECS.get(feature)
    if spec is not None and spec.unit.startswith("0/1"):
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, str):
        return f"{label}: {value}"
    return f"{label} of {reason_value(value)}"
