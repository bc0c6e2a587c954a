"""The start-up of `loan-risk score`'s processes: it sets what the user has not set, and leaves
the collector running."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from lambda_app.portfolio.process import ENVIRONMENT, lean_start_up


def test_start_up_sets_defaults_and_keeps_the_users_own(monkeypatch: pytest.MonkeyPatch) -> None:
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


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="Linux's /proc reports THP_enabled")
def test_start_up_turns_transparent_huge_pages_off_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)  # what the start-up sets goes again after the test
    with lean_start_up():
        pass
    gc.unfreeze()
    status = Path("/proc/self/status").read_text()
    if "THP_enabled" not in status:
        pytest.skip("this kernel does not report THP_enabled")
    assert "THP_enabled:\t0" in status
