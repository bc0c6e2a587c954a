"""The batch route's faster parts give what the plain ones gave."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.api.batch import batch_body
from lambda_app.api.responses import BatchItemOut, BatchOut, FieldErrorOut
from lambda_app.app import create_app
from lambda_app.core import batch
from lambda_app.core.schema import Applicant
from lambda_app.core.scoring import Scorer
from lambda_app.service import ScoringService
from lambda_app.settings import Settings


def _one_by_one(records: list[Any]) -> list[batch.Row]:
    out = []
    for i, record in enumerate(records):
        try:
            out.append(batch.Row(i, Applicant.model_validate(record).model_dump()))
        except Exception as e:
            out.append(batch.Row(i, None, batch.field_errors(e)))  # type: ignore[arg-type]
    return out


def test_validating_a_batch_at_once_matches_one_by_one(applicant: dict[str, Any]) -> None:
    good = [applicant, {**applicant, "Age": 30, "AnnualIncome": 1.0e5}]
    assert batch.validate_records(good) == _one_by_one(good)
    mixed = [applicant, {**applicant, "Age": 3}, "junk", {**applicant, "LoanPurpose": "Yacht"}]
    assert batch.validate_records(mixed) == _one_by_one(mixed)


def _item(s: batch.Scored) -> BatchItemOut:
    if s.errors:
        return BatchItemOut(index=s.index, errors=[FieldErrorOut(field=e.field, message=e.message) for e in s.errors])
    return BatchItemOut(index=s.index, risk_score=s.risk_score, risk_band=s.risk_band)


def test_batch_body_is_what_the_response_model_dumps(scorer: Scorer, applicant: dict[str, Any]) -> None:
    rows = batch.validate_records([applicant, {**applicant, "Age": 3, "CreditScore": "x"}, applicant])
    results = ScoringService(scorer).score_rows(rows)
    failed = sum(1 for r in results if r.errors)
    model = BatchOut(
        model_version=scorer.version,
        count=len(results),
        scored=len(results) - failed,
        failed=failed,
        results=[_item(r) for r in results],
    )
    body = batch_body(scorer.version, results)
    assert json.dumps(body) == json.dumps(model.model_dump(mode="json", exclude_none=True))


def test_json_the_fast_parser_refuses_still_gets_the_json_modules_answer(
    scorer: Scorer, applicant: dict[str, Any]
) -> None:
    client = TestClient(create_app(Settings(), scorer))
    doc = json.dumps({"applicants": [applicant]})
    for body in (doc.encode("utf-16"), b"\xef\xbb\xbf" + doc.encode()):
        r = client.post("/v1/score/batch", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json()["scored"] == 1
    r = client.post("/v1/score/batch", content=b'{"applicants": [', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"] == "Body is not valid JSON."


def test_a_json_batch_validated_in_one_pass_gives_the_row_by_row_rows(applicant: dict[str, Any]) -> None:
    from training import synth

    frame = synth.generate(300, seed=5)
    people = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in frame.to_dict("records")]
    people = [{f: p[f] for f in applicant} for p in people]
    one_pass = batch.validate_json_document(json.dumps({"applicants": people}).encode(), max_rows=1000)
    assert one_pass is not None and one_pass == _one_by_one(people)


@pytest.mark.parametrize(
    "doc",
    [
        {"applicants": [{"Age": 51.0}]},  # a whole float: valid, but for the row-by-row path to accept
        {"applicants": []},
        {"applicants": [{}], "extra": 1},
        {"applicants": ["junk"]},
    ],
)
def test_the_one_pass_path_leaves_every_other_batch_to_the_row_by_row_one(
    applicant: dict[str, Any], doc: dict[str, Any]
) -> None:
    doc = {**doc, "applicants": [({**applicant, **a} if isinstance(a, dict) else a) for a in doc["applicants"]]}
    assert batch.validate_json_document(json.dumps(doc).encode(), max_rows=1000) is None
    too_many = json.dumps({"applicants": [applicant] * 3}).encode()
    assert batch.validate_json_document(too_many, max_rows=2) is None
