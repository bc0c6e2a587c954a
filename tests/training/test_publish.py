"""Publishing to S3 and serving from S3, against moto."""

from pathlib import Path
from typing import Any

import pytest

from lambda_app.core.bundle import BundleError
from lambda_app.core.model_source import resolve
from lambda_app.core.scoring import Scorer
from tests.conftest import S3_BUCKET
from training.__main__ import main

BUCKET = S3_BUCKET


def test_publish_then_serve_from_s3(
    s3: Any,
    bundle_dir: Path,
    tmp_path: Path,
    scorer: Scorer,
    applicant: dict[str, object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["publish", "--model", str(bundle_dir), "--to", f"s3://{BUCKET}/loan-risk"]) == 0
    uri = f"s3://{BUCKET}/loan-risk/{scorer.version}"
    assert f"MODEL_URI={uri}" in capsys.readouterr().out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f"loan-risk/{scorer.version}/manifest.json", f"loan-risk/{scorer.version}/model.cbm"} <= keys

    local = resolve(uri, tmp_path / "cache")
    served = Scorer.load(local)
    assert served.version == scorer.version and served.score([applicant]) == scorer.score([applicant])
    # A warm start uses the cache without touching S3.
    s3.delete_object(Bucket=BUCKET, Key=f"loan-risk/{scorer.version}/model.cbm")
    assert resolve(uri, tmp_path / "cache") == local


def test_publishing_the_same_version_twice_is_refused(
    s3: Any, bundle_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", "--model", str(bundle_dir), "--to", f"s3://{BUCKET}/p"]) == 0
    assert main(["publish", "--model", str(bundle_dir), "--to", f"s3://{BUCKET}/p"]) == 2
    assert "already published" in capsys.readouterr().err


def test_tampered_object_in_s3_is_refused_on_load(s3: Any, bundle_dir: Path, tmp_path: Path, scorer: Scorer) -> None:
    main(["publish", "--model", str(bundle_dir), "--to", f"s3://{BUCKET}/t"])
    s3.put_object(Bucket=BUCKET, Key=f"t/{scorer.version}/model.cbm", Body=b"not a model")
    with pytest.raises(BundleError, match="checksum"):
        Scorer.load(resolve(f"s3://{BUCKET}/t/{scorer.version}", tmp_path))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://no-such-bucket/x/v1", "NoSuchBucket"),
        (f"s3://{BUCKET}/missing/v1", "manifest.json is missing"),
    ],
)
def test_missing_bucket_or_object_says_what_to_do(s3: Any, tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(BundleError, match=message) as e:
        resolve(uri, tmp_path)
    assert "MODEL_URI" in str(e.value)


def test_service_starts_from_an_s3_model_uri(
    s3: Any, bundle_dir: Path, tmp_path: Path, scorer: Scorer, applicant: dict[str, object]
) -> None:
    from fastapi.testclient import TestClient

    from lambda_app.app import create_app
    from lambda_app.settings import Settings

    main(["publish", "--model", str(bundle_dir), "--to", f"s3://{BUCKET}/svc"])
    app = create_app(Settings(model_uri=f"s3://{BUCKET}/svc/{scorer.version}", model_cache_dir=str(tmp_path)))
    r = TestClient(app).post("/v1/score", json=applicant)
    assert r.json()["model_version"] == scorer.version
    with pytest.raises(BundleError, match="NoSuchBucket"):
        create_app(Settings(model_uri="s3://absent-bucket/svc/v1", model_cache_dir=str(tmp_path)))
