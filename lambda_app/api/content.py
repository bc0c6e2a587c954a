"""Media types the API accepts, checked the same way by the routes and the fast path."""

from __future__ import annotations

from fastapi import Request

from lambda_app.api.problems import Problem


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def request_media(request: Request) -> str:
    return media_type(request.headers.get("content-type", ""))


async def require_json(request: Request) -> None:  # async: no threadpool hop
    media = request_media(request)
    if not is_json(media):
        raise Problem(415, f"Send the applicant as application/json (got {media or 'no content type'}).")
