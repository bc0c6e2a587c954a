import gc
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.bundle import BundleError
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def test_scores_an_applicant(client: TestClient, scorer: Scorer, applicant: dict[str, object]) -> None:
    r = client.post("/v1/score", json=applicant)
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"] == scorer.version
    assert body["risk_score"] == scorer.score([applicant])[0]


def test_riskier_applicant_scores_higher(client: TestClient, applicant: dict[str, object]) -> None:
    risky = {
        **applicant,
        "PreviousLoanDefaults": 1,
        "BankruptcyHistory": 1,
        "CreditScore": 360,
        "TotalDebtToIncomeRatio": 1.2,
    }
    assert (
        client.post("/v1/score", json=risky).json()["risk_score"]
        > client.post("/v1/score", json=applicant).json()["risk_score"]
    )


def test_bad_field_gets_422_naming_it(client: TestClient, applicant: dict[str, object]) -> None:
    r = client.post("/v1/score", json={**applicant, "CreditScore": "high"})
    assert r.status_code == 422
    assert "CreditScore" in r.text


def test_health(client: TestClient, scorer: Scorer) -> None:
    assert client.get("/health").json() == {"status": "ok", "model_version": scorer.version}


def test_openapi_documents_the_applicant(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "CreditScore" in spec["components"]["schemas"]["Applicant"]["properties"]


def test_missing_bundle_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="make model"):
        create_app(Settings(model_uri=str(tmp_path)))


def test_ecs_entry_point_serves_over_http(live_server: str, scorer: Scorer, applicant: dict[str, object]) -> None:
    r = httpx.post(f"{live_server}/v1/score", json=applicant)
    assert r.status_code == 200 and r.json()["risk_score"] == scorer.score([applicant])[0]
    assert httpx.post(f"{live_server}/v1/score", json={**applicant, "Age": -1}).status_code == 422


def test_start_up_objects_are_kept_out_of_the_garbage_collectors_walks(scorer: Scorer) -> None:
    gc.unfreeze()
    gc.disable()  # as a server worker starts (lambda_app.runtime.server)
    try:
        with TestClient(create_app(Settings(), scorer)):  # the server's start-up
            assert gc.get_freeze_count() > 10_000
            assert gc.isenabled(), "collection must be back on once the app is up, or the worker leaks"
    finally:
        gc.enable()
        gc.unfreeze()  # the rest of the test session collects as usual
