"""What keeping decision records adds to a Lambda invocation: submit one record and flush it
(what the handler does before returning), to Firehose and to S3 on a moto server over
loopback, beside the local directory sink and records off.

moto runs in a process of its own (`python -m moto.server`), so its work does not share this
process's interpreter lock; what is measured is the client's side (serializing, signing, one
HTTP round trip over loopback). A real AWS endpoint adds the network and the service's own
time on top: that part is not measured here.

`python -m benchmarks.records_sink` prints the figures as JSON.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.common import example, free_port, to_json
from lambda_app.records.format import DecisionRecord, ModelRef, ReasonRecord, ReasonsRecord, new_decision_id
from lambda_app.records.recorder import Recorder
from lambda_app.records.sinks import DirectorySink, FirehoseSink, S3Sink, Sink, aws_client

STREAM = "bench-decisions"
BUCKET = "bench-decision-records"


@dataclass
class SinkCost:
    off_us: float  # submit with records off: the floor
    directory_us: float  # best-effort, local directory sink
    firehose_us: float  # best-effort, Firehose PutRecordBatch to moto server
    firehose_p99_us: float
    firehose_cpu_us: float  # this process's CPU time of it: the client's own work, without the wait
    s3_us: float  # best-effort, S3 PutObject to moto server
    record_bytes: int


def record() -> DecisionRecord:
    """A record as the single-score route keeps it: the applicant and four reasons each way."""
    applicant = example()
    fields = list(applicant)
    did = new_decision_id()
    return DecisionRecord(
        decision_id=did,
        decided_at="2026-12-02T00:00:00.000Z",
        channel="api",
        request_id="bench-request",
        model=ModelRef(version="20261202-bench", model_sha256="0" * 64),
        applicant=applicant,
        risk_score=51.2345,
        risk_band="medium",
        percentile=48.2,
        reasons=ReasonsRecord(
            baseline=50.1,
            model_output=51.2345,
            raised=[ReasonRecord(feature=f, value=applicant[f], contribution=0.5) for f in fields[:4]],
            lowered=[ReasonRecord(feature=f, value=applicant[f], contribution=-0.3) for f in fields[4:8]],
            other=0.3345,
        ),
    )


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("moto server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def invocation_us(recorder: Recorder, n: int) -> tuple[list[float], list[float]]:
    """Per invocation: submit one new record, then flush, as the Lambda handler does; wall and CPU time."""
    wall, cpu = [], []
    for _ in range(n):
        one = record()
        t, c = time.perf_counter(), time.thread_time()
        recorder.submit([one])
        recorder.flush()
        wall.append((time.perf_counter() - t) * 1e6)
        cpu.append((time.thread_time() - c) * 1e6)
    return wall, cpu


def timed(sink: Sink | None, n: int, warmup: int = 20) -> tuple[list[float], list[float]]:
    recorder = Recorder("off", None) if sink is None else Recorder("best-effort", sink)
    invocation_us(recorder, warmup)
    return invocation_us(recorder, n)


def measure(n: int = 300) -> SinkCost:
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    try:
        with moto_server() as url, tempfile.TemporaryDirectory() as tmp:
            client: Callable[[str], object] = lambda service: aws_client(service, endpoint_url=url)  # noqa: E731
            s3, firehose = client("s3"), client("firehose")
            s3.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
            firehose.create_delivery_stream(  # type: ignore[attr-defined]
                DeliveryStreamName=STREAM,
                DeliveryStreamType="DirectPut",
                ExtendedS3DestinationConfiguration={
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                    "BucketARN": f"arn:aws:s3:::{BUCKET}",
                    "Prefix": "decisions/dt=!{timestamp:yyyy-MM-dd}/",
                },
            )
            off, _ = timed(None, n)
            directory, _ = timed(DirectorySink(Path(tmp)), n)
            to_firehose, firehose_cpu = timed(FirehoseSink(STREAM, client=firehose), n)
            to_s3, _ = timed(S3Sink(BUCKET, "direct", client=s3), n)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return SinkCost(
        off_us=statistics.median(off),
        directory_us=statistics.median(directory),
        firehose_us=statistics.median(to_firehose),
        firehose_p99_us=statistics.quantiles(to_firehose, n=100)[98],
        firehose_cpu_us=statistics.median(firehose_cpu),
        s3_us=statistics.median(to_s3),
        record_bytes=len(record().model_dump_json()) + 1,
    )


if __name__ == "__main__":
    print(to_json(asdict(measure())))
