"""A process that records decisions as fast as it can, for tests to SIGKILL mid-flush.

`python -m tests.lambda_app.records.writer MODE DIR`: submits records 20 at a time; after
each submit prints `submitted N`, and after each write `stored N` (required: the submit
itself; best-effort: the flush), flushing stdout so the parent knows what was acknowledged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.records.format import DecisionRecord, ModelRef, decided_at, new_decision_id
from lambda_app.records.recorder import Mode, Recorder
from lambda_app.records.sinks import make_sink

BATCH = 20


def record() -> DecisionRecord:
    did = new_decision_id()
    return DecisionRecord(
        decision_id=did,
        decided_at=decided_at(did),
        channel="api",
        model=ModelRef(version="v-test", model_sha256="0" * 64),
        applicant=dict(EXAMPLE_APPLICANT),
        risk_score=42.0,
        risk_band="medium",
        percentile=50.0,
    )


def main() -> None:
    mode = cast(Mode, sys.argv[1])
    recorder = Recorder(mode, make_sink(str(Path(sys.argv[2])), durable=mode == "required"))
    total = 0
    while True:
        recorder.submit([record() for _ in range(BATCH)])
        total += BATCH
        print(f"submitted {total}", flush=True)
        if mode == "best-effort":
            recorder.flush()
        print(f"stored {total}", flush=True)


if __name__ == "__main__":
    main()
