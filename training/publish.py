"""Publishing a bundle to S3 under its version id, never overwriting a published version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lambda_app.core.bundle import MANIFEST, read_manifest
from lambda_app.core.model_source import split_s3_uri


class PublishError(RuntimeError):
    pass


def publish(bundle: Path, destination: str, s3: Any = None) -> str:
    """Upload every file of the bundle to s3://bucket/prefix/VERSION/; return that URI."""
    import boto3
    from botocore.exceptions import ClientError

    manifest = read_manifest(bundle)  # refuse to publish a bundle that would not load
    bucket, prefix = split_s3_uri(destination)
    base = f"{prefix}/{manifest.version}" if prefix else manifest.version
    s3 = s3 or boto3.client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=f"{base}/{MANIFEST}")
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise PublishError(f"Cannot check s3://{bucket}/{base}: {e}") from None
    else:
        raise PublishError(
            f"Version {manifest.version} is already published at s3://{bucket}/{base}; "
            "published versions are immutable. Retrain to get a new version."
        )
    files = sorted(p for p in bundle.iterdir() if p.is_file() and p.name != MANIFEST)
    try:
        for path in files:
            s3.upload_file(str(path), bucket, f"{base}/{path.name}")
        # The manifest goes last: its presence marks a complete bundle for readers.
        s3.upload_file(str(bundle / MANIFEST), bucket, f"{base}/{MANIFEST}")
    except ClientError as e:
        raise PublishError(f"Upload to s3://{bucket}/{base} failed: {e}") from None
    return f"s3://{bucket}/{base}"
