"""The routes' media type checks (the rule itself: lambda_app.api.media)."""

from __future__ import annotations

from fastapi import Request

from lambda_app.api.media import is_json, media_type
from lambda_app.api.problems import Problem


def request_media(request: Request) -> str:
    return media_type(request.headers.get("content-type", ""))


async def require_json(request: Request) -> None:  # async: no threadpool hop
    media = request_media(request)
    if not is_json(media):
        raise Problem(415, f"Send the applicant as application/json (got {media or 'no content type'}).")
