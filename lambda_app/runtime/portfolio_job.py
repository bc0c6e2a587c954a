"""The Lambda batch handler of portfolio re-scoring (Step Functions Distributed Map): one batch
of CSV rows in, its results as one CSV object in S3 out, a small summary back to the map.

Another handler of the one image (template.yaml overrides the image's command with this one).
Each item is `{"row": <0-based data row>, "applicant": {<CSV header>: <cell text>}, "execution": <name>}`
(the map's ItemSelector); a batch is `{"Items": [...]}` (ItemBatcher), and a single item is a
batch of one. Rows are validated as text, exactly as the CSV upload and `loan-risk score` do,
and a bad row is reported in the `errors` column without stopping the batch.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from lambda_app.startup import start_up

with start_up():  # as lambda_app.handler: the image has neither pandas nor scipy
    from lambda_app.core.catboost_lean import import_catboost_lean

    import_catboost_lean()  # before the service imports CatBoost: see that module

    from lambda_app.core.batch import validate_strings
    from lambda_app.core.model_source import resolve
    from lambda_app.core.schema import FEATURES
    from lambda_app.core.scoring import Scorer
    from lambda_app.service import ScoringService
    from lambda_app.settings import get_settings

RESULTS_BUCKET = "RESULTS_BUCKET"  # environment: where batch results go
RESULTS_PREFIX = "results"
ID = "id"


@cache
def scorer() -> Scorer:
    settings = get_settings()
    return Scorer.load(resolve(settings.model_uri, settings.model_cache_dir))


def batch_items(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = event.get("Items")
    return list(items) if isinstance(items, list) else [event]


def results_csv(model: Scorer, items: Sequence[Mapping[str, Any]]) -> tuple[str, Counter[str], int]:
    """The batch's results as `loan-risk score` writes them (key, risk_score, risk_band,
    percentile, errors), the count of each band and of failed rows."""
    applicants = [item.get("applicant") or {} for item in items]
    keyed = any(ID in a for a in applicants)
    rows = validate_strings([{c: str(a[c]) for c in FEATURES if c in a} for a in applicants])
    scored = ScoringService(model).score_rows(rows, "portfolio")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([ID if keyed else "row", "risk_score", "risk_band", "percentile", "errors"])
    bands: Counter[str] = Counter()
    failed = 0
    for item, applicant, result in zip(items, applicants, scored, strict=True):
        key = applicant.get(ID, "") if keyed else int(item.get("row", -1)) + 1
        if result.risk_score is None:
            failed += 1
            errors = "; ".join(f"{e.field}: {e.message}" for e in result.errors)
            writer.writerow([key, "", "", "", errors])
        else:
            bands[result.risk_band or ""] += 1
            writer.writerow([key, result.risk_score, result.risk_band, model.percentile(result.risk_score), ""])
    return buffer.getvalue(), bands, failed


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    import boto3  # imported on first use; the Lambda runtime has it

    items = batch_items(event)
    if not items:
        return {"rows": 0, "scored": 0, "failed": 0, "bands": {}, "output": None}
    body, bands, failed = results_csv(scorer(), items)
    first = min(int(item.get("row", 0)) for item in items) + 1
    execution = str(items[0].get("execution") or "manual")
    bucket = os.environ[RESULTS_BUCKET]
    key = f"{RESULTS_PREFIX}/{execution}/part-{first:010d}.csv"
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="text/csv")
    return {
        "rows": len(items),
        "scored": len(items) - failed,
        "failed": failed,
        "bands": dict(bands),
        "output": f"s3://{bucket}/{key}",
    }
