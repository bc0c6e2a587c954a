"""The scoring pipeline of one file: chunks read here, scored by `workers` processes (one per
core, each loading the bundle once), written here in input order. This process is one of them:
it reads and writes every chunk, and scores a chunk itself whenever the others already have
IN_FLIGHT_PER_WORKER each, so the reading never waits on idle cores and one interpreter fewer
starts. At most a few chunks per worker are held at once, so memory stays flat whatever the
file's size."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from lambda_app.portfolio import worker
from lambda_app.portfolio.handoff import Handed, Handoff
from lambda_app.portfolio.sink import Sink
from lambda_app.portfolio.source import ID, Chunk, Source
from lambda_app.portfolio.workers import Ticket, Workers

IN_FLIGHT_PER_WORKER = 4


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
            finish(chunk, worker.score(bundle, chunk.table.select(source.columns), source.typed, explain))
    else:
        worker.load(bundle)  # here first: a forked worker starts with it
        with Workers(workers - 1, bundle, start_method()) as others, Handoff() as handoff:
            # In input order: the chunk and its results (a table scored here, or a ticket and its slot).
            pending: deque[tuple[Chunk, pa.Table | tuple[Ticket, Handed]]] = deque()
            for chunk in source.chunks():
                table = chunk.table.select(source.columns)
                handed = handoff.put(table) if others.waiting < (workers - 1) * IN_FLIGHT_PER_WORKER else None
                if handed is not None:
                    pending.append((chunk, (others.send(handed, source.typed, explain), handed)))
                else:  # the others are busy (or there is no room to hand it over): scored here
                    pending.append((chunk, worker.score(bundle, table, source.typed, explain)))
                # Write what is done in order; wait only when too much is held.
                while pending and (_done(pending[0][1], others) or len(pending) > workers * IN_FLIGHT_PER_WORKER):
                    done, result = pending.popleft()
                    finish(done, _collect(result, others, handoff))
            while pending:
                done, result = pending.popleft()
                finish(done, _collect(result, others, handoff))
    if not wrote:  # a header and no rows: still a results file, with its header
        names = source.columns + ([ID] if source.key == ID else [])
        empty = Chunk(pa.table({c: pa.array([], pa.string()) for c in names}), np.array([], np.int64))
        sink.write(output(empty, source.key, _empty_results(explain)))
    summary.seconds = time.monotonic() - started
    return summary


def start_method() -> str:
    """fork where there is one and no other Python thread runs (one could hold a lock the copy
    would wait on for ever): the worker then starts as a copy of this process, its imports done
    and the bundle loaded, where a spawned interpreter spends a sizeable share of a run's CPU
    time on importing numpy, pyarrow, CatBoost and pydantic again. The native threads this
    process may have are fork-aware: Arrow's thread pools start afresh in the child, and its
    allocators (jemalloc, mimalloc) take and release their locks around a fork. Elsewhere
    (another OS, a caller's threads) spawn, a fresh interpreter."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _collect(result: pa.Table | tuple[Ticket, Handed], others: Workers, handoff: Handoff) -> pa.Table:
    """A chunk's results: scored here, or back from another process (its slot then free again)."""
    if isinstance(result, pa.Table):
        return result
    ticket, handed = result
    answer = others.result(ticket)
    if isinstance(answer, Handed):
        return handoff.results(answer)
    handoff.release(handed)
    return worker.from_bytes(answer)


def _done(result: pa.Table | tuple[Ticket, Handed], others: Workers) -> bool:
    return isinstance(result, pa.Table) or others.ready(result[0])


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
