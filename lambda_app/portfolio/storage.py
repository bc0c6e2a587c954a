"""Files in and out of S3 for a portfolio run: whole objects through boto3's managed transfers
(ranged, parallel parts for large ones), staged on local disk so memory stays flat."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse


class StorageError(ValueError):
    """An input or output location that cannot be used (one line for the user)."""


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    key = parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not parsed.netloc or not key or key.endswith("/"):
        raise StorageError(f"{uri!r} is not an s3://bucket/key URI of one object")
    return parsed.netloc, key


def name_of(uri: str) -> str:
    """The object's file name (its suffix says its format)."""
    return PurePosixPath(split(uri)[1]).name


def _client() -> Any:
    import boto3  # only S3 users pay for importing boto3

    return boto3.client("s3")


def download(uri: str, directory: Path) -> Path:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split(uri)
    target = directory / name_of(uri)
    try:
        _client().download_file(bucket, key, str(target))
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        reason = "no such object" if code in ("404", "NoSuchKey", "NoSuchBucket") else code or str(e)
        raise StorageError(f"cannot read {uri}: {reason}") from None
    except BotoCoreError as e:
        raise StorageError(f"cannot reach S3 for {uri}: {e}") from None
    return target


def upload(path: Path, uri: str) -> None:
    """The object appears only once the whole file is in (S3 commits a multipart upload at its end)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split(uri)
    try:
        _client().upload_file(str(path), bucket, key)
    except (ClientError, BotoCoreError) as e:
        raise StorageError(f"cannot write {uri}: {e}") from None


def check_writable(uri: str) -> None:
    """Fail before hours of scoring, not after: the bucket must exist and be reachable."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _ = split(uri)
    try:
        _client().head_bucket(Bucket=bucket)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise StorageError(
            f"cannot write {uri}: bucket {bucket!r}: {'no such bucket' if code == '404' else code}"
        ) from None
    except BotoCoreError as e:
        raise StorageError(f"cannot reach S3 for {uri}: {e}") from None
