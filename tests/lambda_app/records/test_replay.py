"""`loan-risk replay`: stored records re-scored with their bundle; exit 0 only when every one matches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lambda_app.cli import main as cli
from lambda_app.core.scoring import Scorer
from lambda_app.records.format import DecisionRecord
from lambda_app.records.sinks import DirectorySink, FirehoseSink
from tests.lambda_app.records.conftest import BUCKET, STREAM, scored


def store(root: Path, records: list[DecisionRecord]) -> Path:
    root.mkdir(exist_ok=True)
    DirectorySink(root).write([r.model_dump_json().encode() for r in records])
    return root


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli(["replay", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_records_as_stored_replay_exactly(
    tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = scored(scorer, 40) + scored(scorer, 5, reasons=False)
    code, out, _ = replay(capsys, "--records", str(store(tmp_path / "d", records)), "--model", str(bundle_dir))
    assert code == 0, out
    assert out.strip() == f"replayed 45 records with model {scorer.version}: 45 match, 0 differ"


def test_every_difference_is_reported(
    tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = scored(scorer, 6)
    records[1].risk_score += 0.5
    other_band = next(b.name for b in scorer.manifest.bands if b.name != records[2].risk_band)
    records[2].risk_band = other_band
    assert records[3].reasons is not None and records[3].reasons.raised
    records[3].reasons.raised[0].contribution += 1.0
    records[4].applicant["AnnualIncome"] += 20_000  # the applicant as stored is not what was scored
    code, out, _ = replay(
        capsys, "--records", str(store(tmp_path / "d", records)), "--model", str(bundle_dir), "--json"
    )
    assert code == 1
    report = json.loads(out)
    assert (report["records"], report["matched"], report["differ"]) == (6, 2, 4), json.dumps(report["differences"][:3])
    by_id: dict[str, set[str]] = {}
    for d in report["differences"]:
        by_id.setdefault(d["decision_id"], set()).add(d["field"])
    assert by_id[records[1].decision_id] == {"risk_score"}
    assert by_id[records[2].decision_id] == {"risk_band"}
    assert by_id[records[3].decision_id] == {"reasons.raised"}
    assert "risk_score" in by_id[records[4].decision_id]
    text_code, text, _ = replay(capsys, "--records", str(tmp_path / "d"), "--model", str(bundle_dir))
    assert text_code == 1
    assert f'{records[2].decision_id}: risk_band stored "{other_band}"' in text
    assert text.splitlines()[-1].endswith("2 match, 4 differ")


def test_a_bundle_of_another_version_is_refused(
    tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = scored(scorer, 2)
    records[1].model.version = "20250101-other"
    code, out, err = replay(capsys, "--records", str(store(tmp_path / "d", records)), "--model", str(bundle_dir))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "scored by model 20250101-other" in err and "--model pointing at bundle 20250101-other" in err


def test_a_bundle_with_another_model_file_is_refused(
    tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = scored(scorer, 1)
    records[0].model.model_sha256 = "f" * 64
    code, _, err = replay(capsys, "--records", str(store(tmp_path / "d", records)), "--model", str(bundle_dir))
    assert code == 2 and "sha256 ffffffffffff" in err


@pytest.mark.parametrize(
    "problem",
    ["no records", "not json", "not a record", "no bundle", "no arguments"],
)
def test_unreadable_input_is_one_line_and_exit_2(
    problem: str, tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    model = str(bundle_dir)
    args = ["--records", str(records), "--model", model]
    if problem == "not json":
        (records / "a.jsonl").write_text("{not json}\n")
    elif problem == "not a record":
        (records / "a.jsonl").write_text(json.dumps({"decision_id": "x"}) + "\n")
    elif problem == "no bundle":
        store(records, scored(scorer, 1))
        args[3] = str(tmp_path / "nothing")
    elif problem == "no arguments":
        args = []
    code, out, err = replay(capsys, *args) if args else _usage(capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def _usage(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli(["replay"])
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


def test_records_delivered_by_firehose_replay_from_s3(
    firehose_to_s3: Any, tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = scored(scorer, 30)
    FirehoseSink(STREAM).write([r.model_dump_json().encode() for r in records])
    code, out, _ = replay(capsys, "--records", f"s3://{BUCKET}/decisions/", "--model", str(bundle_dir))
    assert code == 0 and out.strip().endswith("30 match, 0 differ")


def test_a_bundle_from_s3_replays_too(
    firehose_to_s3: Any, tmp_path: Path, scorer: Scorer, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in bundle_dir.iterdir():
        if f.is_file():
            firehose_to_s3.upload_file(str(f), BUCKET, f"models/{scorer.version}/{f.name}")
    local = store(tmp_path / "d", scored(scorer, 3))
    model_uri = f"s3://{BUCKET}/models/{scorer.version}"
    code, out, _ = replay(capsys, "--records", str(local), "--model", model_uri, "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, out
    shutil.rmtree(tmp_path / "cache")
