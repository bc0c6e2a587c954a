"""The /monitoring page in Debian's headless chromium, served by the ECS entry point under a
stage prefix: reached from the navigation, its charts load, it fits a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_app import cli
from lambda_app.core.scoring import Scorer
from tests.lambda_app.monitoring.records import applicants, decision_records, write_jsonl
from tests.lambda_app.servers import running
from tests.lambda_app.web.chromium import PHONE, launched, needs_chromium, shot, sync_api

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(bundle_dir: Path, scorer: Scorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    people = [{**p, "AnnualIncome": round(p["AnnualIncome"] * 2 / 3)} for p in applicants(800, seed=31)]
    records = write_jsonl(decision_records(scorer, people), tmp_path_factory.mktemp("records") / "r.jsonl")
    report = tmp_path_factory.mktemp("report")
    assert cli.main(["drift", "--model", str(bundle_dir), "--records", str(records), "--out", str(report)]) == 0
    with running(bundle_dir, ROOT_PATH="/prod", MONITORING_REPORT_DIR=str(report)) as (_proc, url):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched()


def test_the_report_page_under_a_stage_prefix_and_on_a_phone(browser: Any, server: str) -> None:
    for name, viewport in (("monitoring", {"width": 1280, "height": 900}), ("phone-monitoring", PHONE)):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(f"{server}/prod/")
            page.get_by_role("link", name="Monitoring").click()
            assert page.url == f"{server}/prod/monitoring"
            sync_api.expect(page.locator("#overall")).to_have_text("shift")
            images = page.locator(".charts img")
            assert images.count() == 2  # the score and AnnualIncome
            for i in range(images.count()):
                images.nth(i).scroll_into_view_if_needed()
                sync_api.expect(images.nth(i)).to_have_js_property("complete", True)
                assert images.nth(i).evaluate("img => img.naturalWidth") > 300, "the chart loaded through the prefix"
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "no sideways scrolling"
            shot(page, name)
        finally:
            context.close()
