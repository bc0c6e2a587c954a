"""The recorder: hands each decision record to the sink, now (`required`) or in batches (`best-effort`).

`required`: `submit` returns only once the sink has stored every record, or raises
RecordsUnavailable, and the caller answers 503 with Retry-After instead of the score.
`best-effort`: `submit` appends to a bounded in-memory buffer and returns; `flush` (at the
end of every Lambda invocation, every `DECISION_FLUSH_INTERVAL_S` on a server and at
shutdown) writes it. Every record that is not stored, dropped from a full buffer or
refused by the sink, is counted in the DecisionRecordsLost metric; every one stored in
DecisionRecordsWritten; in `required` mode, every one refused (so its score withheld) in
DecisionRecordsUnavailable. Nothing is lost without being counted.

Records hold applicant fields: they go to the sink only, never to the logs (errors here
name the sink and the count, never a record).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Literal

from lambda_app import telemetry
from lambda_app.records.format import DecisionRecord
from lambda_app.records.sinks import Sink, SinkError, make_sink
from lambda_app.settings import Settings

Mode = Literal["off", "best-effort", "required"]
LOST = "DecisionRecordsLost"
WRITTEN = "DecisionRecordsWritten"
UNAVAILABLE = "DecisionRecordsUnavailable"  # `required`: records refused by the sink, so scores not returned


class RecordsUnavailable(Exception):
    """`required` mode and the sink did not store the records: answer 503, Retry-After seconds."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def serialize(records: Sequence[DecisionRecord]) -> list[bytes]:
    return [r.model_dump_json().encode() for r in records]


class Recorder:
    def __init__(
        self, mode: Mode, sink: Sink | None, buffer_max: int = 10_000, batch_size: int = 500, retry_after: int = 5
    ) -> None:
        if mode != "off" and sink is None:
            raise ValueError(f"mode {mode!r} needs a sink")
        self.mode: Mode = mode
        self.sink = sink
        self.buffer_max = buffer_max
        self.batch_size = batch_size
        self.retry_after = retry_after
        self._buffer: deque[bytes] = deque()
        self._buffer_lock = threading.Lock()  # held only to append or take: never during a write
        self._flush_lock = threading.Lock()  # one flush writes at a time, so batches keep their order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def pending(self) -> int:
        """Records buffered and not yet written."""
        return len(self._buffer)

    def submit(self, records: Sequence[DecisionRecord]) -> None:
        if self.mode == "off" or not records:
            return
        lines = serialize(records)
        if self.mode == "required":
            assert self.sink is not None
            try:
                self.sink.write(lines)
            except Exception as e:  # SinkError, or a sink's bug: either way the record is not stored
                written = e.written if isinstance(e, SinkError) else 0
                # Not lost: the caller gets a 503, not a score, so there is no decision to record.
                telemetry.count(UNAVAILABLE, len(lines) - written)
                telemetry.count(WRITTEN, written)
                raise RecordsUnavailable(
                    f"Decision records could not be stored ({_describe(e)}); the score was not returned.",
                    self.retry_after,
                ) from None
            telemetry.count(WRITTEN, len(lines))
            return
        with self._buffer_lock:
            self._buffer.extend(lines)
            dropped = len(self._buffer) - self.buffer_max
            for _ in range(max(dropped, 0)):
                self._buffer.popleft()  # the oldest go first: the sink has been failing longest for them
        if dropped > 0:
            telemetry.count(LOST, dropped)

    def flush(self) -> int:
        """Write everything buffered, in batches of `batch_size`; the number stored. After a
        batch fails the rest are not tried (the sink is down or throttling) and all are counted lost."""
        if self.sink is None:
            return 0
        with self._flush_lock:
            with self._buffer_lock:
                lines = list(self._buffer)
                self._buffer.clear()
            written = 0
            try:
                for start in range(0, len(lines), self.batch_size):
                    batch = lines[start : start + self.batch_size]
                    try:
                        self.sink.write(batch)
                    except Exception as e:  # SinkError, or a sink's bug: count the loss either way
                        written += e.written if isinstance(e, SinkError) else 0
                        telemetry.count(LOST, len(lines) - written)
                        telemetry.logger.warning(
                            "Decision records lost", extra={"lost": len(lines) - written, "sink_error": _describe(e)}
                        )
                        return written
                    written += len(batch)
            finally:
                telemetry.count(WRITTEN, written)
            return written

    def start_flusher(self, interval_s: float) -> None:
        """Flush every `interval_s` on a daemon thread (servers; Lambda calls flush() itself:
        a thread is frozen with the execution environment between invocations)."""
        if self.mode != "best-effort" or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="decision-records", daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()  # counts its own losses, whatever the sink raises

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the flusher and write what is left (server shutdown, SIGTERM)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout_s)
        self.flush()


def _describe(e: Exception) -> str:
    # A SinkError's message names the sink and the count; any other error only by its type, since
    # its message could quote what it was given (a record).
    return str(e) if isinstance(e, SinkError) else f"{type(e).__name__} in the sink"


def make_recorder(settings: Settings) -> Recorder:
    """The recorder the settings describe; RecordsConfigError (raised by make_sink) when the
    sink cannot work, for the caller to print at start-up like a BundleError."""
    mode = settings.decision_records
    if mode == "off":
        return Recorder("off", None)
    sink = make_sink(settings.decision_sink, durable=mode == "required")
    return Recorder(mode, sink, buffer_max=settings.decision_buffer_max)
