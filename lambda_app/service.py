"""The one way to score: the JSON API, its fast path, the web pages and every runtime call this.

Each transport validates what it parsed (FastAPI's body model, pydantic-core on the fast
path, text rows from CSV files and forms); from a valid applicant on, everything happens
here, once: the score, band and percentile, an explanation when asked, the challenger in
shadow, the decision record and the metrics.

With `DECISION_RECORDS=required` an answer is only returned once its record has been
stored (RecordsUnavailable otherwise: the transports answer 503); with `best-effort` the
record is buffered and written by the recorder's flusher. The challenger's score never
changes an answer: on a server it is computed after the champion's answer has gone,
unless a required record must hold it first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambda_app.core.batch import Row, Scored
from lambda_app.core.coalesce import Coalescer
from lambda_app.core.explanation import Explanation, explanation
from lambda_app.core.scoring import Scorer
from lambda_app.records.build import Origin, challenger_record, decision_record
from lambda_app.records.format import Channel, DecisionRecord, new_decision_id
from lambda_app.records.recorder import Recorder
from lambda_app.telemetry import count, observe, request_id

Applicant = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the service answered for one applicant."""

    risk_score: float
    risk_band: str
    percentile: float
    explanation: Explanation | None = None
    decision_id: str | None = None  # when decision records are kept


