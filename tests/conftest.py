"""Shared fixtures: a small model bundle trained once per session on generated data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.core.scoring import Scorer
from tests.lambda_app.servers import ROOT, running
from training import synth
from training.dataset import read_applicants
from training.pipeline import TrainConfig
from training.train import train_bundle

SHARED_DATA = ROOT.parent / "shared" / "data" / "loan_train.csv"
# Cheap settings: 2 folds, few trees. The pipeline is the production one (approval index,
# monotone constraints, exclusion comparison), only smaller; the report (model card and plots)
# has its own tests (tests/training/test_report.py), and the UI tests bring their own.
FAST_PARAMS = {"iterations": 150, "learning_rate": 0.15, "depth": 4, "loss_function": "RMSE", "one_hot_max_size": 5}
FAST = TrainConfig(cv=2, params=FAST_PARAMS, report=False)


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.write(2000, tmp_path_factory.mktemp("data") / "synthetic.csv", seed=7)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    train_bundle(read_applicants(synthetic_csv), out, FAST)
    return out


@pytest.fixture(scope="session")
def scorer(bundle_dir: Path) -> Scorer:
    return Scorer.load(bundle_dir)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_file():
        pytest.skip(f"shared training data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture()
def applicant() -> dict[str, object]:
    return dict(EXAMPLE_APPLICANT)


@pytest.fixture(scope="session")
def live_server(bundle_dir: Path) -> Iterator[str]:
    """The ECS entry point (`python -m lambda_app`) on a free loopback port."""
    with running(bundle_dir) as (_proc, url):
        yield url


S3_BUCKET = "risk-models"


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An AWS account in moto, in process, with fake credentials so nothing leaves the process."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture()
def s3(aws: None) -> Any:
    """A moto S3 with one empty bucket, S3_BUCKET."""
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=S3_BUCKET)
    return client
