"""Optional API-key check for /v1/* (off when no keys are configured, e.g. when API
Gateway enforces its own keys in front of Lambda)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from lambda_app.api.keys import key_matches
from lambda_app.api.problems import Problem
from lambda_app.settings import Settings

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Required when the service has API keys set"
)


async def require_api_key(key: Annotated[str | None, Depends(api_key_header)], request: Request) -> None:
    # Settings straight from the app rather than as a sub-dependency: each dependency
    # FastAPI resolves costs about as much as scoring does.
    settings: Settings = request.app.state.settings
    # Starlette decodes headers as Latin-1: encoding back gives the bytes that were sent.
    if not key_matches(settings.api_key_bytes, (key or "").encode("latin-1")):
        raise Problem(
            401, "Missing or invalid API key (send it in the X-API-Key header).", headers={"WWW-Authenticate": "ApiKey"}
        )
