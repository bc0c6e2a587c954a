"""The Distributed Map's batch handler against moto S3: the API's scores, bad rows reported, one object per batch."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_app.core.batch import validate_strings
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.runtime import portfolio_job
from tests.conftest import S3_BUCKET
from training import synth


@pytest.fixture()
def job(s3: Any, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MODEL_URI", str(bundle_dir))
    monkeypatch.setenv(portfolio_job.RESULTS_BUCKET, S3_BUCKET)
    from lambda_app.settings import get_settings

    get_settings.cache_clear()
    portfolio_job.scorer.cache_clear()
    yield s3
    portfolio_job.scorer.cache_clear()
    get_settings.cache_clear()


def _items(n: int, start: int = 0) -> list[dict[str, Any]]:
    frame = synth.generate(n, seed=4)[list(FEATURES)].astype(str)
    return [{"row": start + i, "applicant": r, "execution": "run-1"} for i, r in enumerate(frame.to_dict("records"))]


def test_a_batch_is_scored_into_one_object(job: Any, scorer: Scorer) -> None:
    items = _items(300, start=1000)
    items[5]["applicant"] = {**items[5]["applicant"], "CreditScore": "nine hundred"}
    result = portfolio_job.handler({"Items": items, "BatchInput": {}}, None)
    assert result["output"] == f"s3://{S3_BUCKET}/results/run-1/part-0000001001.csv"
    assert (result["rows"], result["scored"], result["failed"]) == (300, 299, 1)
    body = job.get_object(Bucket=S3_BUCKET, Key="results/run-1/part-0000001001.csv")["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["row"]) for r in rows] == list(range(1001, 1301))
    valid = [r.applicant for r in validate_strings([i["applicant"] for i in items]) if r.applicant]
    scores = scorer.score(valid)
    assert [float(r["risk_score"]) for r in rows if r["risk_score"]] == scores
    assert [r["risk_band"] for r in rows if r["risk_score"]] == [scorer.band(s) for s in scores]
    assert [float(r["percentile"]) for r in rows if r["risk_score"]] == [scorer.percentile(s) for s in scores]
    assert rows[5]["errors"].startswith("CreditScore: Input should be a valid integer")
    assert sum(result["bands"].values()) == 299


def test_a_single_item_is_a_batch_of_one_and_an_id_is_the_key(job: Any, scorer: Scorer) -> None:
    applicant = {"id": "L-77", **{k: str(v) for k, v in EXAMPLE_APPLICANT.items()}}
    result = portfolio_job.handler({"row": 41, "applicant": applicant, "execution": "run-2"}, None)
    assert result["scored"] == 1
    body = job.get_object(Bucket=S3_BUCKET, Key="results/run-2/part-0000000042.csv")["Body"].read().decode()
    (row,) = csv.DictReader(io.StringIO(body))
    assert row["id"] == "L-77" and float(row["risk_score"]) == scorer.score([EXAMPLE_APPLICANT])[0]
