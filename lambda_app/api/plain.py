"""The score request answered without FastAPI: POST /v1/score with a JSON body, a valid API key
if keys are set, and no query string but `explain` and `reasons` in their plain spellings. The
fast path (lambda_app.middleware.fast_path) and the Lambda light path (lambda_app.gateway) both
decide with these rules, so neither ever answers a request the route would answer differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from lambda_app.api.keys import key_matches
from lambda_app.api.media import is_json, media_type

PATH = "/v1/score"
MAX_REASONS = 28  # the route's bound on `reasons`: one per applicant field


@dataclass(frozen=True, slots=True)
class Options:
    explain: bool = False
    reasons: int | None = None


PLAIN = Options()
_EXPLAIN = {"true": True, "false": False}
_REASONS = {str(n): n for n in range(1, MAX_REASONS + 1)}


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


def query_options(query: bytes) -> Options | None:
    """The route's query parameters when they are spelt plainly (`explain=true|false`,
    `reasons=1..28`, each at most once); None for anything else, which the route parses."""
    if not query:
        return PLAIN
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    found = dict(pairs)
    if len(found) != len(pairs) or not found.keys() <= {"explain", "reasons"}:
        return None
    explain = _EXPLAIN.get(found.get("explain", "false"))
    reasons = _REASONS.get(found["reasons"]) if "reasons" in found else None
    if explain is None or ("reasons" in found and reasons is None):
        return None
    return Options(explain, reasons)
