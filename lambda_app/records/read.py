"""Reading stored decision records back: a local directory (or file) of JSON Lines, or
S3 (`s3://bucket/prefix`), optionally only the days between two dates.

Records are streamed one at a time, so reading a year of them takes the memory of one.
Both sinks write under `dt=YYYY-MM-DD/` partitions, which is how a date range skips whole
files without opening them.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlparse

from pydantic_core import from_json

PARTITION = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")


class RecordsError(ValueError):
    """The records cannot be read; the message says where and why."""


def _in_range(key: str, since: date | None, until: date | None) -> bool:
    m = PARTITION.search(key)
    if m is None or (since is None and until is None):
        return True
    day = date.fromisoformat(m.group(1))
    return (since is None or day >= since) and (until is None or day <= until)


BLOCK = 1 << 22


def _split_lines(read: Callable[[int], bytes]) -> Iterator[tuple[bytes, bool]]:
    """The lines of a stream read in large blocks, each with whether a newline ended it:
    splitting a block in C is faster than reading line by line, and the memory is one block
    whatever the file's size."""
    rest = b""
    while block := read(BLOCK):
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line, True
    if rest:
        yield rest, False


def _lines(stream: IO[bytes] | Any, name: str) -> Iterator[dict[str, Any]]:  # a file, or an S3 StreamingBody
    # Bytes lines parsed by pydantic-core (which checks the UTF-8): much faster than decoding to
    # text and json.loads, and parsing is most of the time a monitoring report takes.
    source = gzip.GzipFile(fileobj=stream) if name.endswith(".gz") else stream
    for number, (line, terminated) in enumerate(_split_lines(source.read), 1):
        try:
            yield from_json(line, cache_strings="keys")
        except ValueError as e:
            if not line.strip():
                continue  # a blank line
            if not terminated:
                # The torn tail of a writer killed mid-write: never acknowledged, so not a
                # record (lambda_app.records.sinks). A bad line anywhere else is damage.
                return
            raise RecordsError(f"{name}, line {number}: not a JSON record ({e})") from None


def local_files(root: Path, since: date | None = None, until: date | None = None) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise RecordsError(f"No decision records at {root}: no such file or directory")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz"))
    )
    return [p for p in files if _in_range(p.relative_to(root).as_posix(), since, until)]


def iter_records(uri: str, since: date | None = None, until: date | None = None) -> Iterator[dict[str, Any]]:
    """Every record under `uri` (a path or s3://bucket/prefix), file by file in name order."""
    if uri.startswith("s3://"):
        yield from _s3_records(uri, since, until)
        return
    for path in local_files(Path(uri), since, until):
        with path.open("rb") as f:
            yield from _lines(f, str(path))


def _s3_records(uri: str, since: date | None, until: date | None) -> Iterator[dict[str, Any]]:
    import boto3  # only S3 users pay for importing boto3
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(uri)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    s3 = boto3.client("s3")
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        for key in keys:
            if key.endswith("/") or not _in_range(key[len(prefix) :], since, until):
                continue
            body = cast(IO[bytes], s3.get_object(Bucket=bucket, Key=key)["Body"])
            yield from _lines(body, f"s3://{bucket}/{key}")
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise RecordsError(f"Cannot read decision records at {uri}: {code or e}") from None
    except BotoCoreError as e:
        raise RecordsError(f"Cannot reach S3 for decision records at {uri}: {e}") from None
