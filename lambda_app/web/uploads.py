"""Reading form posts and uploads within a size limit (lambda_app.middleware.body_limit's rule)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import Message

from lambda_app.core.schema import FIELDS
from lambda_app.middleware.body_limit import read_within

FORM_MAX_BYTES = 64 * 1024


class BadForm(Exception):
    """A form or multipart body that cannot be parsed."""


async def read_form(request: Request, limit: int, max_files: int) -> FormData:
    body = await read_within(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_files=max_files, max_fields=len(FIELDS) + 20)
    except (HTTPException, MultiPartException, ValueError) as e:  # a malformed multipart or urlencoded body
        raise BadForm(str(getattr(e, "detail", e))) from None


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"
