"""Media types the API accepts, without a web framework: the routes, the fast path and the
Lambda light path (lambda_app.gateway) check them the same way."""

from __future__ import annotations


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")
