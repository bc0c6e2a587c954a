"""Decision records from what the scorer answered: the one place a record's fields are filled in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_app.core.explanation import Explanation
from lambda_app.core.scoring import Scorer
from lambda_app.records.format import (
    ChallengerRecord,
    Channel,
    DecisionRecord,
    ModelRef,
    ReasonRecord,
    ReasonsRecord,
    decided_at,
    new_decision_id,
)


def model_ref(scorer: Scorer) -> ModelRef:
    return ModelRef(version=scorer.version, model_sha256=scorer.manifest.model_sha256)


def reasons_record(explanation: Explanation) -> ReasonsRecord:
    def each(reasons: list[Any]) -> list[ReasonRecord]:
        return [ReasonRecord(feature=r.feature, value=r.value, contribution=r.contribution) for r in reasons]

    return ReasonsRecord(
        baseline=explanation.baseline,
        model_output=explanation.model_output,
        raised=each(explanation.raised),
        lowered=each(explanation.lowered),
        other=explanation.other,
    )


def challenger_record(scorer: Scorer, score: float) -> ChallengerRecord:
    return ChallengerRecord(model=model_ref(scorer), risk_score=score, risk_band=scorer.band(score))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a decision was made: the channel, and the ids that tie its record to the answer."""

    channel: Channel
    decision_id: str | None = None
    batch_id: str | None = None
    request_id: str | None = None


def decision_record(
    scorer: Scorer,
    applicant: Mapping[str, Any],
    score: float,
    origin: Origin | Channel,
    explanation: Explanation | None = None,
    challenger: ChallengerRecord | None = None,
) -> DecisionRecord:
    """The record of one scored applicant (`applicant` as validated, i.e. Applicant.model_dump())."""
    where = origin if isinstance(origin, Origin) else Origin(origin)
    did = where.decision_id or new_decision_id()
    return DecisionRecord(
        decision_id=did,
        decided_at=decided_at(did),
        channel=where.channel,
        batch_id=where.batch_id,
        request_id=where.request_id,
        model=model_ref(scorer),
        applicant=dict(applicant),
        risk_score=score,
        risk_band=scorer.band(score),
        percentile=scorer.percentile(score),
        reasons=reasons_record(explanation) if explanation is not None else None,
        challenger=challenger,
    )
