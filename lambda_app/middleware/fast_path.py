"""POST /v1/score, the common case, without FastAPI's per-request machinery.

FastAPI resolves dependencies, query parameters and the body model anew for every request,
and on this route that cost several times what scoring does. This middleware, innermost
of the app's own, answers the plain case itself: JSON content, no query string, a valid
API key if keys are set, and a body that is a valid applicant. It validates the body in
one pass of pydantic-core (`schema.RECORD`, the Applicant's fields as a plain dict) and
then runs the route's code for that case (the coalescer, `score_body`), so the answer is
the route's, byte for byte. Anything else, or any failure on the way, is handed to the
FastAPI route with the body replayed, so errors and options keep one implementation.
"""

from __future__ import annotations

import hmac

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app.core.schema import RECORD
from lambda_app.settings import Settings
from lambda_app.telemetry import count

PATH = "/v1/score"


class FastScore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._settings: Settings | None = None
        self._keys: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._plain(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        error: BaseException | None = None
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except Exception as e:  # a body limit or deadline: the route answers it
            error = e
        if error is None and messages[-1]["type"] == "http.request":
            body = await self._score(scope, b"".join(m.get("body", b"") for m in messages))
            if body is not None:
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, _replay(messages, error, receive), send)

    def _plain(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("query_string"):
            return False
        if get_route_path(scope) != PATH:
            return False
        content_type = key = None  # the first of each, as Starlette's headers.get() has it
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"x-api-key" and key is None:
                key = value
        content_type = content_type or b""
        media = content_type.split(b";")[0].strip().lower()
        if media != b"application/json" and not media.endswith(b"+json"):
            return False
        if "app" not in scope:
            return False
        settings = scope["app"].state.settings
        if settings is not self._settings:  # parsed once, not per request
            self._settings, self._keys = settings, settings.api_key_list()
        keys = self._keys
        # Same constant-time check as lambda_app.api.security; a wrong key goes to the route's 401.
        supplied = (key or b"").decode("latin-1").encode()
        matched = not keys
        for k in keys:
            matched |= hmac.compare_digest(supplied, k.encode())
        return matched

    async def _score(self, scope: Scope, body: bytes) -> bytes | None:
        from lambda_app.api.routes import score_body  # the route's module imports this one

        state = scope["app"].state
        try:
            fields = RECORD.validate_json(body)
            if "aws.event" in scope:  # Lambda: one request per invocation, nothing to batch with
                [risk] = state.scorer.score([fields])
            else:
                risk = await state.coalescer.score(fields)
            body = score_body(state.scorer, fields, False, state.settings.max_reasons, risk)
        except Exception:  # invalid, or anything unexpected: the route answers it
            return None
        count("ScoresServed")
        return body


def _replay(messages: list[Message], error: BaseException | None, receive: Receive) -> Receive:
    """What was read, then the error it ended with, then the live connection."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        if error is not None:
            raise error
        return await receive()

    return replay
