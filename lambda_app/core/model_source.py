"""Where a model bundle comes from: a local directory, or S3 (`s3://bucket/prefix/version`).

A bundle fetched from S3 is kept in a local cache directory (Lambda's /tmp survives
between invocations of a warm execution environment) and is verified on load like any
other bundle, so a damaged download never serves.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lambda_app.core.bundle import MANIFEST, BundleError


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise BundleError(f"{uri!r} is not an s3://bucket/prefix URI")
    return parsed.netloc, parsed.path.strip("/")


def local_path(model_uri: str, cache_dir: str | Path) -> Path:
    """Where the bundle named by MODEL_URI is, or will be once fetched, on local disk."""
    if not model_uri.startswith("s3://"):
        return Path(model_uri)
    bucket, prefix = split_s3_uri(model_uri)
    return Path(cache_dir) / bucket / prefix


def resolve(model_uri: str, cache_dir: str | Path) -> Path:
    """A local directory holding the bundle named by MODEL_URI."""
    target = local_path(model_uri, cache_dir)
    if model_uri.startswith("s3://") and not (target / MANIFEST).is_file():
        bucket, prefix = split_s3_uri(model_uri)
        _download(bucket, prefix, target)
    return target


def _s3() -> Any:
    import boto3  # only S3 users pay for importing boto3

    return boto3.client("s3")


def _download(bucket: str, prefix: str, target: Path) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    where = f"s3://{bucket}/{prefix}"
    hint = "Check MODEL_URI (s3://bucket/prefix/VERSION, as printed by `python -m training publish`) and the role's s3:GetObject/ListBucket permissions."
    s3 = _s3()
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        if prefix + "/" + MANIFEST not in keys:
            raise BundleError(f"No model bundle at {where}: {MANIFEST} is missing. {hint}")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Download beside the cache entry and rename, so a half-finished download is never
        # mistaken for a bundle by the next cold start.
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".download-"))
        try:
            for key in keys:
                relative = key[len(prefix) + 1 :]
                if not relative or "/" in relative or relative.startswith("."):
                    continue  # bundles are flat; ignore anything else under the prefix
                s3.download_file(bucket, key, str(staging / relative))
            staging.replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise BundleError(f"Cannot read the model bundle at {where}: {code or e}. {hint}") from None
    except BotoCoreError as e:
        raise BundleError(f"Cannot reach S3 for the model bundle at {where}: {e}. {hint}") from None
