"""The one way to score: the JSON API, its fast path, the web pages and every runtime call this.

Each transport validates what it parsed (FastAPI's body model, pydantic-core on the fast
path, text rows from CSV files and forms); from a valid applicant on, everything happens
here, once: the score, band and percentile, an explanation when asked, and the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambda_app.core.batch import Row, Scored
from lambda_app.core.coalesce import Coalescer
from lambda_app.core.explanation import Explanation, explanation
from lambda_app.core.scoring import Scorer
from lambda_app.telemetry import count, observe

Applicant = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the service answered for one applicant."""

    risk_score: float
    risk_band: str
    percentile: float
    explanation: Explanation | None = None


class ScoringService:
    def __init__(self, scorer: Scorer, *, max_reasons: int = 4, coalesce_max_rows: int = 64) -> None:
        self.scorer = scorer
        self.max_reasons = max_reasons
        # Concurrent plain scores share one model call on the event loop; explanations, which
        # take longer and release the GIL, share one SHAP call in a worker thread.
        self.coalescer: Coalescer[float] = Coalescer(scorer.score, coalesce_max_rows)
        self.explainer: Coalescer[tuple[float, tuple[dict[str, float], float]]] = Coalescer(
            self._scored_contributions, coalesce_max_rows, in_thread=True
        )

    @property
    def version(self) -> str:
        return self.scorer.version

    async def score(
        self, applicant: Applicant, *, explain: bool = False, reasons: int | None = None, alone: bool = False
    ) -> Decision:
        """One applicant, sharing model calls with concurrent requests; `alone` scores at once
        (Lambda: one request per invocation, nobody to share with)."""
        if alone:
            return self.score_now(applicant, explain=explain, reasons=reasons)
        if explain:
            risk, (by_field, baseline) = await self.explainer.score(applicant)
            found = explanation(applicant, by_field, baseline, reasons or self.max_reasons)
            return self._decided(risk, found)
        return self._decided(await self.coalescer.score(applicant))

    def score_now(self, applicant: Applicant, *, explain: bool = False, reasons: int | None = None) -> Decision:
        """One applicant, in the calling thread (web pages run it off the event loop)."""
        [risk] = self.scorer.score([applicant])
        found = self.scorer.explain([applicant], reasons or self.max_reasons)[0] if explain else None
        return self._decided(risk, found)

    def score_rows(self, rows: Sequence[Row]) -> list[Scored]:
        """A batch in input order, one model call for all valid rows; invalid rows keep their errors."""
        valid = [r.applicant for r in rows if r.applicant is not None]
        scores = iter(self.scorer.score(valid))
        band = self.scorer.band
        results = [
            Scored(r.index, errors=r.errors) if r.applicant is None else Scored(r.index, s := next(scores), band(s))
            for r in rows
        ]
        observe("BatchSize", len(rows), MetricUnit.Count)
        count("ScoresServed", len(valid))
        if len(valid) < len(rows):
            count("ValidationFailures", len(rows) - len(valid))
        return results

    def _decided(self, risk: float, found: Explanation | None = None) -> Decision:
        count("ScoresServed")
        return Decision(risk, self.scorer.band(risk), self.scorer.percentile(risk), found)

    def _scored_contributions(
        self, applicants: Sequence[Applicant]
    ) -> list[tuple[float, tuple[dict[str, float], float]]]:
        return list(zip(self.scorer.score(applicants), self.scorer.contributions(applicants), strict=True))
