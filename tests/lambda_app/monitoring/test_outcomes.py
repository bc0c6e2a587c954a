"""`loan-risk outcomes`: the back-test of champion and challenger against outcomes observed later."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lambda_app import cli
from lambda_app.core.schema import FEATURES, TARGET
from lambda_app.core.scoring import Scorer
from tests.lambda_app.monitoring.records import decision_records, write_jsonl
from training import synth

ROWS = 600


def loan_risk(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code or 0)


@pytest.fixture(scope="module")
def labelled() -> tuple[list[dict[str, Any]], np.ndarray]:
    frame = synth.generate(ROWS, seed=13)
    people = [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in frame[list(FEATURES)].to_dict("records")
    ]
    return people, frame[TARGET].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def records(
    tmp_path_factory: pytest.TempPathFactory, scorer: Scorer, labelled: tuple[list[dict[str, Any]], np.ndarray]
) -> tuple[Path, list[dict[str, Any]]]:
    people, _ = labelled
    half = ROWS // 2
    october = decision_records(scorer, people[:half], day="2026-10-15", challenger=scorer)
    november = decision_records(scorer, people[half:], day="2026-11-15", challenger=scorer)
    for i, r in enumerate(november):  # ids unique across both months
        r["decision_id"] = f"{i + half:032x}"
    for r in october + november:  # a challenger that scores 2 points higher
        r["challenger"]["risk_score"] += 2.0
    root = tmp_path_factory.mktemp("outcome-records")
    write_jsonl(october, root / "dt=2026-10-15" / "part-0.jsonl")
    write_jsonl(november, root / "dt=2026-11-15" / "part-0.jsonl")
    return root, october + november


def write_outcomes(path: Path, ids: list[str], column: str, values: list[float]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["decision_id", column])
        w.writerows(zip(ids, values, strict=True))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert loan_risk(["outcomes", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def model(report: dict[str, Any], role: str) -> dict[str, Any]:
    (found,) = [m for m in report["models"] if m["role"] == role]
    model_report: dict[str, Any] = found
    return model_report


def test_score_outcomes_give_mae_r2_and_calibration_per_model_and_month(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    records: tuple[Path, list[dict[str, Any]]],
    labelled: tuple[list[dict[str, Any]], np.ndarray],
) -> None:
    root, written = records
    _, target = labelled
    ids = [r["decision_id"] for r in written]
    outcomes = write_outcomes(tmp_path / "o.csv", ids[:-50], TARGET, list(target[:-50]))  # the last 50 not yet observed
    report = run(capsys, "--records", str(root), "--outcomes", str(outcomes))
    assert report["outcome"] == {"kind": "score", "column": TARGET, "rows": ROWS - 50}
    assert report["matched"] == ROWS - 50 and report["outcomes_without_record"] == 0
    champion, challenger = model(report, "champion"), model(report, "challenger")
    assert [m["month"] for m in champion["months"]] == ["2026-10", "2026-11"]
    predicted = np.array([r["risk_score"] for r in written[:-50]])
    observed = target[:-50]
    assert champion["all"]["n"] == ROWS - 50
    assert champion["all"]["mae"] == pytest.approx(np.mean(np.abs(predicted - observed)), abs=1e-4)
    r2 = 1 - np.sum((observed - predicted) ** 2) / np.sum((observed - observed.mean()) ** 2)
    assert champion["all"]["r2"] == pytest.approx(r2, abs=1e-4)
    october = champion["months"][0]
    assert october["n"] == ROWS // 2
    assert october["mae"] == pytest.approx(np.mean(np.abs(predicted[: ROWS // 2] - observed[: ROWS // 2])), abs=1e-4)
    # The challenger's 2 extra points show as bias.
    assert challenger["all"]["bias"] == pytest.approx(champion["all"]["bias"] + 2, abs=1e-3)
    bands = champion["all"]["by_band"]
    assert sum(b["n"] for b in bands) == ROWS - 50
    assert [b["mean_predicted"] for b in bands] == sorted(b["mean_predicted"] for b in bands)
    low = next(b for b in bands if b["band"] == "low")
    mask = np.array([r["risk_band"] == "low" for r in written[:-50]])
    assert low["mean_observed"] == pytest.approx(observed[mask].mean(), abs=1e-4)


def hand_gini_ks(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Gini from every (defaulter, non-defaulter) pair; KS by walking every threshold."""
    bad, good = scores[labels == 1], scores[labels == 0]
    wins = (bad[:, None] > good[None, :]).sum() + 0.5 * (bad[:, None] == good[None, :]).sum()
    gini = 2 * wins / (bad.size * good.size) - 1
    ks = max(abs((bad <= t).mean() - (good <= t).mean()) for t in np.unique(scores))
    return float(gini), float(ks)


def test_default_flags_give_gini_ks_and_default_rate_by_band(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    records: tuple[Path, list[dict[str, Any]]],
    labelled: tuple[list[dict[str, Any]], np.ndarray],
) -> None:
    root, written = records
    _, target = labelled
    defaults = (target > np.quantile(target, 0.8)).astype(int)  # the riskiest fifth defaulted
    outcomes = write_outcomes(tmp_path / "d.csv", [r["decision_id"] for r in written], "default", list(defaults))
    report = run(capsys, "--records", str(root), "--outcomes", str(outcomes))
    assert report["outcome"]["kind"] == "default"
    champion = model(report, "champion")["all"]
    scores = np.array([r["risk_score"] for r in written])
    gini, ks = hand_gini_ks(scores, defaults)
    assert champion["gini"] == pytest.approx(gini, abs=1e-4) and champion["gini"] > 0.5
    assert champion["ks"] == pytest.approx(ks, abs=1e-4)
    assert champion["default_rate"] == pytest.approx(0.2, abs=0.01)
    rates = [b["default_rate"] for b in champion["by_band"]]
    assert rates == sorted(rates) and rates[-1] > rates[0]
    # Adding a constant to every score ranks the same: the challenger's Gini equals the champion's.
    assert model(report, "challenger")["all"]["gini"] == champion["gini"]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["id", "RiskScore"], [["a", "1"]], "no decision_id column"),
        (["decision_id", "score"], [["a", "1"]], "no outcome column RiskScore or default"),
        (["decision_id", "RiskScore"], [["a", "high"]], "line 2, column RiskScore: not a number"),
        (["decision_id", "default"], [["a", "1"], ["b", "2"]], "must hold 0 or 1"),
        (["decision_id", "RiskScore"], [["a", "1"], ["a", "2"]], "line 3: decision_id a appears more than once"),
        (["decision_id", "RiskScore"], [["nobody", "40"]], "none of the 1 outcomes matches"),
    ],
)
def test_unusable_outcomes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    records: tuple[Path, list[dict[str, Any]]],
    header: list[str],
    rows: list[list[str]],
    message: str,
) -> None:
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    assert loan_risk(["outcomes", "--records", str(records[0]), "--outcomes", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
