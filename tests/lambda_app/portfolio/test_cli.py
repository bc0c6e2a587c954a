"""`loan-risk score` on real files: the API's scores for the same applicants, every row
accounted for, clear exit-2 messages, staged output, S3 through moto."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from lambda_app.cli import main as loan_risk
from lambda_app.core.batch import validate_strings
from lambda_app.core.schema import FEATURES, FIELDS
from lambda_app.core.scoring import Scorer
from lambda_app.portfolio.cli import main
from lambda_app.portfolio.progress import line
from tests.conftest import S3_BUCKET
from tests.lambda_app.portfolio.conftest import BROKEN, ROWS


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def _expected(portfolio_csv: Path, scorer: Scorer) -> dict[str, tuple[float, str, float]]:
    """id -> (score, band, percentile) from the API's scorer, valid rows only."""
    records = [r for r in _read(portfolio_csv) if r["id"] != "A-bad"]
    rows = validate_strings([{c: r[c] for c in FEATURES} for r in records])
    valid = [(rec["id"], row.applicant) for rec, row in zip(records, rows, strict=True) if row.applicant]
    scores = scorer.score([a for _, a in valid])
    return {i: (s, scorer.band(s), scorer.percentile(s)) for (i, _), s in zip(valid, scores, strict=True)}


@pytest.mark.parametrize("workers", [1, 2])
def test_scores_match_the_api_and_bad_rows_say_why(
    portfolio_csv: Path, bundle_dir: Path, scorer: Scorer, tmp_path: Path, workers: int, capsys: Any
) -> None:
    out = tmp_path / "scores.csv"
    code = loan_risk(
        ["score", "--in", str(portfolio_csv), "--out", str(out), "--model", str(bundle_dir), "--workers", str(workers)]
    )
    assert code == 0
    rows = _read(out)
    assert len(rows) == ROWS + 1  # every row and the malformed line
    assert list(rows[0]) == ["id", "risk_score", "risk_band", "percentile", "errors"]
    expected = _expected(portfolio_csv, scorer)
    scored = {
        r["id"]: (float(r["risk_score"]), r["risk_band"], float(r["percentile"])) for r in rows if r["risk_score"]
    }
    assert scored == expected
    failed = {r["id"]: r["errors"] for r in rows if not r["risk_score"]}
    assert set(failed) == {f"A{n:05d}" for n in BROKEN} | {""}
    assert failed["A00007"].startswith("Age: Input should be a valid integer")
    assert "fields where the header has" in failed[""]
    assert [r["id"] for r in rows[499:501]] == ["A00500", ""]  # the malformed line in its place
    summary = capsys.readouterr()
    assert f"{ROWS + 1:,} rows" in summary.out and f"{len(expected):,} scored, 4 failed" in summary.out
    assert summary.err == ""  # no progress bar when stderr is not a terminal
    assert not (tmp_path / "scores.csv.partial").exists()


def test_scores_match_for_every_batch_size(bundle_dir: Path, scorer: Scorer, tmp_path: Path) -> None:
    """Scorer.score takes a row path under 100 applicants and a column path from 100 on: the
    file's column path gives the same scores as either."""
    from training import synth

    frame = synth.generate(250, seed=9)[list(FEATURES)]
    applicants = [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in frame.to_dict("records")
    ]
    for n in (1, 99, 100, 250):
        path = tmp_path / f"n{n}.parquet"
        pq.write_table(pa.Table.from_pylist(applicants[:n]), path)
        out = tmp_path / f"n{n}.csv"
        assert main(["--in", str(path), "--out", str(out), "--model", str(bundle_dir), "--workers", "1"]) == 0
        got = [float(r["risk_score"]) for r in _read(out)]
        assert got == scorer.score(applicants[:n])
        assert [int(r["row"]) for r in _read(out)] == list(range(1, n + 1))


