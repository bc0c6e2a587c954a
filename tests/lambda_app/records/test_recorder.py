"""The recorder's modes: off records nothing, required writes before returning, best-effort buffers and flushes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lambda_app import telemetry
from lambda_app.core.scoring import Scorer
from lambda_app.records.read import iter_records
from lambda_app.records.recorder import Recorder, RecordsUnavailable, make_recorder
from lambda_app.records.sinks import DirectorySink, RecordsConfigError
from lambda_app.settings import Settings
from tests.lambda_app.records.conftest import scored
from tests.lambda_app.records.metrics import published


def stored(root: Path) -> list[str]:
    return [r["decision_id"] for r in iter_records(str(root))] if root.exists() else []


def test_off_records_nothing_and_needs_no_sink(tmp_path: Path, scorer: Scorer) -> None:
    recorder = make_recorder(Settings(decision_records="off", decision_sink=str(tmp_path / "d")))
    assert not recorder.enabled
    recorder.submit(scored(scorer, 2))
    assert recorder.flush() == 0 and not (tmp_path / "d").exists()


def test_required_writes_before_submit_returns(
    tmp_path: Path, scorer: Scorer, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = make_recorder(Settings(decision_records="required", decision_sink=str(tmp_path)))
    records = scored(scorer, 3)
    recorder.submit(records)
    assert stored(tmp_path) == [r.decision_id for r in records]
    assert isinstance(recorder.sink, DirectorySink) and recorder.sink.durable
    assert published(capsys)["DecisionRecordsWritten"] == 3


def test_required_with_the_sink_gone_raises_with_retry_after(tmp_path: Path, scorer: Scorer) -> None:
    recorder = Recorder("required", DirectorySink(tmp_path / "gone"), retry_after=7)
    with pytest.raises(RecordsUnavailable) as caught:
        recorder.submit(scored(scorer, 1))
    assert caught.value.retry_after == 7
    assert "could not be stored" in str(caught.value)


def test_best_effort_buffers_until_flushed(tmp_path: Path, scorer: Scorer, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = make_recorder(Settings(decision_records="best-effort", decision_sink=str(tmp_path)))
    records = scored(scorer, 5)
    recorder.submit(records[:2])
    recorder.submit(records[2:])
    assert stored(tmp_path) == [] and recorder.pending == 5
    assert recorder.flush() == 5
    assert stored(tmp_path) == [r.decision_id for r in records] and recorder.pending == 0
    assert published(capsys) == {"DecisionRecordsLost": 0, "DecisionRecordsWritten": 5, "DecisionRecordsUnavailable": 0}


def test_best_effort_full_buffer_drops_the_oldest_and_counts_them(
    tmp_path: Path, scorer: Scorer, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder("best-effort", DirectorySink(tmp_path), buffer_max=3)
    records = scored(scorer, 5)
    for r in records:
        recorder.submit([r])
    recorder.flush()
    assert stored(tmp_path) == [r.decision_id for r in records[2:]]
    assert published(capsys)["DecisionRecordsLost"] == 2


def test_flusher_thread_writes_in_the_background_and_at_close(tmp_path: Path, scorer: Scorer) -> None:
    recorder = Recorder("best-effort", DirectorySink(tmp_path))
    recorder.start_flusher(0.01)
    records = scored(scorer, 3)
    recorder.submit(records[:1])
    for _ in range(500):
        if stored(tmp_path):
            break
        import time

        time.sleep(0.01)
    assert stored(tmp_path) == [records[0].decision_id]
    recorder.submit(records[1:])
    recorder.close()
    assert stored(tmp_path) == [r.decision_id for r in records]


def test_records_never_reach_the_logs(tmp_path: Path, scorer: Scorer, capsys: pytest.CaptureFixture[str]) -> None:
    logged: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(json.dumps(record.__dict__, default=str))

    handler = Keep()
    logging.getLogger(telemetry.SERVICE).addHandler(handler)
    try:
        recorder = Recorder("best-effort", DirectorySink(tmp_path / "gone"))
        records = scored(scorer, 2)
        recorder.submit(records)
        recorder.flush()
    finally:
        logging.getLogger(telemetry.SERVICE).removeHandler(handler)
    out = capsys.readouterr()
    text = "\n".join(logged) + out.out + out.err
    assert "Decision records lost" in text  # the loss is logged...
    assert records[0].decision_id not in text and "AnnualIncome" not in text  # ...never a record


def test_unwritable_sink_setting_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(RecordsConfigError, match="DECISION_SINK"):
        make_recorder(Settings(decision_records="best-effort", decision_sink=str(tmp_path / "f" / "x")))
    with pytest.raises(RecordsConfigError, match="unknown scheme"):
        make_recorder(Settings(decision_records="required", decision_sink="ftp://host/x"))


class BrokenSink:
    """A sink with a bug: it raises something other than SinkError."""

    def write(self, lines: object) -> None:
        raise KeyError("AnnualIncome=48000")


def test_a_sink_that_breaks_still_has_its_losses_counted(scorer: Scorer, capsys: pytest.CaptureFixture[str]) -> None:
    best_effort = Recorder("best-effort", BrokenSink())
    best_effort.submit(scored(scorer, 3))
    assert best_effort.flush() == 0
    assert published(capsys)["DecisionRecordsLost"] == 3
    with pytest.raises(RecordsUnavailable, match="KeyError in the sink") as caught:
        Recorder("required", BrokenSink()).submit(scored(scorer, 2))
    assert "48000" not in str(caught.value)
    assert published(capsys)["DecisionRecordsUnavailable"] == 2
