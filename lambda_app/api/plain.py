"""The plain score: POST /v1/score with a JSON body and a valid API key if keys are set. The
fast path (lambda_app.middleware.fast_path) answers it without FastAPI when it has no query
string; the Lambda light path (lambda_app.gateway) also when its only options are ones it
reads exactly as the route does (`score_options`). Both decide what is plain with these
rules, so neither ever answers a request the route would answer differently."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from lambda_app.api.keys import key_matches
from lambda_app.api.media import is_json, media_type

PATH = "/v1/score"
MAX_REASONS = 28  # the route's bound on `reasons`: one per applicant field
_FLAGS = {"true": True, "false": False}


def is_score_request(
    method: str, route_path: str, content_type: bytes | None, key: bytes | None, keys: Sequence[bytes]
) -> bool:
    """What the route's dependencies let through: `route_path` is the path below any stage
    prefix; `content_type` and `key` are the first such headers' raw bytes (as Starlette's
    headers.get() has them). A wrong key is not plain: the route answers it with 401."""
    if method != "POST" or route_path != PATH:
        return False
    if not is_json(media_type((content_type or b"").decode("latin-1"))):
        return False
    return key_matches(keys, key or b"")


def is_plain_score(
    method: str, route_path: str, query: bytes, content_type: bytes | None, key: bytes | None, keys: Sequence[bytes]
) -> bool:
    """A score request without a query string: the fast path's."""
    return not query and is_score_request(method, route_path, content_type, key, keys)


def score_options(query: bytes) -> tuple[bool, int | None] | None:
    """`explain` and `reasons` from the query string, when it holds nothing else and each at
    most once, written as `true`/`false` and a whole number from 1 to 28: values the route
    reads the same way. None for any other query string, which the route answers."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)  # as Starlette parses it
    given = dict(pairs)
    if len(given) != len(pairs) or not set(given) <= {"explain", "reasons"}:
        return None
    explain = _FLAGS.get(given.get("explain", "false"))
    reasons = given.get("reasons")
    if explain is None or (reasons is not None and not _whole_number_in_range(reasons)):
        return None
    return explain, None if reasons is None else int(reasons)


def _whole_number_in_range(text: str) -> bool:
    return text.isascii() and text.isdigit() and not text.startswith("0") and 1 <= int(text) <= MAX_REASONS
