"""The plain score: POST /v1/score with a JSON body, no query string and a valid API key if
keys are set. The fast path (lambda_app.middleware.fast_path) and the Lambda light path
(lambda_app.gateway) answer it without FastAPI, and both decide what is plain with this rule,
so neither ever answers a request the route would answer differently."""

from __future__ import annotations

from collections.abc import Sequence

from lambda_app.api.keys import key_matches
from lambda_app.api.media import is_json, media_type

PATH = "/v1/score"


def is_plain_score(
    method: str, route_path: str, query: bytes, content_type: bytes | None, key: bytes | None, keys: Sequence[bytes]
) -> bool:
    """`route_path` is the path below any stage prefix; `content_type` and `key` are the first
    such headers' raw bytes (as Starlette's headers.get() has them). A wrong key is not plain:
    the route answers it with 401."""
    if method != "POST" or query or route_path != PATH:
        return False
    if not is_json(media_type((content_type or b"").decode("latin-1"))):
        return False
    return key_matches(keys, key or b"")
