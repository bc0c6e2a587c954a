"""Scoring a chunk in whichever process holds it: a worker process of `loan-risk score`, or the
reading process itself when the workers are busy. Each process loads the bundle once (the
reading process before it starts the workers, so that a forked worker has it already); a
worker process starts with what scoring needs and nothing else (no S3 client, no file
writers, no pandas)."""

from __future__ import annotations

import gc
import importlib.abc
import pickle
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lambda_app.core.catboost_lean import import_catboost_lean
from lambda_app.portfolio.handoff import Handed, give_back, take
from lambda_app.portfolio.process import keep_freed_memory

if TYPE_CHECKING:
    from lambda_app.core.scoring import Scorer

_scorers: dict[str, Scorer] = {}


def without_pandas() -> None:
    """Run this process as if pandas were not installed, unless it is loaded already. CatBoost
    and pyarrow each import pandas on first use only to recognise pandas objects among their
    inputs, which this pipeline never passes them: a large share of each process's start.
    CatBoost is imported as lambda_app.core.catboost_lean does; pyarrow looks for pandas again
    on every conversion, so the import stays refused for the process's life. For processes
    that only run the pipeline: the workers and the `loan-risk score` command."""
    if "pandas" in sys.modules or any(isinstance(f, _NoPandas) for f in sys.meta_path):
        return
    import_catboost_lean()
    # A finder, not None in sys.modules: pyarrow's compiled import takes a None there as the module.
    sys.meta_path.insert(0, _NoPandas())


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError("pandas is not used by loan-risk score's processes", name=name)


def serve(pipe: Connection, model_dir: str) -> None:
    """A scoring process's life (lambda_app.portfolio.workers): the start-up of
    lambda_app.portfolio.process (the environment it sets is inherited already) and no pandas,
    the bundle loaded, then each chunk sent down the pipe scored and its results written back
    in its slot (or sent as an IPC stream when the slot cannot grow to hold them), until the
    reading process says stop (None) or goes."""
    # Ctrl-C reaches every process of the terminal's group: the reading process handles it, and
    # ends this one (a KeyboardInterrupt here would print a traceback over its one-line message).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    without_pandas()
    load(model_dir)
    while True:
        try:
            task = pipe.recv()
        except EOFError:
            return
        if task is None:
            return
        handed, typed, explain = task
        answer: tuple[BaseException | None, Handed | bytes | None]
        try:
            results = score(model_dir, take(handed), typed, explain)
            answer = (None, give_back(handed, results) or to_bytes(results))
        except Exception as e:  # the reading process raises it: the run stops as it would with one process
            answer = (e, None)
        try:
            pipe.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError):  # an exception that does not pickle: its words
            pipe.send((RuntimeError(f"{type(answer[0]).__name__}: {answer[0]}"), None))


def load(model_dir: str) -> None:
    """This process's scorer for the bundle, loaded once."""
    if model_dir not in _scorers:
        import_catboost_lean()
        from lambda_app.core.scoring import Scorer

        _scorers[model_dir] = Scorer.load(Path(model_dir))
        gc.freeze()  # the modules and the model live as long as the process: no collection walks them again


def score(model_dir: str, table: pa.Table, typed: bool, explain: bool) -> pa.Table:
    """lambda_app.portfolio.chunk.score_chunk with this process's scorer for the bundle."""
    load(model_dir)
    from lambda_app.portfolio.chunk import score_chunk

    return score_chunk(_scorers[model_dir], table, typed=typed, explain=explain)


def to_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()  # views of `data`, not copies
