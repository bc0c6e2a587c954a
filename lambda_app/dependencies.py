"""Request-scoped access to what the app factory built."""

from __future__ import annotations

from fastapi import Request

from lambda_app.scoring import Scorer
from lambda_app.settings import Settings


def get_scorer(request: Request) -> Scorer:
    scorer: Scorer = request.app.state.scorer
    return scorer


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
