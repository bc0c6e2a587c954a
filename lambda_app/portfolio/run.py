"""The scoring pipeline of one file: chunks read here, scored in worker processes (one per core,
each loading the bundle once), written here in input order. At most two chunks per worker are
in flight, so memory stays flat whatever the file's size. With workers, this process reads and
writes only: it never imports CatBoost (the workers do)."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from lambda_app.portfolio.sink import Sink
from lambda_app.portfolio.source import ID, Chunk, Source

if TYPE_CHECKING:
    from lambda_app.core.scoring import Scorer

IN_FLIGHT_PER_WORKER = 2


@dataclass
class Summary:
    rows: int = 0
    scored: int = 0
    failed: int = 0
    bands: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        failed = int(table.column("risk_score").null_count)
        self.failed += failed
        self.scored += table.num_rows - failed
        for item in table.column("risk_band").value_counts().to_pylist():
            if item["values"] is not None:
                self.bands[item["values"]] += item["counts"]


def output(chunk: Chunk, key: str, scored: pa.Table) -> pa.Table:
    """The chunk's key column and its results, with the malformed lines in their place."""
    keys = chunk.table.column(ID) if key == ID else pa.array(chunk.rows)
    table = pa.table({key: keys}).append_column("_row", pa.array(chunk.rows))
    for name in scored.column_names:
        table = table.append_column(name, scored.column(name))
    if chunk.malformed:
        bad = {name: pa.nulls(len(chunk.malformed), table.schema.field(name).type) for name in table.column_names}
        numbers = pa.array([m[0] for m in chunk.malformed], pa.int64())
        bad["_row"] = numbers
        if key == "row":
            bad["row"] = numbers
        bad["errors"] = pa.array([m[1] for m in chunk.malformed], pa.string())
        table = pa.concat_tables([table, pa.table(bad, schema=table.schema)]).sort_by("_row")
    return table.drop_columns(["_row"])


_scorers: dict[str, Scorer] = {}  # each worker process's own, loaded on its first chunk


def _score(model_dir: str, table: pa.Table, typed: bool, explain: bool) -> pa.Table:
    from lambda_app.core.scoring import Scorer
    from lambda_app.portfolio.chunk import score_chunk

    if model_dir not in _scorers:
        _scorers[model_dir] = Scorer.load(Path(model_dir))
    return score_chunk(_scorers[model_dir], table, typed=typed, explain=explain)


def run(
    source: Source,
    sink: Sink,
    model_dir: Path,
    workers: int,
    explain: bool,
    on_progress: Callable[[int, float | None], None] = lambda rows, fraction: None,
) -> Summary:
    summary = Summary()
    started = time.monotonic()
    wrote = False

    def finish(chunk: Chunk, scored: pa.Table) -> None:
        nonlocal wrote
        table = output(chunk, source.key, scored)
        sink.write(table)
        wrote = True
        summary.add(table)
        total = source.estimated_rows()
        on_progress(summary.rows, min(summary.rows / total, 1.0) if total else None)

    bundle = str(model_dir)
    if workers <= 1:
        for chunk in source.chunks():
            finish(chunk, _score(bundle, chunk.table.select(source.columns), source.typed, explain))
    else:
        # spawn, not fork: a fresh interpreter per worker, never a copy of this one's threads.
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            pending: deque[tuple[Chunk, Any]] = deque()
            for chunk in source.chunks():
                work = pool.apply_async(_score, (bundle, chunk.table.select(source.columns), source.typed, explain))
                pending.append((chunk, work))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    done, result = pending.popleft()
                    finish(done, result.get())
            while pending:
                done, result = pending.popleft()
                finish(done, result.get())
    if not wrote:  # a header and no rows: still a results file, with its header
        names = source.columns + ([ID] if source.key == ID else [])
        empty = Chunk(pa.table({c: pa.array([], pa.string()) for c in names}), np.array([], np.int64))
        sink.write(output(empty, source.key, _empty_results(explain)))
    summary.seconds = time.monotonic() - started
    return summary


def _empty_results(explain: bool) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "risk_score": pa.array([], pa.float64()),
        "risk_band": pa.array([], pa.string()),
        "percentile": pa.array([], pa.float64()),
    }
    if explain:
        columns["reasons"] = pa.array([], pa.string())
    columns["errors"] = pa.array([], pa.string())
    return pa.table(columns)
