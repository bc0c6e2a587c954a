"""A progress line on a terminal (rows, rows/s, ETA), redrawn in place with \\r on stderr."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 24


class Progress:
    def __init__(self, stream: TextIO, enabled: bool, every_s: float = 0.25) -> None:
        self.stream, self.enabled, self.every_s = stream, enabled, every_s
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, rows: int, fraction: float | None, force: bool = False) -> None:
        """`fraction` of the input read so far, when known (bytes of a CSV, rows of a Parquet file)."""
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self.every_s):
            return
        self._last = now
        self.stream.write("\r" + line(rows, fraction, now - self.started) + "\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def line(rows: int, fraction: float | None, elapsed: float) -> str:
    """'[#########---------------]  38%  760,000 rows  98,765 rows/s  ETA 0:00:13'."""
    rate = rows / elapsed if elapsed > 0 else 0.0
    if fraction is None or fraction <= 0:
        return f"{rows:,} rows  {rate:,.0f} rows/s"
    filled = round(WIDTH * min(fraction, 1.0))
    eta = elapsed * (1 - fraction) / fraction
    return (
        f"[{'#' * filled}{'-' * (WIDTH - filled)}] {fraction:4.0%}  {rows:,} rows  {rate:,.0f} rows/s  ETA {clock(eta)}"
    )


def clock(seconds: float) -> str:
    s = round(max(seconds, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
