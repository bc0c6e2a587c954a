"""Where decision records go: a local directory of JSON Lines, Firehose into S3, or S3 directly.

A sink takes a batch of serialized records (one JSON object each, no newline) and either
stores every one of them or raises SinkError saying how many it stored first. The
DECISION_SINK setting picks one (`make_sink`): `firehose://STREAM`, `s3://BUCKET/PREFIX`,
or a directory path.

A record is in the store once its line ends with a newline: a writer killed mid-line
leaves at most an unterminated tail, which readers skip (lambda_app.records.read).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

# Firehose's PutRecordBatch limits: 500 records and 4 MiB a call, 1,000 KiB a record.
FIREHOSE_MAX_RECORDS = 500
FIREHOSE_MAX_BYTES = 4 * 1024 * 1024
FIREHOSE_MAX_RECORD = 1000 * 1024


class SinkError(Exception):
    """The sink did not take the whole batch; `written` of its lines (the first ones, in
    order) are stored, the rest are not."""

    def __init__(self, message: str, written: int = 0) -> None:
        super().__init__(message)
        self.written = written


class RecordsConfigError(ValueError):
    """DECISION_SINK (or another records setting) cannot work; the message says what to change."""


class Sink(Protocol):
    def write(self, lines: Sequence[bytes]) -> None:
        """Store every line (one JSON record, without its newline), or raise SinkError."""


def _writer_name() -> str:
    """`<host>-<pid>-<start>`: one file or object series per process, so two writers never
    share a file and a restarted process never appends to a dead one's torn tail."""
    host = socket.gethostname().split(".")[0] or "host"
    return f"{host}-{os.getpid()}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"


def _day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class DirectorySink:
    """JSON Lines under `ROOT/dt=YYYY-MM-DD/<host>-<pid>-<start>.jsonl` (UTC day of the write).

    Each batch is one os.write on a file opened for appending, so batches from threads of
    one process never interleave; if the write fails part-way the file is cut back to where
    it was, so no half line is left. `durable` fsyncs each batch (the `required` mode: a
    record is only acknowledged once it is on disk). The file is opened for every batch, so a
    removed or unmounted directory is an error rather than writes into an unlinked file.
    """

    def __init__(self, root: Path, durable: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.durable = durable
        self._clock = clock
        self._pid = -1
        self._name = ""

    def path_for(self, now: float) -> Path:
        if os.getpid() != self._pid:  # a forked worker writes a file of its own
            self._pid, self._name = os.getpid(), _writer_name()
        return self.root / f"dt={_day(now)}" / f"{self._name}.jsonl"

    def write(self, lines: Sequence[bytes]) -> None:
        if not lines:
            return
        data = b"".join(line + b"\n" for line in lines)
        path = self.path_for(self._clock())
        try:
            # Not parents=True: if ROOT itself is gone (a volume unmounted) recreating it
            # would hide the records where nobody looks.
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as e:
            raise SinkError(f"Cannot open {path}: {e.strerror}") from None
        try:
            start = os.fstat(fd).st_size
            try:
                done = 0
                while done < len(data):
                    done += os.write(fd, data[done:])
                if self.durable:
                    os.fsync(fd)
            except OSError as e:
                _cut_back(fd, start)
                raise SinkError(f"Cannot write {path}: {e.strerror}") from None
        finally:
            os.close(fd)


def _cut_back(fd: int, size: int) -> None:
    with contextlib.suppress(OSError):  # if this fails too, the tail stays unterminated: readers skip it
        os.ftruncate(fd, size)


def aws_client(service: str, **kwargs: Any) -> Any:
    import boto3  # only AWS sinks pay for importing boto3
    from botocore.config import Config

    # Short timeouts: in `required` mode the caller waits for this call.
    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})
    make: Any = boto3.client  # typed per service name; this one takes either
    return make(service, config=config, **kwargs)