def test_parquet_in_and_out_with_reasons(portfolio_csv: Path, bundle_dir: Path, scorer: Scorer, tmp_path: Path) -> None:
    table = pcsv.read_csv(portfolio_csv, parse_options=pcsv.ParseOptions(invalid_row_handler=lambda _: "skip"))
    good = table.filter(pa.compute.invert(pa.compute.is_in(table["id"], pa.array([f"A{n:05d}" for n in BROKEN]))))
    typed = tmp_path / "book.parquet"
    kinds = {f.name: {"int": pa.int64(), "float": pa.float64()}.get(f.kind, pa.string()) for f in FIELDS}
    pq.write_table(good.cast(pa.schema([pa.field(n, kinds.get(n, pa.string())) for n in good.column_names])), typed)
    out = tmp_path / "scores.parquet"
    assert main(["--in", str(typed), "--out", str(out), "--model", str(bundle_dir), "--workers", "1", "--explain"]) == 0
    result = pq.read_table(out).to_pylist()
    assert len(result) == good.num_rows
    expected = _expected(portfolio_csv, scorer)
    assert {r["id"]: (r["risk_score"], r["risk_band"], r["percentile"]) for r in result} == expected
    assert all(r["reasons"] and r["errors"] == "" for r in result)
    assert result[0]["reasons"].count(";") == 3  # four reasons: "Field +1.2; Field -0.8; ..."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"PAR1 not really parquet", "not a readable Parquet file"),
        (b"name,city\nann,paris\n", "none of the applicant schema's columns"),
        (b"", "not readable as CSV"),
    ],
)
def test_unusable_files_exit_2_with_one_line(
    content: bytes | None, message: str, bundle_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / ("in.parquet" if content and content.startswith(b"PAR1") else "in.csv")
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    assert main(["--in", str(path), "--out", str(out), "--model", str(bundle_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert out.read_text() == "previous results\n"  # a failed run leaves the old output alone
    assert not (tmp_path / "out.csv.partial").exists()


def test_a_cell_that_is_not_utf8_fails_its_row_only(portfolio_csv: Path, bundle_dir: Path, tmp_path: Path) -> None:
    lines = portfolio_csv.read_bytes().split(b"\n")
    header = lines[0].split(b",")
    age, status = header.index(b"Age"), header.index(b"EmploymentStatus")
    for line_number, column in ((2, age), (3, status)):  # data rows 2 and 3
        cells = lines[line_number].split(b",")
        cells[column] = cells[column][:1] + b"\xff" + cells[column][1:]
        lines[line_number] = b",".join(cells)
    source = tmp_path / "latin.csv"
    source.write_bytes(b"\n".join(lines))
    out = tmp_path / "scores.csv"
    assert main(["--in", str(source), "--out", str(out), "--model", str(bundle_dir), "--workers", "1"]) == 0
    rows = _read(out)
    assert len(rows) == ROWS + 1
    assert rows[1]["errors"].startswith("Age: Input should be a valid integer") and not rows[1]["risk_score"]
    assert rows[2]["errors"].startswith("EmploymentStatus: Input should be") and not rows[2]["risk_score"]
    assert rows[0]["risk_score"] and rows[3]["risk_score"]


def test_s3_in_and_out(s3: Any, portfolio_csv: Path, bundle_dir: Path, scorer: Scorer, capsys: Any) -> None:
    s3.upload_file(str(portfolio_csv), S3_BUCKET, "in/book.csv")
    code = main(
        [
            "--in",
            f"s3://{S3_BUCKET}/in/book.csv",
            "--out",
            f"s3://{S3_BUCKET}/out/scores.csv",
            "--model",
            str(bundle_dir),
            "--workers",
            "1",
        ]
    )
    assert code == 0
    body = s3.get_object(Bucket=S3_BUCKET, Key="out/scores.csv")["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["id"]: float(r["risk_score"]) for r in rows if r["risk_score"]} == {
        i: v[0] for i, v in _expected(portfolio_csv, scorer).items()
    }
    assert main(["--in", f"s3://{S3_BUCKET}/in/nothing.csv", "--out", "x.csv", "--model", str(bundle_dir)]) == 2
    assert "no such object" in capsys.readouterr().err


def test_progress_line_says_rate_and_eta() -> None:
    text = line(500_000, 0.25, 10.0)
    assert "25%" in text and "500,000 rows" in text and "50,000 rows/s" in text and "ETA 0:00:30" in text
    assert line(1000, None, 1.0) == "1,000 rows  1,000 rows/s"


def test_a_missing_bundle_exits_2_before_reading(portfolio_csv: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "out.csv"
    assert main(["--in", str(portfolio_csv), "--out", str(out), "--model", str(tmp_path / "no-bundle")]) == 2
    err = capsys.readouterr().err
    assert "No model bundle" in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_forked_or_spawned_worker_writes_the_same_file(
    method: str, portfolio_csv: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker process started either way (fork where it can, spawn where another thread
    runs) scores the chunk handed to it as this process does: byte for byte the one-process file."""
    from lambda_app.portfolio import run as pipeline

    alone, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert main(["--in", str(portfolio_csv), "--out", str(alone), "--model", str(bundle_dir), "--workers", "1"]) == 0
    monkeypatch.setattr(pipeline, "start_method", lambda: method)
    assert main(["--in", str(portfolio_csv), "--out", str(two), "--model", str(bundle_dir), "--workers", "2"]) == 0
    assert two.read_bytes() == alone.read_bytes()


def test_the_worker_is_spawned_while_another_thread_runs() -> None:
    import threading

    from lambda_app.portfolio.run import start_method

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_a_full_shared_memory_does_not_stop_the_run(
    portfolio_csv: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for a chunk in /dev/shm: this process scores it itself, the same file comes out."""
    import os

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    alone, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert main(["--in", str(portfolio_csv), "--out", str(alone), "--model", str(bundle_dir), "--workers", "1"]) == 0
    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    monkeypatch.setattr(os, "ftruncate", full)
    assert main(["--in", str(portfolio_csv), "--out", str(two), "--model", str(bundle_dir), "--workers", "2"]) == 0
    assert two.read_bytes() == alone.read_bytes()


def test_a_worker_that_dies_stops_the_run_with_a_message(
    portfolio_csv: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The other scoring process killed mid-run (as the kernel does when memory runs out): the
    run stops at once with one line saying so, and the output is not written."""
    import os

    from lambda_app.portfolio import run as pipeline
    from lambda_app.portfolio import worker

    here = os.getpid()
    score = worker.score

    def dies_in_the_worker(*args: Any) -> Any:
        if os.getpid() != here:
            os._exit(137)
        return score(*args)

    monkeypatch.setattr(pipeline, "start_method", lambda: "fork")  # the worker runs this module as patched
    monkeypatch.setattr(worker, "score", dies_in_the_worker)
    out = tmp_path / "scores.csv"
    assert main(["--in", str(portfolio_csv), "--out", str(out), "--model", str(bundle_dir), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "a scoring process stopped (exit code 137)" in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "scores.csv.partial").exists()


def test_results_with_no_room_in_the_slot_come_back_down_the_pipe(
    portfolio_csv: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_app.portfolio import run as pipeline
    from lambda_app.portfolio import worker

    alone, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert main(["--in", str(portfolio_csv), "--out", str(alone), "--model", str(bundle_dir), "--workers", "1"]) == 0
    monkeypatch.setattr(pipeline, "start_method", lambda: "fork")  # the worker runs this module as patched
    monkeypatch.setattr(worker, "give_back", lambda *_: None)
    assert main(["--in", str(portfolio_csv), "--out", str(two), "--model", str(bundle_dir), "--workers", "2"]) == 0
    assert two.read_bytes() == alone.read_bytes()


def test_ctrl_c_stops_every_process_with_one_line(portfolio_csv: Path, bundle_dir: Path, tmp_path: Path) -> None:
    """Ctrl-C reaches the command and its worker (one process group): one line, exit 130, no
    traceback from either, and no output left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lines = portfolio_csv.read_text().splitlines()
    big = tmp_path / "big.csv"
    with big.open("w") as f:
        f.write(lines[0] + "\n")
        body = "\n".join(line for line in lines[1:] if not line.startswith("A-bad")) + "\n"
        for _ in range(400):  # 600,000 rows: a run of a second or two
            f.write(body)
    out = tmp_path / "scores.csv"
    command = [sys.executable, "-m", "lambda_app.cli", "score", "--in", str(big), "--out", str(out)]
    command += ["--model", str(bundle_dir), "--workers", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    partial = tmp_path / "scores.csv.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert run.poll() is None, "the run ended before it could be interrupted"
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert err.strip() == f"loan-risk score: interrupted; {out} was not written (run the command again)"
    assert not out.exists() and not partial.exists()


def test_an_error_in_the_worker_stops_the_run_with_its_own_words(
    portfolio_csv: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error while the worker scores a chunk is raised here, as it would be with
    one process, even when the exception itself cannot be sent (it holds a lock, say)."""
    import threading

    from lambda_app.portfolio import run as pipeline
    from lambda_app.portfolio import worker

    class Unsendable(Exception):
        def __init__(self) -> None:
            super().__init__("the model input is not what it should be")
            self.lock = threading.Lock()

    def fails(*_: Any) -> Any:
        raise Unsendable()

    monkeypatch.setattr(pipeline, "start_method", lambda: "fork")  # the worker runs this module as patched
    monkeypatch.setattr(worker, "score", fails)
    out = tmp_path / "scores.csv"
    with pytest.raises(RuntimeError, match="Unsendable: the model input is not what it should be"):
        main(["--in", str(portfolio_csv), "--out", str(out), "--model", str(bundle_dir), "--workers", "2"])
    assert not out.exists() and not (tmp_path / "scores.csv.partial").exists()
