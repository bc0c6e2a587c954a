"""Start-up with the cyclic garbage collector paused, then what it built frozen out of reach.

What an entry point builds before its first request (modules, the model, the app) lives as
long as the process, and every full collection would walk all of it again: pauses that
showed in batch latency (benchmarks/batch_http.py). Collections while start-up builds those
objects find next to nothing and slow the cold start. So every entry point pauses the
collector before it imports the app, and freezes what exists once the app is built
(gc.freeze, as Python's documentation suggests for long-lived servers).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause_collector() -> None:
    """Until `freeze_start_up_objects`: called first thing by every entry point."""
    gc.disable()


def freeze_start_up_objects() -> None:
    gc.freeze()
    gc.enable()


@contextmanager
def start_up() -> Iterator[None]:
    """Pause the collector for the block, then freeze what it built (where no server lifespan runs)."""
    pause_collector()
    try:
        yield
    finally:
        freeze_start_up_objects()
