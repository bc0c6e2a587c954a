"""Debian's headless chromium under Playwright, for the browser tests: one launch, one skip rule.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which `make test`
installs when it can; without it the tests that use this skip and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_app.servers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing: `make test` installs Debian's chromium when run as root"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run `make install`")


def launched() -> Iterator[Any]:
    """A browser for a module-scoped fixture: `yield from launched()`."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
