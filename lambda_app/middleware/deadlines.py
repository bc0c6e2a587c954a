"""A deadline for reading the request body, so a client that sends it slowly (or stops
half-way) cannot hold a request open: it gets 408 once `request_timeout_s` has passed."""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeout:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # On Lambda the body arrives whole in the event: there is nothing slow to wait for.
        if scope["type"] != "http" or "aws.event" in scope:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds

        async def timed_receive() -> Message:
            try:
                # asyncio.timeout_at arms one timer, no extra task as wait_for would.
                async with asyncio.timeout_at(deadline):
                    return await receive()
            except TimeoutError:
                # An HTTPException, so the route's exception handlers answer it as a problem;
                # the rest of the body is never read, so the connection cannot be reused.
                raise HTTPException(
                    408,
                    f"The request body did not arrive within {self.seconds:g} s.",
                    headers={"connection": "close"},
                ) from None

        await self.app(scope, timed_receive, send)
