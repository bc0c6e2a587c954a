"""Canary applicants of a bundle and the check of a deployment's answers against them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambda_app.core.bundle import CanaryCase, Manifest
from lambda_app.core.schema import EXAMPLE_APPLICANT

if TYPE_CHECKING:  # the pre-traffic hook asks questions and never loads CatBoost
    from lambda_app.core.scoring import Scorer

# Scores are published to 4 decimals; a few steps of that absorb a float library's last-bit
# differences between the machine that trained and the one that serves.
TOLERANCE = 1e-3


@dataclass(frozen=True)
class Question:
    name: str
    applicant: dict[str, Any]
    expected: float | None  # None: an old bundle without recorded answers


def record(scorer: Scorer) -> list[CanaryCase]:
    """The typical and the example applicant with the scores this bundle gives them."""
    applicants = {"typical": scorer.manifest.typical_applicant or EXAMPLE_APPLICANT, "example": EXAMPLE_APPLICANT}
    scores = scorer.score(list(applicants.values()))
    return [
        CanaryCase(name=n, applicant=dict(a), risk_score=s)
        for (n, a), s in zip(applicants.items(), scores, strict=True)
    ]


def questions(manifest: Manifest) -> list[Question]:
    if manifest.canary:
        return [Question(c.name, c.applicant, c.risk_score) for c in manifest.canary]
    return [
        Question("typical", manifest.typical_applicant or EXAMPLE_APPLICANT, None),
        Question("example", EXAMPLE_APPLICANT, None),
    ]


def problems(manifest: Manifest, asked: Sequence[Question], answers: Sequence[Any]) -> list[str]:
    """What is wrong with the answers (a score per question, or whatever came back instead)."""
    low, high = manifest.score_range
    found = []
    for question, answer in zip(asked, answers, strict=True):
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            found.append(f"{question.name}: no score in the answer ({str(answer)[:200]})")
        elif question.expected is not None and abs(answer - question.expected) > TOLERANCE:
            found.append(f"{question.name}: scored {answer}, the bundle expects {question.expected}")
        elif not low <= answer <= high:
            found.append(f"{question.name}: scored {answer}, outside the bundle's range {low}..{high}")
    return found
