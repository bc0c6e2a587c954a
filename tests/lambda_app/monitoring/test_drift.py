"""`loan-risk drift`: what a script reads from --json and a person from the text and --out."""

from __future__ import annotations

import bisect
import gzip
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from lambda_app import cli
from lambda_app.core.scoring import Scorer
from lambda_app.monitoring.psi import EPSILON, MIN_RECORDS
from tests.lambda_app.monitoring.records import decision_records, write_jsonl


def loan_risk(argv: list[str]) -> int:
    """The command as a shell runs it: a usage error exits 2 (argparse raises SystemExit)."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = loan_risk(["drift", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else {}, err


def test_applicants_like_the_training_data_are_stable(
    capsys: pytest.CaptureFixture[str], bundle_dir: Path, stable_records: Path
) -> None:
    code, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(stable_records))
    assert code == 0
    assert report["n"] == 3000 and report["skipped"] == 0
    assert report["score"]["psi"] < 0.10 and report["score"]["status"] == "stable"
    assert len(report["fields"]) == 28
    assert not [name for name, f in report["fields"].items() if f["status"] == "shift"]
    assert report["status"] in ("stable", "watch")
    # Band shares close to the reference's (50/30/15/5 of out-of-fold scores).
    for band in report["bands"].values():
        assert abs(band["current"] - band["reference"]) < 0.05
    assert report["challenger"] is None


def test_incomes_cut_by_a_third_flag_income_and_nothing_else(
    capsys: pytest.CaptureFixture[str], bundle_dir: Path, stable_records: Path, shifted_records: Path
) -> None:
    _, before, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(stable_records))
    code, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(shifted_records))
    assert code == 0
    income = report["fields"]["AnnualIncome"]
    assert income["status"] == "shift" and income["psi"] > 0.25
    assert report["status"] == "shift"
    for name in ("Age", "LoanPurpose", "CreditScore", "EmploymentStatus", "TotalDebtToIncomeRatio"):
        assert report["fields"][name]["status"] != "shift", name
    # Untouched fields read exactly as before: the same applicants.
    untouched = {n: f["psi"] for n, f in report["fields"].items() if n != "AnnualIncome"}
    assert untouched == {n: f["psi"] for n, f in before["fields"].items() if n != "AnnualIncome"}
    # Lower incomes move the shares into the lower bins.
    assert income["bins"][0]["current"] > 2 * income["bins"][0]["reference"]


def hand_psi(bins: dict[str, Any], values: list[float]) -> float:
    """An independent PSI: bins counted with bisect, the formula written out with math.log."""
    cuts = [e for e in bins["edges"][1:-1]]
    counts = [0] * (len(cuts) + 1)
    for v in values:
        counts[bisect.bisect_right(cuts, v)] += 1
    total = 0.0
    for expected, count in zip(bins["shares"], counts, strict=True):
        e, a = max(expected, EPSILON), max(count / len(values), EPSILON)
        total += (a - e) * math.log(a / e)
    return total


@pytest.mark.parametrize("field", ["AnnualIncome", "Age", "CreditScore"])
def test_psi_agrees_with_a_hand_computation_on_the_same_bins(
    capsys: pytest.CaptureFixture[str],
    bundle_dir: Path,
    shifted_records: Path,
    income_cut: list[dict[str, Any]],
    field: str,
) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    bins = manifest["reference"]["fields"][field]
    _, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(shifted_records))
    expected = hand_psi(bins, [float(p[field]) for p in income_cut])
    assert report["fields"][field]["psi"] == pytest.approx(expected, abs=1e-4)


def test_score_psi_agrees_with_a_hand_computation(
    capsys: pytest.CaptureFixture[str],
    bundle_dir: Path,
    scorer: Scorer,
    shifted_records: Path,
    income_cut: list[dict[str, Any]],
) -> None:
    bins = json.loads((bundle_dir / "manifest.json").read_text())["reference"]["score"]
    _, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(shifted_records))
    assert report["score"]["psi"] == pytest.approx(hand_psi(bins, scorer.score(income_cut)), abs=1e-4)


def test_a_handful_of_records_is_too_few_to_judge(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bundle_dir: Path,
    scorer: Scorer,
    income_cut: list[dict[str, Any]],
) -> None:
    write_jsonl(decision_records(scorer, income_cut[:12]), tmp_path / "few.jsonl")
    code, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(tmp_path / "few.jsonl"))
    assert code == 0
    assert report["n"] == 12 and report["minimum_n"] == MIN_RECORDS
    assert report["status"] == "insufficient" and report["score"]["status"] == "insufficient"
    assert {f["status"] for f in report["fields"].values()} == {"insufficient"}
    assert loan_risk(["drift", "--model", str(bundle_dir), "--records", str(tmp_path / "few.jsonl")]) == 0
    assert "too few to judge" in capsys.readouterr().out


def test_nothing_in_the_period_is_insufficient_and_the_period_filters(
    capsys: pytest.CaptureFixture[str], bundle_dir: Path, stable_records: Path, shifted_records: Path, tmp_path: Path
) -> None:
    both = tmp_path / "both"
    shutil.copytree(stable_records, both, dirs_exist_ok=True)
    shutil.copytree(shifted_records, both, dirs_exist_ok=True)
    _, all_days, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(both))
    assert all_days["n"] == 6000
    _, one, _ = drift(
        capsys, "--model", str(bundle_dir), "--records", str(both), "--since", "2026-11-20", "--until", "2026-11-20"
    )
    assert one["n"] == 3000 and one["fields"]["AnnualIncome"]["status"] != "shift"
    _, none, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(both), "--since", "2027-01-01")
    assert none["n"] == 0 and none["status"] == "insufficient" and none["score"]["psi"] is None
    # One file without partitions: the records' own decided_at decides.
    merged = tmp_path / "merged.jsonl"
    merged.write_bytes(b"".join(p.read_bytes() for p in sorted(both.rglob("*.jsonl"))))
    with merged.open("a") as f:
        f.write('{"applicant": {}, "risk_score": 1.0}\n')  # no decided_at: cannot be placed in a period
    _, day2, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(merged), "--since", "2026-11-21")
    assert day2["n"] == 3000 and day2["fields"]["AnnualIncome"]["status"] == "shift"
    assert day2["undated"] == 1


def test_values_outside_the_training_range_land_in_the_end_bins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, scorer: Scorer, people: list[dict[str, Any]]
) -> None:
    rich = [{**p, "AnnualIncome": 5_000_000} for p in people[:600]]
    write_jsonl(decision_records(scorer, rich), tmp_path / "rich.jsonl")
    _, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(tmp_path / "rich.jsonl"))
    income = report["fields"]["AnnualIncome"]
    assert income["bins"][-1]["upper"] is None and income["bins"][-1]["current"] == 1.0
    assert income["n"] == 600 and income["status"] == "shift"


def test_champion_and_challenger_are_compared(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, scorer: Scorer, people: list[dict[str, Any]]
) -> None:
    write_jsonl(decision_records(scorer, people[:800], challenger=scorer), tmp_path / "r.jsonl")
    _, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(tmp_path / "r.jsonl"))
    c = report["challenger"]
    assert c["n"] == 800 and c["versions"] == [scorer.version + "-challenger"]
    # The same model on both sides: no difference at all.
    assert c["mean_absolute_difference"] == 0 and c["band_agreement"] == 1.0 and c["psi_vs_champion"] == 0


def test_records_that_are_not_decisions_are_counted_not_judged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, scorer: Scorer, people: list[dict[str, Any]]
) -> None:
    records = decision_records(scorer, people[:600])
    records[0]["applicant"]["LoanPurpose"] = "Yacht"
    del records[1]["applicant"]["Age"]
    path = write_jsonl(records, tmp_path / "r.jsonl")
    with path.open("a") as f:
        f.write('{"something": "else"}\n[1, 2]\n\n')
    _, report, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(path))
    assert report["n"] == 600 and report["skipped"] == 2
    assert report["fields"]["LoanPurpose"]["unexpected"] == 1
    assert report["fields"]["LoanPurpose"]["bins"][-1] == {
        "category": "(other)",
        "reference": 0.0,
        "current": pytest.approx(1 / 600, abs=1e-4),
    }
    assert report["fields"]["Age"]["missing"] == 1 and report["fields"]["Age"]["n"] == 599


def test_out_writes_a_report_with_a_chart_per_shifted_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, shifted_records: Path
) -> None:
    out = tmp_path / "report"
    assert loan_risk(["drift", "--model", str(bundle_dir), "--records", str(shifted_records), "--out", str(out)]) == 0
    assert "AnnualIncome" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"report.json", "report.html", "score.png", "field-AnnualIncome.png"}
    assert (out / "score.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert "field-AnnualIncome.png" in page and "AnnualIncome" in page
    assert json.loads((out / "report.json").read_text())["fields"]["AnnualIncome"]["status"] == "shift"


def test_a_bundle_without_a_reference_still_serves_but_cannot_be_monitored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, stable_records: Path
) -> None:
    old = tmp_path / "old-bundle"
    shutil.copytree(bundle_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["reference"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert Scorer.load(old).score([{**json.loads(json.dumps(manifest["typical_applicant"]))}])
    code = loan_risk(["drift", "--model", str(old), "--records", str(stable_records)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no reference distributions" in err and "Retrain" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--records", "/nonexistent/records"], "No decision records at /nonexistent/records"),
        (["--records", "RECORDS", "--since", "yesterday"], "not a date"),
        (["--records", "RECORDS", "--since", "2026-12-02", "--until", "2026-12-01"], "is after --until"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], bundle_dir: Path, stable_records: Path, args: list[str], message: str
) -> None:
    args = [str(stable_records) if a == "RECORDS" else a for a in args]
    assert loan_risk(["drift", "--model", str(bundle_dir), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_damaged_records_file_names_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path
) -> None:
    (tmp_path / "r.jsonl").write_text('{"applicant": {}}\n{"applicant": \n')
    assert loan_risk(["drift", "--model", str(bundle_dir), "--records", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "r.jsonl, line 2: not a JSON record" in err and len(err.strip().splitlines()) == 1


def test_a_missing_bundle_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, stable_records: Path) -> None:
    assert loan_risk(["drift", "--model", str(tmp_path / "none"), "--records", str(stable_records)]) == 2
    assert "No model bundle" in capsys.readouterr().err


def test_without_matplotlib_the_report_says_so_and_keeps_its_own_charts(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    bundle_dir: Path,
    shifted_records: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in the serving image
    out = tmp_path / "report"
    assert loan_risk(["drift", "--model", str(bundle_dir), "--records", str(shifted_records), "--out", str(out)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {"report.json", "report.html"}
    page = (out / "report.html").read_text()
    assert "matplotlib is not installed" in page and "class='bar cur'" in page and "<img" not in page


def test_gzipped_records_read_the_same(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle_dir: Path, stable_records: Path
) -> None:
    (plain,) = stable_records.rglob("*.jsonl")
    target = tmp_path / "dt=2026-11-20" / "part-0.jsonl.gz"
    target.parent.mkdir()
    # Blank and CRLF-ended lines as other writers leave them.
    target.write_bytes(gzip.compress(plain.read_bytes().replace(b"\n", b"\r\n\n", 5)))
    _, zipped, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(tmp_path))
    _, original, _ = drift(capsys, "--model", str(bundle_dir), "--records", str(stable_records))
    assert zipped["n"] == original["n"] == 3000
    assert zipped["fields"] == original["fields"] and zipped["score"] == original["score"]
