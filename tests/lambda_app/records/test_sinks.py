"""The sinks: a directory of JSON Lines, Firehose into S3, S3 objects; each stores a whole batch or says how much."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambda_app.core.scoring import Scorer
from lambda_app.records.read import iter_records
from lambda_app.records.sinks import (
    DirectorySink,
    FirehoseSink,
    RecordsConfigError,
    S3Sink,
    SinkError,
    firehose_batches,
    make_sink,
)
from tests.lambda_app.records.conftest import BUCKET, STREAM, scored

DAY = 1_796_169_600.0  # 2026-12-02T00:00:00Z


def lines(n: int, size: int = 20) -> list[bytes]:
    return [json.dumps({"decision_id": f"{i:06d}", "pad": "x" * size}).encode() for i in range(n)]


def test_directory_sink_writes_json_lines_under_the_day(tmp_path: Path, scorer: Scorer) -> None:
    records = scored(scorer, 3)
    sink = DirectorySink(tmp_path, clock=lambda: DAY)
    sink.write([r.model_dump_json().encode() for r in records])
    sink.write([records[0].model_dump_json().encode()])
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.parent.name == "dt=2026-12-02"
    assert path.read_bytes().count(b"\n") == 4 and path.read_bytes().endswith(b"\n")
    back = list(iter_records(str(tmp_path)))
    assert [r["decision_id"] for r in back] == [r.decision_id for r in records] + [records[0].decision_id]
    assert back[0]["applicant"] == records[0].applicant


def test_directory_sink_removed_is_an_error_not_a_silent_write(tmp_path: Path) -> None:
    root = tmp_path / "decisions"
    sink = make_sink(str(root))
    sink.write(lines(1))
    shutil.rmtree(root)
    with pytest.raises(SinkError, match="Cannot open"):
        sink.write(lines(2))
    assert not root.exists()  # not recreated behind the operator's back


def test_a_failed_write_leaves_no_half_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    sink = DirectorySink(tmp_path, clock=lambda: DAY)
    sink.write(lines(2))
    real_write = os.write

    def short_then_full_disk(fd: int, data: bytes) -> int:
        if len(data) > 100:
            return real_write(fd, data[:37])  # part of the batch, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full_disk)
    with pytest.raises(SinkError, match="No space left"):
        sink.write(lines(10))
    monkeypatch.undo()
    assert [r["decision_id"] for r in iter_records(str(tmp_path))] == ["000000", "000001"]
    (path,) = tmp_path.rglob("*.jsonl")
    assert path.read_bytes().endswith(b"\n")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("kafka://topic", "unknown scheme 'kafka'"),
        ("firehose://", "firehose://STREAM_NAME"),
        ("firehose://stream/extra", "firehose://STREAM_NAME"),
        ("s3://", "s3://BUCKET/PREFIX"),
    ],
)
def test_unusable_sink_settings_are_refused_at_start(spec: str, message: str) -> None:
    with pytest.raises(RecordsConfigError, match=message):
        make_sink(spec)


def test_a_directory_that_cannot_be_created_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(RecordsConfigError, match="cannot create the records directory"):
        make_sink(str(tmp_path / "file" / "decisions"))


def test_sink_kinds_from_the_setting(tmp_path: Path) -> None:
    assert isinstance(make_sink("firehose://loan-risk-decisions"), FirehoseSink)
    s3 = make_sink("s3://bucket/records/")
    assert isinstance(s3, S3Sink) and (s3.bucket, s3.prefix) == ("bucket", "records")
    local = make_sink(str(tmp_path / "d"), durable=True)
    assert isinstance(local, DirectorySink) and local.durable


def test_firehose_batches_keep_within_put_record_batch_limits() -> None:
    batches = list(firehose_batches(lines(1201)))
    assert [len(b) for b in batches] == [500, 500, 201]
    big = list(firehose_batches(lines(12, size=900_000)))  # about 0.9 MB each: 4 MiB holds four
    assert [len(b) for b in big] == [4, 4, 4]
    assert all(sum(map(len, b)) <= 4 * 1024 * 1024 for b in big)
    assert all(r.endswith(b"\n") for b in batches for r in b)
    with pytest.raises(SinkError, match="1,000 KiB"):
        list(firehose_batches(lines(1, size=1_100_000)))


def test_firehose_delivers_into_s3_and_the_reader_reads_them_back(firehose_to_s3: Any, scorer: Scorer) -> None:
    records = scored(scorer, 620)  # two PutRecordBatch calls
    FirehoseSink(STREAM).write([r.model_dump_json().encode() for r in records])
    keys = [o["Key"] for o in firehose_to_s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys and all(k.startswith("decisions/dt=") for k in keys)
    back = list(iter_records(f"s3://{BUCKET}/decisions/"))
    assert sorted(r["decision_id"] for r in back) == sorted(r.decision_id for r in records)
    assert back[0]["model"]["version"] == scorer.version


def test_firehose_stream_missing_stores_nothing(aws: None) -> None:
    with pytest.raises(SinkError, match="ResourceNotFoundException") as caught:
        FirehoseSink("no-such-stream").write(lines(3))
    assert caught.value.written == 0


def stubbed_firehose() -> tuple[Any, Stubber]:
    # moto accepts every record PutRecordBatch sends (it never reports FailedPutCount), so the
    # throttled answers come from botocore's Stubber, in the shape the service returns them.
    client = boto3.client("firehose", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def answer(errors: list[str | None]) -> dict[str, Any]:
    responses = [
        {"ErrorCode": e, "ErrorMessage": "Slow down."} if e else {"RecordId": f"id-{i}"} for i, e in enumerate(errors)
    ]
    return {"FailedPutCount": sum(1 for e in errors if e), "RequestResponses": responses}


def test_firehose_retries_only_the_throttled_items() -> None:
    client, stub = stubbed_firehose()
    batch = lines(4)
    throttled = "ServiceUnavailableException"
    stub.add_response("put_record_batch", answer([None, throttled, None, throttled]))
    stub.add_response(
        "put_record_batch",
        answer([None, None]),
        {"DeliveryStreamName": STREAM, "Records": [{"Data": batch[1] + b"\n"}, {"Data": batch[3] + b"\n"}]},
    )
    with stub:
        FirehoseSink(STREAM, client=client, sleep=lambda s: None).write(batch)
    stub.assert_no_pending_responses()


def test_firehose_throttled_throughout_reports_what_was_stored() -> None:
    client, stub = stubbed_firehose()
    throttled = "ServiceUnavailableException"
    stub.add_response("put_record_batch", answer([None] * 500))  # the first 500: stored
    stub.add_response("put_record_batch", answer([None, throttled, None]))
    stub.add_response("put_record_batch", answer([throttled]))  # the retry: refused again, and no more tries
    with stub, pytest.raises(SinkError, match="did not accept") as caught:
        FirehoseSink(STREAM, client=client, attempts=2, sleep=lambda s: None).write(lines(503))
    assert caught.value.written == 500  # the complete prefix; the batch with a refused item is not counted


def test_s3_sink_writes_one_object_per_batch(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sink = S3Sink(BUCKET, "/decisions/", clock=lambda: DAY)
    sink.write(lines(3))
    sink.write(lines(2))
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert len(keys) == 2 and all(k.startswith("decisions/dt=2026-12-02/") for k in keys)
    assert len(list(iter_records(f"s3://{BUCKET}/decisions"))) == 5


def test_s3_bucket_missing_is_an_error(aws: None) -> None:
    with pytest.raises(SinkError, match="NoSuchBucket"):
        S3Sink("no-such-bucket", "decisions").write(lines(1))
