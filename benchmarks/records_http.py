"""Single scores over HTTP with decision records off and on (best-effort, local directory
sink), side by side in the same run: what keeping a record of every decision costs a server.

Two rounds, off then on, each on fresh server processes (this VM's throughput is bimodal:
see benchmarks/__main__.py); the figure held to the target is the median of the "on" runs
against the fastest "off" run.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import wrk
from benchmarks.common import example, serve, to_json


@dataclass
class RecordsCost:
    off: list[wrk.WrkResult]
    on: list[wrk.WrkResult]
    records_written: int

    @property
    def ratio(self) -> float:
        return statistics.median(r.requests_per_s for r in self.on) / max(r.requests_per_s for r in self.off)


def measure(seconds: int, rounds: int = 2) -> RecordsCost:
    body = to_json(example())
    off, on = [], []
    with tempfile.TemporaryDirectory() as where:
        sink = Path(where) / "decisions"
        for _ in range(rounds):
            with serve("lambda_app") as server:
                off.append(wrk.run(f"{server.url}/v1/score", body, seconds))
            env = {"DECISION_RECORDS": "best-effort", "DECISION_SINK": str(sink)}
            with serve("lambda_app", env=env) as server:
                on.append(wrk.run(f"{server.url}/v1/score", body, seconds))
        written = sum(1 for path in sink.rglob("*.jsonl") for _ in path.open("rb"))
    return RecordsCost(off, on, written)


if __name__ == "__main__":
    cost = measure(10)
    print(f"off: {[r.row() for r in cost.off]}\non: {[r.row() for r in cost.on]}")
    print(f"on/off {cost.ratio:.2f}x; {cost.records_written:,} records written")