def firehose_batches(lines: Sequence[bytes]) -> Iterator[list[bytes]]:
    """Records with their newline, grouped within PutRecordBatch's limits, in order."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        record = line + b"\n"
        if len(record) > FIREHOSE_MAX_RECORD:
            raise SinkError(f"A decision record of {len(record)} bytes is over Firehose's 1,000 KiB limit")
        if batch and (len(batch) == FIREHOSE_MAX_RECORDS or size + len(record) > FIREHOSE_MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


class FirehoseSink:
    """Kinesis Data Firehose (`firehose://STREAM`), which buffers records into S3 objects under
    `dt=YYYY-MM-DD/` (template.yaml). A record is stored once Firehose accepts it.

    Items PutRecordBatch reports as failed (FailedPutCount: throttling, internal errors) are
    sent again, only those, up to `attempts` times with a short backoff; botocore already
    retries a whole call that is throttled or fails. Batches go in order and stop at the first
    that cannot be stored, so `SinkError.written` counts a prefix of the lines."""

    def __init__(
        self,
        stream: str,
        client: Any = None,
        attempts: int = 4,
        backoff_s: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stream = stream
        self._client = client
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("firehose")
        return self._client

    def write(self, lines: Sequence[bytes]) -> None:
        written = 0
        for batch in firehose_batches(lines):
            stored = self._put(batch)
            if stored < len(batch):
                # Failed items are retried on their own, so later ones may have been stored
                # while earlier ones were not; only the complete prefix counts as written.
                raise SinkError(
                    f"Firehose stream {self.stream} did not accept {len(batch) - stored} of {len(batch)} records",
                    written,
                )
            written += stored
        return None

    def _put(self, batch: list[bytes]) -> int:
        """How many of `batch`, from the start, are stored (all of them, or fewer on failure)."""
        from botocore.exceptions import BotoCoreError, ClientError

        pending = list(range(len(batch)))
        for attempt in range(self.attempts):
            try:
                response = self.client.put_record_batch(
                    DeliveryStreamName=self.stream, Records=[{"Data": batch[i]} for i in pending]
                )
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code not in ("ServiceUnavailableException", "ThrottlingException", "InternalFailure"):
                    raise SinkError(f"Firehose stream {self.stream}: {code or e}", 0) from None
                failed = pending
            except BotoCoreError as e:
                raise SinkError(f"Cannot reach Firehose for stream {self.stream}: {e}", 0) from None
            else:
                results = response.get("RequestResponses", [])
                if len(results) != len(pending):  # not an answer to this request: trust none of it
                    failed = pending
                else:
                    failed = [i for i, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not failed:
                return len(batch)
            pending = failed
            if attempt + 1 < self.attempts:
                self._sleep(self.backoff_s * 2**attempt)
        return pending[0]


class S3Sink:
    """One S3 object per batch (`s3://BUCKET/PREFIX`), under
    `PREFIX/dt=YYYY-MM-DD/<host>-<pid>-<start>-<n>.jsonl`. A PutObject stores all of a batch or
    none of it. The bucket's default encryption (KMS) and Object Lock apply; a checksum is
    sent with each object because S3 requires one on buckets with Object Lock."""

    def __init__(self, bucket: str, prefix: str, client: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._clock = clock
        self._pid = -1
        self._name = ""
        self._sequence = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def key_for(self, now: float) -> str:
        if os.getpid() != self._pid:
            self._pid, self._name, self._sequence = os.getpid(), _writer_name(), 0
        self._sequence += 1
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}dt={_day(now)}/{self._name}-{self._sequence:08d}.jsonl"

    def write(self, lines: Sequence[bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not lines:
            return
        key = self.key_for(self._clock())
        body = b"".join(line + b"\n" for line in lines)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson", ChecksumAlgorithm="SHA256"
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise SinkError(f"Cannot write s3://{self.bucket}/{key}: {code or e}") from None
        except BotoCoreError as e:
            raise SinkError(f"Cannot reach S3 for s3://{self.bucket}/{key}: {e}") from None


def make_sink(spec: str, durable: bool = False) -> Sink:
    """The sink DECISION_SINK names, checked as far as can be without calling AWS: an unknown
    scheme, a malformed URI or a directory that cannot be written is a RecordsConfigError."""
    if "://" in spec:
        parsed = urlparse(spec)
        if parsed.scheme == "firehose":
            if not parsed.netloc or parsed.path.strip("/"):
                raise RecordsConfigError(
                    f"DECISION_SINK={spec!r}: write firehose://STREAM_NAME (the stream's name only)."
                )
            return FirehoseSink(parsed.netloc)
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise RecordsConfigError(f"DECISION_SINK={spec!r}: write s3://BUCKET/PREFIX.")
            return S3Sink(parsed.netloc, parsed.path)
        raise RecordsConfigError(
            f"DECISION_SINK={spec!r}: unknown scheme {parsed.scheme!r}; use firehose://STREAM, s3://BUCKET/PREFIX "
            "or a local directory path."
        )
    root = Path(spec)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RecordsConfigError(
            f"DECISION_SINK={spec!r}: cannot create the records directory ({e.strerror}); point it at a writable "
            "directory, or set DECISION_RECORDS=off."
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise RecordsConfigError(
            f"DECISION_SINK={spec!r}: the records directory is not writable by this process; fix its permissions "
            "or point DECISION_SINK elsewhere."
        )
    return DirectorySink(root, durable=durable)
