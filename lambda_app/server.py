"""How the ECS entry point runs uvicorn: one place for the server options, shared by
`python -m lambda_app` and the benchmarks' framework floor so both run alike."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lambda_app.settings import Settings, get_settings


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for each request's head.

    uvicorn has no header timeout, and any byte resets its keep-alive timer, so a client
    trickling a header a byte at a time (slowloris) would hold its connection forever.
    Here the request line and headers must be complete within `request_timeout_s` of
    the connection opening or the previous response ending; the body has its own
    deadline in the app (lambda_app.timeouts)."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(get_settings().request_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments, less the app and the worker count."""
    return dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # ECS stops a task with SIGTERM and waits (stopTimeout, 30 s by default) before
        # SIGKILL: finish what is in flight within that.
        timeout_graceful_shutdown=30,
        # The C parser (with the head deadline above) and event loop; "auto" would
        # quietly fall back to the slow pure-Python ones if they were missing.
        http=f"{__name__}:HeadTimeoutProtocol",
        loop="uvloop",
        # RequestContext logs one structured line per request already.
        access_log=False,
        timeout_keep_alive=5,
        backlog=2048,
    )
