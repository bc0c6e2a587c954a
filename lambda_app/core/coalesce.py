"""Adaptive micro-batching: concurrent single-applicant requests share one model call.

CatBoost's cost per call dwarfs its cost per row, so under load the server scores every
request that arrived during one turn of the event loop together. Nothing waits for a
timer: a lone request is scored on the very next turn, and batches grow only as fast as
requests pile up while the model is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

ScoreMany = Callable[[Sequence[Mapping[str, Any]]], list[float]]


class Coalescer:
    def __init__(self, score_many: ScoreMany, max_rows: int = 64) -> None:
        self.score_many = score_many
        self.max_rows = max_rows
        self._pending: list[tuple[Mapping[str, Any], asyncio.Future[float]]] = []
        self.calls = 0  # model calls made, for tests and benchmarks
        self.rows = 0

    async def score(self, applicant: Mapping[str, Any]) -> float:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self._pending.append((applicant, future))
        if len(self._pending) >= self.max_rows:
            self._flush()
        elif len(self._pending) == 1:
            # After the callbacks already queued for this turn: the other requests
            # whose bytes arrived in the same poll join this batch.
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        self.calls += 1
        self.rows += len(batch)
        try:
            scores = self.score_many([applicant for applicant, _ in batch])
        except Exception as e:  # every waiting request gets the model's error as its own
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), score in zip(batch, scores, strict=True):
            if not future.done():  # a client that went away has its future cancelled
                future.set_result(score)
