"""Micro-batching of concurrent single scores (lambda_app.core.coalesce)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from lambda_app.core.coalesce import Coalescer


class Model:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[int] = []
        self.fail = fail

    def __call__(self, applicants: Sequence[Mapping[str, Any]]) -> list[float]:
        self.calls.append(len(applicants))
        if self.fail:
            raise RuntimeError("model broke")
        return [float(a["x"]) * 2 for a in applicants]


def test_concurrent_requests_share_one_model_call() -> None:
    model = Model()
    coalescer = Coalescer(model)

    async def main() -> list[float]:
        return await asyncio.gather(*(coalescer.score({"x": i}) for i in range(10)))

    assert asyncio.run(main()) == [2.0 * i for i in range(10)]  # each gets its own score
    assert model.calls == [10]


def test_a_lone_request_does_not_wait_for_company() -> None:
    model = Model()
    coalescer = Coalescer(model)

    async def main() -> float:
        return await asyncio.wait_for(coalescer.score({"x": 3}), timeout=0.05)

    assert asyncio.run(main()) == 6.0 and model.calls == [1]


def test_batches_are_capped() -> None:
    model = Model()
    coalescer = Coalescer(model, max_rows=4)

    async def main() -> None:
        await asyncio.gather(*(coalescer.score({"x": i}) for i in range(10)))

    asyncio.run(main())
    assert model.calls == [4, 4, 2]


def test_a_model_error_reaches_every_waiting_request() -> None:
    coalescer = Coalescer(Model(fail=True))

    async def main() -> list[Any]:
        return await asyncio.gather(*(coalescer.score({"x": i}) for i in range(3)), return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) for r in results)


def test_a_cancelled_request_does_not_disturb_the_others() -> None:
    model = Model()
    coalescer = Coalescer(model)

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(coalescer.score({"x": i})) for i in range(3)]
        await asyncio.sleep(0)  # all three queued
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, second, third = asyncio.run(main())
    assert (first, third) == (0.0, 4.0) and isinstance(second, asyncio.CancelledError)


@pytest.mark.parametrize("n", [1, 7])
def test_later_requests_start_a_new_batch(n: int) -> None:
    model = Model()
    coalescer = Coalescer(model)

    async def main() -> None:
        await asyncio.gather(*(coalescer.score({"x": i}) for i in range(n)))
        await asyncio.gather(*(coalescer.score({"x": i}) for i in range(n)))

    asyncio.run(main())
    assert model.calls == [n, n]
