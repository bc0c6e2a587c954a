"""The start-up of `loan-risk score`'s processes: it sets what the user has not set, and leaves
the collector running."""

from __future__ import annotations

import gc

import pytest

from lambda_app.portfolio.process import ENVIRONMENT, lean_start_up


def test_start_up_sets_defaults_and_keeps_the_users_own(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    name, *others = list(ENVIRONMENT)
    monkeypatch.setenv(name, "7")
    for other in others:
        monkeypatch.delenv(other, raising=False)
    with lean_start_up():
        assert not gc.isenabled()
    assert os.environ[name] == "7"
    assert all(os.environ[o] == ENVIRONMENT[o] for o in others)
    assert gc.isenabled()
    gc.unfreeze()
