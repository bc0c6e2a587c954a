"""Request-scoped access to what the app factory built.

Dependencies are `async def` although they never await: FastAPI runs a plain `def`
dependency in the threadpool, a thread hop per dependency per request that cost more
than scoring itself (and a new thread per invocation under Mangum)."""

from __future__ import annotations

from fastapi import Request

from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


async def get_scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    return scorer


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
