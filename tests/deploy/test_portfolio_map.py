"""template.yaml's portfolio state machine, run by moto's Step Functions interpreter: the
Distributed Map reads a CSV from (moto) S3 and hands rows to the real batch handler.

What differs from AWS, and why: moto rejects `ItemBatcher`, so the definition run here is the
template's own (read from template.yaml and substituted, so the two cannot drift) with only
`ItemBatcher` removed: every row is a batch of one, which the handler takes like any batch.
And moto cannot run a container image, so its Lambda invoke is routed to the handler in this
process (the image's command, lambda_app.runtime.portfolio_job.handler)."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambda_app.core.batch import validate_strings
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from tests.deploy.infra import ACCOUNT, REGION, sam_template
from training import synth

moto = pytest.importorskip("moto", reason="moto[stepfunctions] is in the dev extra: make install")

BUCKET = "portfolio-test"
FUNCTION = "loan-risk-portfolio"


def template_definition(values: dict[str, str]) -> dict[str, Any]:
    """The state machine's definition as CloudFormation would substitute it."""
    props = sam_template()["Resources"]["PortfolioStateMachine"]["Properties"]
    text = props["DefinitionString"]["Fn::Sub"]
    text = re.sub(r"\$\{([\w:.]+)\}", lambda m: values[m[1]], text)
    definition: dict[str, Any] = json.loads(text)
    return definition


def without_batcher(definition: dict[str, Any]) -> dict[str, Any]:
    variant = copy.deepcopy(definition)
    for state in variant["States"].values():
        state.pop("ItemBatcher", None)
    return variant


def test_the_template_batches_rows_with_a_bounded_concurrency() -> None:
    definition = template_definition(_values())
    scoring = definition["States"]["ScoreRows"]
    assert scoring["ItemReader"]["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    assert scoring["ItemBatcher"]["MaxItemsPerBatch"] == 1000
    assert scoring["MaxConcurrency"] == 20  # the PortfolioConcurrency default, as a number
    assert scoring["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    function = sam_template()["Resources"]["PortfolioFunction"]["Properties"]
    assert function["ImageConfig"]["Command"] == ["lambda_app.runtime.portfolio_job.handler"]
    assert function["ImageUri"] == {"Ref": "LambdaImageUri"}  # the API's image


def _values() -> dict[str, str]:
    params = sam_template()["Parameters"]
    return {
        "AWS::Partition": "aws",
        "PortfolioBucket": BUCKET,
        "PortfolioFunction.Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
        "PortfolioConcurrency": str(params["PortfolioConcurrency"]["Default"]),
    }


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch, bundle_dir: Path) -> Iterator[None]:
    from moto.awslambda.models import LambdaFunction

    from lambda_app.runtime import portfolio_job
    from lambda_app.settings import get_settings

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MODEL_URI": str(bundle_dir),
        portfolio_job.RESULTS_BUCKET: BUCKET,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    portfolio_job.scorer.cache_clear()

    def run_handler(self: Any, event: Any = None) -> tuple[str, bool, str]:
        try:
            return json.dumps(portfolio_job.handler(event or {}, None)), False, ""
        except Exception as e:  # as Lambda reports a function error
            return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}), True, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", run_handler)
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    get_settings.cache_clear()


def test_a_csv_in_s3_is_scored_row_by_row(aws: None, tmp_path: Path, scorer: Scorer) -> None:
    frame = synth.generate(12, seed=21)[list(FEATURES)].astype(str)
    frame.loc[3, "Age"] = "unknown"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/book.csv", Body=frame.to_csv(index=False).encode())

    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=FUNCTION,
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/loan-risk-lambda:test"},
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = without_batcher(template_definition(_values()))
    machine = sfn.create_state_machine(name="portfolio", definition=json.dumps(definition), roleArn=role)
    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name="run-7", input=json.dumps({"key": "in/book.csv"})
    )
    deadline = time.monotonic() + 120
    while (status := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)
    assert status["status"] == "SUCCEEDED", status

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="results/run-7/")["Contents"])
    assert keys == [f"results/run-7/part-{n:010d}.csv" for n in range(1, 13)]  # one per row: no batcher here
    rows = [
        next(csv.DictReader(io.StringIO(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read().decode()))) for k in keys
    ]
    records = [{str(k): str(v) for k, v in r.items()} for r in frame.to_dict("records")]
    valid = [r.applicant for r in validate_strings(records) if r.applicant]
    assert [float(r["risk_score"]) for r in rows if r["risk_score"]] == scorer.score(valid)
    assert rows[3]["errors"].startswith("Age: Input should be a valid integer")
    assert [int(r["row"]) for r in rows] == list(range(1, 13))


def test_moto_still_rejects_the_item_batcher(aws: None) -> None:
    """Why the execution test drops ItemBatcher. When moto learns it, this fails: run the
    template's definition as it is in the test above, and delete this one."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    with pytest.raises(ClientError, match="ItemBatcher"):
        sfn.create_state_machine(
            name="portfolio",
            definition=json.dumps(template_definition(_values())),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )
