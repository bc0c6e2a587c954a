"""The JSON API in-process: every route, every error shape."""

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(max_batch_rows=5, max_body_bytes=20_000), scorer))


def assert_problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["request_id"]
    assert "Traceback" not in r.text
    if field is not None:
        assert field in {e["field"] for e in body["errors"]}, body
    return body


def test_score_has_band_percentile_and_version(client: TestClient, scorer: Scorer, applicant: dict[str, Any]) -> None:
    body = client.post("/v1/score", json=applicant).json()
    assert body["risk_score"] == scorer.score([applicant])[0]
    assert body["risk_band"] == scorer.band(body["risk_score"])
    assert 0 <= body["percentile"] <= 100
    assert "explanation" not in body


def test_explanation_adds_up_and_names_reasons(client: TestClient, applicant: dict[str, Any]) -> None:
    risky = {**applicant, "PreviousLoanDefaults": 1, "TotalDebtToIncomeRatio": 1.4, "CreditScore": 380}
    body = client.post("/v1/score?explain=true", json=risky).json()
    e = body["explanation"]
    shown = e["raised"] + e["lowered"]
    assert e["baseline"] + sum(r["contribution"] for r in shown) + e["other"] == pytest.approx(
        e["model_output"], abs=1e-3
    )
    assert body["risk_score"] == pytest.approx(e["model_output"], abs=1e-3)
    assert 1 <= len(e["raised"]) <= 4 and len(e["lowered"]) <= 4
    top = e["raised"][0]
    assert top["feature"] in FEATURES and top["value"] == risky[top["feature"]]
    assert "raised the score by" in top["sentence"]


def test_reasons_count_is_adjustable_and_bounded(client: TestClient, applicant: dict[str, Any]) -> None:
    e = client.post("/v1/score?explain=true&reasons=10", json=applicant).json()["explanation"]
    assert len(e["raised"]) + len(e["lowered"]) > 8
    assert_problem(client.post("/v1/score?explain=true&reasons=0", json=applicant), 422, "query.reasons")


