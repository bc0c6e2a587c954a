"""How the pages are rendered: one Jinja2 environment, the security headers every page carries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from lambda_app.core.text import number, signed

# No scripts at all; inline styles and inline SVG only; forms post only back here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages carry applicants' personal data: keep them out of shared caches and history.
    "Cache-Control": "no-store",
}


def when(iso: str) -> str:
    """An ISO timestamp as people write it, in UTC; left as it is if it is not one."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if t.tzinfo else f"{t:%Y-%m-%d %H:%M}"


def url_path(request: Request, name: str, /, **params: Any) -> str:
    """A root-relative URL that keeps the mount prefix (e.g. an API Gateway stage), and no
    scheme or host, which behind a TLS-terminating proxy could come out wrong."""
    return str(request.scope.get("root_path", "")) + str(request.app.url_path_for(name, **params))


@jinja2.pass_context
def path_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    return url_path(context["request"], name, **params)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a template typo fails the tests instead of rendering blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["path_for"] = path_for
    env.filters["num"] = number
    env.filters["signed"] = signed
    env.filters["when"] = when
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, active: str = ""
) -> HTMLResponse:
    version: str = request.app.state.service.version
    full = {"version": version, "active": active, **context}
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", {"title": title, "message": message}, status_code)
