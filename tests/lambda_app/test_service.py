"""The scoring service with decision records and a challenger, through the app every transport
serves (lambda_app.service): what a caller gets back, and what is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.records.format import DecisionRecord
from lambda_app.records.read import iter_records
from lambda_app.settings import Settings
from tests.conftest import FAST
from training.dataset import read_applicants
from training.train import train_bundle

CSV_HEADER_AND_ROWS = 2  # a header line, then one applicant per line


@pytest.fixture(scope="module")
def challenger_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_csv: Path) -> Path:
    """Another model of the same data (another seed): a challenger that mostly agrees."""
    from dataclasses import replace

    out = tmp_path_factory.mktemp("challenger")
    train_bundle(read_applicants(synthetic_csv), out, replace(FAST, seed=11, compare_exclusion=False))
    return out


def _records(directory: Path) -> list[dict[str, Any]]:
    return list(iter_records(str(directory)))


@pytest.fixture()
def recorded(tmp_path: Path, scorer: Scorer) -> Iterator[tuple[TestClient, Path]]:
    sink = tmp_path / "decisions"
    settings = Settings(decision_records="best-effort", decision_sink=str(sink), decision_flush_interval_s=0.05)
    with TestClient(create_app(settings, scorer)) as client:  # the lifespan flushes at exit
        yield client, sink


def test_every_answer_carries_the_id_of_its_record(
    recorded: tuple[TestClient, Path], scorer: Scorer, applicant: dict[str, Any]
) -> None:
    client, sink = recorded
    plain = client.post("/v1/score", json=applicant)  # the fast path
    explained = client.post("/v1/score?explain=true", json=applicant)  # the route
    batch = client.post("/v1/score/batch", json={"applicants": [applicant, {**applicant, "Age": 3}, applicant]})
    page = client.post("/", data={k: str(v) for k, v in applicant.items()})
    client.__exit__(None, None, None)
    records = {r["decision_id"]: r for r in _records(sink)}

    for r in (plain, explained):
        assert r.status_code == 200 and r.headers["decision-id"] == r.json()["decision_id"]
    one = records[plain.json()["decision_id"]]
    DecisionRecord.model_validate(one)  # the documented format, field for field
    assert one["channel"] == "api" and one["applicant"] == applicant and one["reasons"] is None
    assert one["risk_score"] == plain.json()["risk_score"] and one["risk_band"] == plain.json()["risk_band"]
    assert one["model"] == {"version": scorer.version, "model_sha256": scorer.manifest.model_sha256}
    assert one["request_id"] == plain.headers["x-request-id"]
    why = records[explained.json()["decision_id"]]["reasons"]
    assert [x["feature"] for x in why["raised"]] == [x["feature"] for x in explained.json()["explanation"]["raised"]]

    rows = batch.json()["results"]
    assert "decision_id" not in rows[1]  # an invalid row was not scored, so no decision was made
    kept = [records[rows[i]["decision_id"]] for i in (0, 2)]
    assert {k["channel"] for k in kept} == {"batch"} and kept[0]["batch_id"] == kept[1]["batch_id"] is not None

    shown = page.text.split('id="decision-id">')[1].split("<")[0]
    assert records[shown]["channel"] == "web"
    assert len(records) == 5  # one per applicant scored: 1 + 1 + 2 + 1


def test_records_off_leaves_answers_as_they_were(scorer: Scorer, applicant: dict[str, Any]) -> None:
    client = TestClient(create_app(Settings(), scorer))
    r = client.post("/v1/score", json=applicant)
    assert "decision_id" not in r.json() and "decision-id" not in r.headers


def test_batch_csv_answers_name_each_decision(recorded: tuple[TestClient, Path], applicant: dict[str, Any]) -> None:
    client, _ = recorded
    text = ",".join(applicant) + "\n" + ",".join(str(v) for v in applicant.values()) + "\n"
    r = client.post("/v1/score/batch", content=text, headers={"content-type": "text/csv", "accept": "text/csv"})
    header, row = r.text.splitlines()[:CSV_HEADER_AND_ROWS]
    assert header.endswith(",decision_id") and len(row.split(",")[-1]) == 32


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/score", "one"), ("/v1/score?explain=true", "one"), ("/v1/score/batch", "batch")],
)
def test_required_records_that_cannot_be_stored_withhold_the_score(
    tmp_path: Path, scorer: Scorer, applicant: dict[str, Any], path: str, body: str
) -> None:
    sink = tmp_path / "decisions"
    client = TestClient(create_app(Settings(decision_records="required", decision_sink=str(sink)), scorer))
    sink.rename(tmp_path / "gone")  # the sink's directory disappears after start-up
    (tmp_path / "decisions").write_text("not a directory")
    r = client.post(path, json=applicant if body == "one" else {"applicants": [applicant]})
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) > 0 and "risk_score" not in r.text


def test_required_records_are_stored_before_the_answer(
    tmp_path: Path, scorer: Scorer, applicant: dict[str, Any]
) -> None:
    sink = tmp_path / "decisions"
    client = TestClient(create_app(Settings(decision_records="required", decision_sink=str(sink)), scorer))
    r = client.post("/v1/score", json=applicant)
    assert r.status_code == 200
    assert [x["decision_id"] for x in _records(sink)] == [r.json()["decision_id"]]  # no flush was needed


def test_the_challenger_scores_in_shadow(
    tmp_path: Path, scorer: Scorer, challenger_dir: Path, applicant: dict[str, Any]
) -> None:
    sink = tmp_path / "decisions"
    settings = Settings(
        decision_records="best-effort", decision_sink=str(sink), challenger_model_uri=str(challenger_dir)
    )
    challenger = Scorer.load(challenger_dir)
    alone = TestClient(create_app(Settings(), scorer)).post("/v1/score", json=applicant).json()
    people = [applicant, {**applicant, "CreditScore": 420, "PreviousLoanDefaults": 1}]
    with TestClient(create_app(settings, scorer)) as client:
        answers = [client.post("/v1/score", json=a).json() for a in people]
        batch = client.post("/v1/score/batch", json={"applicants": people}).json()
        model = client.get("/v1/model").json()
        page = client.get("/model").text
    assert {k: v for k, v in answers[0].items() if k != "decision_id"} == alone  # the champion's answer alone
    records = {r["decision_id"]: r for r in _records(sink)}
    for a, answer in zip(people * 2, [*answers, *batch["results"]], strict=True):
        shadow = records[answer["decision_id"]]["challenger"]
        assert shadow["model"]["version"] == challenger.version
        assert shadow["risk_score"] == pytest.approx(challenger.score([a])[0], abs=1e-4)
    assert model["version"] == scorer.version and model["challenger"]["version"] == challenger.version
    assert challenger.version in page and "Challenger in shadow" in page


def test_challenger_metrics_say_how_often_bands_differ(
    scorer: Scorer, challenger_dir: Path, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from lambda_app import telemetry

    client = TestClient(create_app(Settings(challenger_model_uri=str(challenger_dir)), scorer))
    capsys.readouterr()
    telemetry.publish()
    capsys.readouterr()
    client.post("/v1/score/batch", json={"applicants": [applicant] * 5})
    telemetry.publish()
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(sum(d.get("ChallengerScored", [])) for d in docs) == 5
    differences = [v for d in docs for v in d.get("ChallengerScoreDifference", [])]
    challenger = Scorer.load(challenger_dir)
    expected = challenger.score([applicant])[0] - scorer.score([applicant])[0]
    assert differences == pytest.approx([expected] * 5, abs=1e-3)


def test_a_challenger_that_is_no_bundle_stops_start_up(scorer: Scorer, tmp_path: Path) -> None:
    from lambda_app.core.bundle import BundleError

    with pytest.raises(BundleError, match="No model bundle"):
        create_app(Settings(challenger_model_uri=str(tmp_path / "none")), scorer)


def test_an_applicants_reasons_do_not_depend_on_who_else_asked(scorer: Scorer, applicant: dict[str, Any]) -> None:
    """Explanations asked at the same moment share a batch; each still gets the reasons it
    would get alone (replay re-explains records one by one)."""
    import asyncio

    from lambda_app.service import ScoringService

    service = ScoringService(scorer)
    others = [{**applicant, "CreditScore": 400 + 10 * i} for i in range(7)]

    async def together() -> list[Any]:
        return await asyncio.gather(*(service.score(a, explain=True) for a in [applicant, *others]))

    crowd = asyncio.run(together())
    assert service.explainer.calls == 1  # they did share one batch
    catboost_alone = Scorer(scorer.model, scorer.manifest)
    catboost_alone.__dict__["leaf_shap"] = None  # CatBoost itself, one applicant a call
    for asked, decision in zip([applicant, *others], crowd, strict=True):
        assert decision.explanation == catboost_alone.explain([asked], 4)[0]
