"""Request-scoped access to what the app factory built, for routes that take it as a dependency.

Dependencies are `async def` although they never await: FastAPI runs a plain `def`
dependency in the threadpool, a thread hop per dependency per request."""

from __future__ import annotations

from fastapi import Request

from lambda_app.service import ScoringService
from lambda_app.settings import Settings


async def get_service(request: Request) -> ScoringService:
    service: ScoringService = request.app.state.service
    return service


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
