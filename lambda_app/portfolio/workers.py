"""The other scoring processes of a run, each behind a pipe of its own: a chunk goes out as
the place it lies (lambda_app.portfolio.handoff), and its results come back the same way.

The reading process's one thread does all the talking. multiprocessing.Pool keeps three
threads for it, which woke for every chunk and took the interpreter lock from the thread
reading, scoring and writing. Here a process that dies mid-run (killed for memory, say)
stops the run with a message, where a Pool would wait for its answer for ever.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from lambda_app.portfolio import worker
from lambda_app.portfolio.handoff import Handed


class WorkerLost(RuntimeError):
    """A scoring process stopped before answering."""


@dataclass
class _Worker:
    process: BaseProcess
    pipe: Connection
    waiting: int = 0  # chunks sent and not yet collected


@dataclass(frozen=True)
class Ticket:
    """A chunk sent to one of the processes, collected with `Workers.result`."""

    worker: _Worker


class Workers:
    """`with Workers(count, bundle, method) as workers:` count processes started by `method`
    (fork or spawn), each loading the bundle once; on the way out they are told to stop, or
    ended if the run failed."""

    def __init__(self, count: int, bundle: str, method: str) -> None:
        context: Any = multiprocessing.get_context(method)
        self._workers: list[_Worker] = []
        for _ in range(count):
            here, there = context.Pipe()
            process = context.Process(target=worker.serve, args=(there, bundle), daemon=True)
            process.start()
            there.close()  # only the process holds its end: its death is an end of file here
            self._workers.append(_Worker(process, here))

    @property
    def waiting(self) -> int:
        """Chunks sent to the processes and not yet collected."""
        return sum(w.waiting for w in self._workers)

    def send(self, handed: Handed, typed: bool, explain: bool) -> Ticket:
        """To the process with the fewest chunks waiting. Each process answers in the order it
        was sent chunks, so collecting tickets in the order they were sent gets each its own."""
        target = min(self._workers, key=lambda w: w.waiting)
        self._talk(target, lambda: target.pipe.send((handed, typed, explain)))
        target.waiting += 1
        return Ticket(target)

    def ready(self, ticket: Ticket) -> bool:
        """Whether collecting the oldest ticket of its process would not wait."""
        return bool(self._talk(ticket.worker, ticket.worker.pipe.poll))

    def result(self, ticket: Ticket) -> Handed | bytes:
        """Where the results of the oldest uncollected ticket of its process are (waiting for
        them): in the chunk's slot, or an IPC stream."""
        error, answer = self._talk(ticket.worker, ticket.worker.pipe.recv)
        ticket.worker.waiting -= 1
        if error is not None:
            raise error
        assert isinstance(answer, Handed | bytes)
        return answer

    def _talk(self, target: _Worker, call: Any) -> Any:
        try:
            return call()
        except (EOFError, OSError):
            target.process.join(timeout=5)
            raise WorkerLost(
                f"a scoring process stopped (exit code {target.process.exitcode}) before it answered; "
                "if it ran out of memory, run again with fewer --workers"
            ) from None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        for w in self._workers:
            if kind is None:
                with contextlib.suppress(OSError):  # already gone: nothing to tell it
                    w.pipe.send(None)
            else:
                w.process.terminate()
        for w in self._workers:
            w.process.join()
            w.pipe.close()
