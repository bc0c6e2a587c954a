"""1,000 applicants per POST /v1/score/batch over HTTP, end to end (JSON, validation, model,
response), beside raw CatBoost predicting the same 1,000 rows from a ready DataFrame."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks import wrk
from benchmarks.common import MODEL_DIR, to_json
from lambda_app.core.schema import CATEGORICAL


@dataclass
class BatchResult:
    http_rows_per_s: float
    raw_rows_per_s: float
    requests: int
    errors: int

    @property
    def ratio(self) -> float:
        return self.http_rows_per_s / self.raw_rows_per_s


def raw_rows_per_s(rows: list[dict[str, Any]], seconds: float = 3.0) -> float:
    """The best of CatBoost's own thread settings, on the model as CatBoost loads it."""
    import pandas as pd
    from catboost import CatBoostRegressor

    from lambda_app.core.scoring import Scorer

    model = CatBoostRegressor()
    model.load_model(str(MODEL_DIR / "model.cbm"))
    # The model's input (fields and derived features) ready-made: only the prediction is timed.
    columns = Scorer.load(MODEL_DIR).manifest.features
    frame = pd.DataFrame(Scorer.load(MODEL_DIR).rows(rows), columns=columns)
    for c in CATEGORICAL:
        if c in frame:
            frame[c] = frame[c].astype(str)
    best = 0.0
    for threads in (-1, 1):
        model.predict(frame, thread_count=threads)
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 2:
            model.predict(frame, thread_count=threads)
            n += 1
        best = max(best, n * len(rows) / (time.perf_counter() - started))
    return best


def http_rows_per_s(url: str, rows: list[dict[str, Any]], seconds: float, connections: int) -> tuple[float, int, int]:
    body = to_json({"applicants": rows}).encode()
    done = [0] * connections
    errors = [0] * connections
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        with httpx.Client(timeout=30, headers={"content-type": "application/json"}) as c:
            while time.perf_counter() < stop:
                r = c.post(f"{url}/v1/score/batch", content=body)
                if r.status_code == 200 and r.json()["scored"] == len(rows):
                    done[i] += 1
                else:
                    errors[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return sum(done) * len(rows) / elapsed, sum(done), sum(errors)


def wrk_rows_per_s(url: str, rows: list[dict[str, Any]], seconds: float, connections: int) -> tuple[float, int, int]:
    """The same with wrk as the client: a Python client would take CPU from the server on
    this 2-core machine, and the figure is the server's."""
    result = wrk.run(
        f"{url}/v1/score/batch", to_json({"applicants": rows}), int(seconds), threads=1, connections=connections
    )
    return result.requests_per_s * len(rows), result.requests, result.errors


# Each worker listens on its own socket and the kernel hashes each connection to one of
# them: with 4 connections all land on one worker one time in 8, with 8 one time in 128.
CONNECTIONS = 8


def measure(url: str, rows: list[dict[str, Any]], seconds: float, connections: int = CONNECTIONS) -> BatchResult:
    raw_before = raw_rows_per_s(rows)
    run = wrk_rows_per_s if wrk.available() else http_rows_per_s
    http, requests, errors = run(url, rows, seconds, connections)
    raw_after = raw_rows_per_s(rows)
    return BatchResult(http, max(raw_before, raw_after), requests, errors)
