"""Decision records of real scores (the session's bundle), and an AWS account in moto."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_app.core.schema import EXAMPLE_APPLICANT, Applicant
from lambda_app.core.scoring import Scorer
from lambda_app.records.build import decision_record
from lambda_app.records.format import DecisionRecord

STREAM = "loan-risk-decisions"
BUCKET = "loan-risk-decision-records"


def applicants(n: int) -> list[dict[str, Any]]:
    """n valid applicants that differ (income and loan amount vary)."""
    out = []
    for i in range(n):
        a = dict(EXAMPLE_APPLICANT)
        a["AnnualIncome"] = 30_000 + 1_000 * i
        a["LoanAmount"] = 5_000 + 250 * (i % 40)
        out.append(Applicant.model_validate(a).model_dump())
    return out


def scored(scorer: Scorer, n: int, reasons: bool = True) -> list[DecisionRecord]:
    people = applicants(n)
    scores = scorer.score(people)
    # One at a time, as the single-score route explains (replay does the same).
    explanations = [scorer.explain([a], 4)[0] for a in people] if reasons else [None] * n
    return [decision_record(scorer, a, s, "api", e) for a, s, e in zip(people, scores, explanations, strict=True)]


@pytest.fixture()
def firehose_to_s3(aws: None) -> Any:
    """A Firehose stream delivering into an S3 bucket under decisions/dt=.../ (as template.yaml)."""
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("firehose").create_delivery_stream(
        DeliveryStreamName=STREAM,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": "decisions/dt=!{timestamp:yyyy-MM-dd}/",
            "ErrorOutputPrefix": "errors/",
            "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60},
        },
    )
    return boto3.client("s3")


@pytest.fixture(autouse=True)
def fresh_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    """Each test starts a new metrics window, so the counts it reads are its own."""
    from tests.lambda_app.records.metrics import published

    published(capsys)
