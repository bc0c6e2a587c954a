"""Request body size limits, enforced before a body is read whole: the app-wide one here, and
the same rule for the pages' smaller limits (`read_within`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app.api.problems import problem_response
from lambda_app.middleware.content_length import declared_over


class BodyTooLarge(Exception):
    """A body over its limit, known from its declared length or counted as it streamed."""


async def read_within(request: Request, limit: int) -> bytes:
    """The body, refused (BodyTooLarge) as soon as it is known to exceed `limit`."""
    if declared_over(request.headers.get("content-length"), limit):
        raise BodyTooLarge
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    except HTTPException as e:  # the app-wide limit, cutting off a body sent without a length
        if e.status_code == 413:
            raise BodyTooLarge from None
        raise
    return b"".join(chunks)


class BodySizeLimit:
    """A declared Content-Length over the limit is refused before a byte of the body is
    read; a chunked body is counted as it streams and cut off at the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, page: Callable[[Scope], ASGIApp | None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The web pages answer a browser's oversized upload with a page of their own, not JSON.
        self.page = page

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413, f"Request body is larger than the {self.max_bytes:,}-byte limit; send fewer applicants per request."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_over(dict(scope.get("headers", ())).get(b"content-length"), self.max_bytes):
            error = self._too_large()
            response = (self.page and self.page(scope)) or problem_response(
                None, 413, str(error.detail), headers={"connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException, so the route's exception handlers answer it as a problem.
                    raise self._too_large()
            return message

        await self.app(scope, counting_receive, send)
