"""The pages' routes together, and the page the app-wide body limit answers a page's post with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Scope

from lambda_app.settings import Settings
from lambda_app.web import applicant, batch, model, monitoring
from lambda_app.web.batch import batch_page, file_too_large
from lambda_app.web.rendering import error_page
from lambda_app.web.uploads import FORM_MAX_BYTES

PAGES = (applicant.router, batch.router, model.router, monitoring.router)
router = APIRouter(include_in_schema=False)
for pages in PAGES:
    router.include_router(pages)


def too_large_page(scope: Scope) -> ASGIApp | None:
    """The app-wide body limit's answer when a post to one of these pages is too large: this
    service's page with the reason, where an API client gets a problem document."""
    routes = (r for pages in PAGES for r in pages.routes if isinstance(r, APIRoute))
    route = next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)
    if route is None:
        return None
    request = Request(scope)
    settings: Settings = request.app.state.settings
    if route.name in ("ui_batch_score", "ui_batch_csv"):
        return batch_page(request, settings, 413, error=file_too_large(settings))
    return error_page(request, 413, "Form too large", f"A form post is limited to {FORM_MAX_BYTES // 1024} kB.")
