"""The path prefix the service is reached under, so /docs, links and form actions work
behind an API Gateway stage (`/prod/docs` must fetch `/prod/openapi.json`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Lambda light path (lambda_app.gateway) uses the rules here without Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send


def stage_prefix(event: Mapping[str, Any] | None) -> str:
    """`/stage` when the request URL carries the API Gateway stage (default endpoints of
    REST APIs and named HTTP API stages); empty for `$default` and custom domains."""
    context = (event or {}).get("requestContext") or {}
    stage = context.get("stage")
    if not stage or stage == "$default":
        return ""
    full_path = str(context.get("path") or (event or {}).get("rawPath") or "")
    prefix = f"/{stage}"
    return prefix if full_path == prefix or full_path.startswith(prefix + "/") else ""


def route_path(path: str, root_path: str) -> str:
    """The path below the mount prefix (an API Gateway stage), as routing sees it."""
    below = path[len(root_path) :] if root_path and path.startswith(root_path) else None
    return below if below is not None and below.startswith("/") else path


class RootPath:
    """Sets the ASGI root_path: the configured ROOT_PATH, else the stage seen in a Lambda event."""

    def __init__(self, app: ASGIApp, configured: str = "") -> None:
        self.app = app
        self.configured = configured.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = self.configured or stage_prefix(scope.get("aws.event"))
            if prefix:
                scope["root_path"] = prefix
        await self.app(scope, receive, send)