class ScoringService:
    def __init__(
        self,
        scorer: Scorer,
        *,
        max_reasons: int = 4,
        coalesce_max_rows: int = 64,
        recorder: Recorder | None = None,
        challenger: Scorer | None = None,
    ) -> None:
        self.scorer = scorer
        self.max_reasons = max_reasons
        self.recorder = recorder or Recorder("off", None)
        self.challenger = challenger
        # Concurrent scores share one model call on the event loop, explained ones too: each
        # leaf's SHAP values are computed once per model, so explaining a batch is a lookup.
        self.coalescer: Coalescer[float] = Coalescer(scorer.score, coalesce_max_rows)
        self.explainer: Coalescer[tuple[float, tuple[dict[str, float], float]]] = Coalescer(
            self._scored_contributions, coalesce_max_rows
        )
        self._shadow: Coalescer[float] | None = Coalescer(challenger.score, coalesce_max_rows) if challenger else None
        self._shadows: set[asyncio.Task[None]] = set()

    @property
    def version(self) -> str:
        return self.scorer.version

    async def score(
        self, applicant: Applicant, *, explain: bool = False, reasons: int | None = None, alone: bool = False
    ) -> Decision:
        """One applicant from the API, sharing model calls with concurrent requests; `alone`
        scores at once (Lambda: one request per invocation, nobody to share with)."""
        if alone:
            return self.score_now(applicant, explain=explain, reasons=reasons, channel="api")
        found = None
        if explain:
            risk, (by_field, baseline) = await self.explainer.score(applicant)
            found = explanation(applicant, by_field, baseline, reasons or self.max_reasons)
        else:
            risk = await self.coalescer.score(applicant)
        decision = self._decision(risk, found)
        if self._shadow is not None and self.recorder.mode != "required":
            self._later(self._shadowed(applicant, decision, _request_id()))
        elif self.recorder.enabled:
            shadow = None
            if self._shadow is not None:  # a required record holds the challenger's score: wait for it
                shadow = await self._shadow.score(applicant)
                self._compare([risk], [shadow])
            record = self._record(applicant, decision, Origin("api", decision.decision_id, None, _request_id()), shadow)
            if self.recorder.mode == "required":
                await asyncio.to_thread(self.recorder.submit, [record])  # the sink's I/O, off the event loop
            else:
                self.recorder.submit([record])
        count("ScoresServed")
        return decision

    def score_now(
        self, applicant: Applicant, *, explain: bool = False, reasons: int | None = None, channel: Channel = "web"
    ) -> Decision:
        """One applicant, in the calling thread (the web pages run it off the event loop)."""
        [risk] = self.scorer.score([applicant])
        found = self.scorer.explain([applicant], reasons or self.max_reasons)[0] if explain else None
        decision = self._decision(risk, found)
        shadow = self._challenge([applicant], [risk])
        if self.recorder.enabled:
            origin = Origin(channel, decision.decision_id, None, _request_id())
            self.recorder.submit([self._record(applicant, decision, origin, shadow[0] if shadow else None)])
        count("ScoresServed")
        return decision

    def score_rows(self, rows: Sequence[Row], channel: Channel = "batch") -> list[Scored]:
        """A batch in input order, one model call for all valid rows; invalid rows keep their errors."""
        valid = [r.applicant for r in rows if r.applicant is not None]
        scores = self.scorer.score(valid)
        band = self.scorer.band
        ids = [new_decision_id() for _ in valid] if self.recorder.enabled else [None] * len(valid)
        given = iter(zip(scores, ids, strict=True))
        results = [
            Scored(r.index, errors=r.errors)
            if r.applicant is None
            else Scored(r.index, (s := next(given))[0], band(s[0]), decision_id=s[1])
            for r in rows
        ]
        shadow = self._challenge(valid, scores)
        if self.recorder.enabled:
            batch_id, rid = new_decision_id(), _request_id()
            self.recorder.submit(
                [
                    decision_record(
                        self.scorer,
                        applicant,
                        risk,
                        Origin(channel, did, batch_id, rid),
                        challenger=challenger_record(self.challenger, shadow[i])
                        if shadow and self.challenger
                        else None,
                    )
                    for i, (applicant, risk, did) in enumerate(zip(valid, scores, ids, strict=True))
                ]
            )
        observe("BatchSize", len(rows), MetricUnit.Count)
        count("ScoresServed", len(valid))
        if len(valid) < len(rows):
            count("ValidationFailures", len(rows) - len(valid))
        return results

    def flush_records(self) -> None:
        """Write buffered records now (Lambda: before the invocation returns and the environment freezes)."""
        if self.recorder.mode == "best-effort":
            self.recorder.flush()

    async def finish(self) -> None:
        """At shutdown: let shadow scores in flight reach their records, then write what is buffered."""
        if self._shadows:
            await asyncio.gather(*self._shadows, return_exceptions=True)
        await asyncio.to_thread(self.recorder.close)

    def _decision(self, risk: float, found: Explanation | None = None) -> Decision:
        did = new_decision_id() if self.recorder.enabled else None
        return Decision(risk, self.scorer.band(risk), self.scorer.percentile(risk), found, did)

    def _record(self, applicant: Applicant, decision: Decision, origin: Origin, shadow: float | None) -> DecisionRecord:
        versus = challenger_record(self.challenger, shadow) if self.challenger and shadow is not None else None
        return decision_record(self.scorer, applicant, decision.risk_score, origin, decision.explanation, versus)

    async def _shadowed(self, applicant: Applicant, decision: Decision, rid: str | None) -> None:
        assert self._shadow is not None
        shadow = await self._shadow.score(applicant)
        self._compare([decision.risk_score], [shadow])
        if self.recorder.enabled:
            self.recorder.submit(
                [self._record(applicant, decision, Origin("api", decision.decision_id, None, rid), shadow)]
            )

    def _challenge(self, applicants: Sequence[Applicant], champion: Sequence[float]) -> list[float] | None:
        if self.challenger is None or not applicants:
            return None
        shadow = self.challenger.score(applicants)
        self._compare(champion, shadow)
        return shadow

    def _compare(self, champion: Sequence[float], shadow: Sequence[float]) -> None:
        """How far the challenger is from the champion: every difference, and how often the band differs."""
        assert self.challenger is not None
        differs = 0
        for ours, theirs in zip(champion, shadow, strict=True):
            observe("ChallengerScoreDifference", theirs - ours, MetricUnit.Count)
            differs += self.scorer.band(ours) != self.challenger.band(theirs)
        count("ChallengerScored", len(champion))
        count("ChallengerBandDiffers", differs)

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._shadows.add(task)  # held until done, or the loop may collect it mid-way
        task.add_done_callback(self._shadows.discard)

    def _scored_contributions(
        self, applicants: Sequence[Applicant]
    ) -> list[tuple[float, tuple[dict[str, float], float]]]:
        # One call each for the batch's scores and SHAP values: each applicant's values are
        # those it gets alone (lambda_app.core.treeshap), so its reasons do not depend on who
        # else asked at the same moment, and replay, which re-explains records one by one, agrees.
        scores = self.scorer.score(applicants)
        return list(zip(scores, self.scorer.contributions(applicants), strict=True))


def _request_id() -> str | None:
    rid = request_id()
    return None if rid == "-" else rid
