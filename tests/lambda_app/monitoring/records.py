"""Decision records as the service writes them (format 1), for applicants scored by a real bundle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.records.format import ChallengerRecord, DecisionRecord, ModelRef
from training import synth


def applicants(rows: int, seed: int) -> list[dict[str, Any]]:
    """Applicants drawn like the training data (training.synth), as validated dicts."""
    frame = synth.generate(rows, seed=seed)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in frame[list(FEATURES)].to_dict("records")
    ]


def decision_records(
    scorer: Scorer, people: Sequence[dict[str, Any]], day: str = "2026-11-20", challenger: Scorer | None = None
) -> list[dict[str, Any]]:
    scores = scorer.score(people)
    other = challenger.score(people) if challenger else [None] * len(people)
    model = ModelRef(version=scorer.version, model_sha256=scorer.manifest.model_sha256)
    records = []
    for i, (applicant, score, alt) in enumerate(zip(people, scores, other, strict=True)):
        record = DecisionRecord(
            decision_id=f"{i:032x}",
            decided_at=f"{day}T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
            channel="api",
            model=model,
            applicant=applicant,
            risk_score=score,
            risk_band=scorer.band(score),
            percentile=scorer.percentile(score),
            challenger=None
            if challenger is None or alt is None
            else ChallengerRecord(
                model=ModelRef(
                    version=challenger.version + "-challenger", model_sha256=challenger.manifest.model_sha256
                ),
                risk_score=alt,
                risk_band=challenger.band(alt),
            ),
        )
        records.append(record.model_dump(mode="json"))
    return records


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
