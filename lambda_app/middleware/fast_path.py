"""POST /v1/score, the common case, without FastAPI's per-request machinery.

FastAPI resolves dependencies, query parameters and the body model anew for every request,
and on this route that cost more than scoring does. This middleware, innermost
of the app's own, answers the common case itself: JSON content, no query string but `explain` and `reasons`
in their plain spellings, a valid API key if keys are set, and a body that is a valid applicant. It validates the body in
one pass of pydantic-core (`schema.RECORD`, the Applicant's fields as a plain dict) and
then makes the route's calls for that case (the scoring service, `score_body`), so the answer is
the route's, byte for byte. Anything else, or any failure on the way, is handed to the
FastAPI route with the body replayed, so errors and options keep one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app.api.content import is_json, media_type
from lambda_app.api.problems import records_unavailable
from lambda_app.api.score import DECISION_HEADER, score_body
from lambda_app.api.security import key_matches
from lambda_app.core.schema import RECORD
from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.service import ScoringService

PATH = "/v1/score"
DECISION_HEADER_BYTES = DECISION_HEADER.lower().encode()


@dataclass(frozen=True, slots=True)
class Decided:
    body: bytes
    decision_id: str | None


class FastScore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        options = query_options(scope.get("query_string", b"")) if self._plain(scope) else None
        if options is None:
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
            answer = await self._score(scope, b"".join(m.get("body", b"") for m in messages), options)
            if isinstance(answer, Decided):
                body, headers = answer.body, [(b"content-type", b"application/json")]
                headers.append((b"content-length", str(len(body)).encode()))
                if answer.decision_id is not None:
                    headers.append((DECISION_HEADER_BYTES, answer.decision_id.encode()))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, _replay(messages, error, receive), send)

    def _plain(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        if _route_path(scope) != PATH or "app" not in scope:
            return False
        content_type = key = None  # the first of each, as Starlette's headers.get() has it
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"x-api-key" and key is None:
                key = value
        if not is_json(media_type((content_type or b"").decode("latin-1"))):
            return False
        # The route's own key check; a wrong key goes on to the route, which answers 401.
        return key_matches(scope["app"].state.settings.api_key_bytes, key or b"")

    async def _score(self, scope: Scope, body: bytes, options: Options) -> Decided | ASGIApp | None:
        """The route's answer for a plain score; None hands the request to the route."""
        service: ScoringService = scope["app"].state.service
        try:
            applicant = RECORD.validate_json(body)
            decision = await service.score(
                applicant, explain=options.explain, reasons=options.reasons, alone="aws.event" in scope
            )
        except RecordsUnavailable as e:  # scored, but no score without its record: the route's 503
            return records_unavailable(None, e)
        except Exception:  # invalid, or anything unexpected: the route answers it
            return None
        return Decided(score_body(decision, service.version), decision.decision_id)


@dataclass(frozen=True, slots=True)
class Options:
    explain: bool = False
    reasons: int | None = None


PLAIN = Options()
_EXPLAIN = {"true": True, "false": False}
_REASONS = {str(n): n for n in range(1, 29)}  # the route's bounds (ge=1, le=28)


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


def _route_path(scope: Scope) -> str:
    """The path below the mount prefix (an API Gateway stage), as routing sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    below = path[len(root) :] if root and path.startswith(root) else None
    return below if below is not None and below.startswith("/") else path


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
