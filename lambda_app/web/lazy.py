"""The web pages on Lambda, imported by their first request, so a cold start that scores never pays for them.

The pages (lambda_app.web.router) bring jinja2, their templates' environment, form parsing
and a dozen routes that FastAPI analyses as they are added: a visible share of a cold
start (benchmarks/cold_start.py), on a path an API client never takes. On Lambda they join the app when the router first finds no
route for a request; the request is then routed again, with them. A server builds its app
once per worker and keeps it, so there the app includes them at once.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


class LazyPages:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.not_found = app.router.default
        self.loaded = False

    def install(self) -> None:
        """Route to the pages through this object until they are loaded."""
        self.app.router.default = self._first_unrouted

    def load(self) -> None:
        if self.loaded:
            return
        from lambda_app.web import router as pages

        self.loaded = True
        self.app.include_router(pages.router)
        self.app.router.default = self.not_found

    async def _first_unrouted(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.load()
        await self.app.router(scope, receive, send)

    def too_large_page(self, scope: Scope) -> ASGIApp | None:
        """lambda_app.web.router.too_large_page, loading the pages first (it renders one)."""
        self.load()
        from lambda_app.web import router as pages

        return pages.too_large_page(scope)
