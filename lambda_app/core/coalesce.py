"""Adaptive micro-batching: concurrent single-applicant requests share one model call.

CatBoost's cost per call dwarfs its cost per row, so under load the server scores every
request that arrived during one turn of the event loop together. Nothing waits for a
timer: a lone request is scored on the very next turn, and batches grow only as fast as
requests pile up while the model is busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Item = Mapping[str, Any]


class Coalescer(Generic[T]):
    def __init__(self, many: Callable[[Sequence[Item]], Sequence[T]], max_rows: int = 64):
        self.many = many
        self.max_rows = max_rows
        self._pending: list[tuple[Item, asyncio.Future[T]]] = []
        self.calls = 0  # model calls made, for tests and benchmarks

    async def score(self, item: Item) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_rows:
            self._flush()
        elif len(self._pending) == 1:
            # After the callbacks already queued for this turn: the other requests
            # whose bytes arrived in the same poll join this batch.
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending[: self.max_rows], self._pending[self.max_rows :]
        self.calls += 1
        try:
            _resolve(batch, self.many([item for item, _ in batch]))
        except Exception as e:  # every waiting request gets the model's error as its own
            _fail(batch, e)


def _resolve(batch: Sequence[tuple[Item, asyncio.Future[T]]], results: Sequence[T]) -> None:
    for (_, future), result in zip(batch, results, strict=True):
        if not future.done():  # a client that went away has its future cancelled
            future.set_result(result)


def _fail(batch: Sequence[tuple[Item, asyncio.Future[T]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
