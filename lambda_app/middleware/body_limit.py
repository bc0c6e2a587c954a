"""Request body size limit, enforced before a body is read whole."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app.api.problems import problem_response


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
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
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
