"""Settings read from the environment the way each platform sets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_app.core.model_source import resolve
from lambda_app.settings import DEFAULT_MODEL_URI, Settings


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_model_uri_means_the_default(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # SAM local turns the template's `!If [HasModelUri, ..., AWS::NoValue]` into MODEL_URI="".
    monkeypatch.setenv("MODEL_URI", value)
    settings = Settings()
    assert settings.model_uri == DEFAULT_MODEL_URI
    assert resolve(settings.model_uri, settings.model_cache_dir) != Path(".")


def test_a_model_uri_given_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_URI", "s3://bucket/loan-risk/v1")
    assert Settings().model_uri == "s3://bucket/loan-risk/v1"


def test_the_default_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODEL_URI", raising=False)
    assert Settings().model_uri == DEFAULT_MODEL_URI