def test_protected_reasons_are_marked(client: TestClient, applicant: dict[str, Any]) -> None:
    e = client.post("/v1/score?explain=true&reasons=28", json=applicant).json()["explanation"]
    marked = {r["feature"]: r["protected"] for r in e["raised"] + e["lowered"]}
    assert marked["Age"] is True and marked["MaritalStatus"] is True and marked["CreditScore"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"CreditScore": "high"}, "CreditScore"),
        ({"Age": 17}, "Age"),
        ({"Age": 40.5}, "Age"),
        ({"LoanPurpose": "Yacht"}, "LoanPurpose"),
        ({"InterestRate": 1.5}, "InterestRate"),
        ({"BankruptcyHistory": True}, "BankruptcyHistory"),
        ({"Nickname": "x"}, "Nickname"),
        ({"AnnualIncome": None}, "AnnualIncome"),
    ],
)
def test_bad_fields_get_422_naming_them(
    client: TestClient, applicant: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    assert_problem(client.post("/v1/score", json={**applicant, **change}), 422, field)


def test_missing_field_is_named(client: TestClient, applicant: dict[str, Any]) -> None:
    del applicant["CreditScore"]
    assert_problem(client.post("/v1/score", json=applicant), 422, "CreditScore")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_get_422(client: TestClient, applicant: dict[str, Any], literal: str) -> None:
    raw = json.dumps(applicant).replace('"InterestRate": 0.236', f'"InterestRate": {literal}')
    assert literal in raw
    r = client.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert_problem(r, 422, "InterestRate")


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{", 422), (b"[]", 422), (b"null", 422), (b'"x"', 422), (b"\xff\xfe", 422), (b"[" * 5000 + b"]" * 5000, 400)],
)
def test_unusable_bodies_get_4xx(client: TestClient, body: bytes, status: int) -> None:
    assert_problem(client.post("/v1/score", content=body, headers={"content-type": "application/json"}), status)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_gets_415(client: TestClient, applicant: dict[str, Any], content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v1/score", content=json.dumps(applicant), headers=headers)
    assert_problem(r, 415)


def test_oversized_body_gets_413(client: TestClient) -> None:
    r = client.post("/v1/score", content=b"x" * 30_000, headers={"content-type": "application/json"})
    assert_problem(r, 413)


def test_oversized_chunked_body_gets_413(client: TestClient) -> None:
    chunks = (b"x" * 4096 for _ in range(10))  # no Content-Length: counted as it streams
    r = client.post("/v1/score/batch", content=chunks, headers={"content-type": "application/json"})
    assert_problem(r, 413)


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing"), 404)
    assert_problem(client.get("/v1/score"), 405)


# --- batch -----------------------------------------------------------------------------


def test_batch_keeps_order_and_reports_bad_rows(client: TestClient, scorer: Scorer, applicant: dict[str, Any]) -> None:
    risky = {**applicant, "PreviousLoanDefaults": 1, "CreditScore": 400}
    bad = {**applicant, "EducationLevel": "PhD"}
    r = client.post("/v1/score/batch", json={"applicants": [applicant, bad, risky, "junk"]})
    assert r.status_code == 200
    body = r.json()
    assert (body["count"], body["scored"], body["failed"]) == (4, 2, 2)
    results = body["results"]
    assert [x["index"] for x in results] == [0, 1, 2, 3]
    assert results[0]["risk_score"] == scorer.score([applicant])[0]
    assert results[2]["risk_score"] == scorer.score([risky])[0]
    assert results[1]["errors"] == [{"field": "EducationLevel", "message": results[1]["errors"][0]["message"]}]
    assert "risk_score" not in results[1] and results[3]["errors"]


def test_batch_accepts_and_answers_csv(client: TestClient, scorer: Scorer, applicant: dict[str, Any]) -> None:
    header = ",".join(FEATURES)
    good = ",".join(str(applicant[f]) for f in FEATURES)
    bad = good.replace(",580,", ",abc,", 1)
    r = client.post(
        "/v1/score/batch",
        content=f"{header}\n{good}\n{bad}\n",
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["index", "risk_score", "risk_band", "errors"]
    score = scorer.score([applicant])[0]
    assert rows[1] == ["0", str(score), scorer.band(score), ""]
    assert rows[2][:3] == ["1", "", ""] and rows[2][3].startswith("CreditScore:")


def test_csv_without_schema_columns_is_422(client: TestClient) -> None:
    r = client.post("/v1/score/batch", content="Age,Income\n1,2\n", headers={"content-type": "text/csv"})
    assert "CreditScore" in assert_problem(r, 422)["detail"]


def test_batch_over_the_row_limit_is_413(client: TestClient, applicant: dict[str, Any]) -> None:
    assert_problem(client.post("/v1/score/batch", json={"applicants": [applicant] * 6}), 413)
    header = ",".join(FEATURES)
    row = ",".join(str(applicant[f]) for f in FEATURES)
    r = client.post("/v1/score/batch", content="\n".join([header] + [row] * 6), headers={"content-type": "text/csv"})
    assert_problem(r, 413)


@pytest.mark.parametrize("doc", [{"applicants": []}, {"applicants": {}}, {"rows": []}, [], {"applicants": [], "x": 1}])
def test_batch_shape_errors_are_422(client: TestClient, doc: Any) -> None:
    assert_problem(client.post("/v1/score/batch", json=doc), 422)


def test_batch_wrong_content_type_is_415(client: TestClient) -> None:
    assert_problem(client.post("/v1/score/batch", content=b"a", headers={"content-type": "application/xml"}), 415)


# --- metadata and ops --------------------------------------------------------------------


def test_model_metadata(client: TestClient, scorer: Scorer) -> None:
    body = client.get("/v1/model").json()
    assert body["version"] == scorer.version
    assert body["data"]["rows"] == scorer.manifest.data.rows
    assert body["metrics"]["holdout"]["r2"] == scorer.manifest.metrics.holdout.r2
    assert [b["name"] for b in body["bands"]] == ["low", "medium", "high", "very high"]
    assert [f["name"] for f in body["schema"]] == list(FEATURES)


def test_health_and_ready(client: TestClient, scorer: Scorer) -> None:
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["canary_score"] == scorer.score([scorer.manifest.typical_applicant])[0]


# --- security -----------------------------------------------------------------------------


def test_api_keys_guard_v1_only(scorer: Scorer, applicant: dict[str, Any]) -> None:
    guarded = TestClient(create_app(Settings(api_keys="k-one, k-two"), scorer))
    assert_problem(guarded.post("/v1/score", json=applicant), 401)
    assert_problem(guarded.post("/v1/score", json=applicant, headers={"x-api-key": "k-three"}), 401)
    assert guarded.post("/v1/score", json=applicant, headers={"x-api-key": "k-two"}).status_code == 200
    assert guarded.get("/v1/model", headers={"x-api-key": "k-one"}).status_code == 200
    assert guarded.get("/health").status_code == 200


def test_api_keys_never_appear_in_settings_repr() -> None:
    assert "secret-key" not in repr(Settings(api_keys="secret-key"))
