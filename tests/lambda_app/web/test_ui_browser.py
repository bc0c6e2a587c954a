"""The pages in a real browser: Debian's chromium, headless, driven by Playwright, against
the ECS entry point (`python -m lambda_app`) on loopback.

Each test saves screenshots under test-artifacts/screenshots/ for a person to look at.
Playwright never downloads a browser here: it launches /usr/bin/chromium, which
`make test` installs when it can; without it these tests skip and say why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_app.core import text
from lambda_app.core.batch import read_csv, write_csv
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.service import ScoringService
from lambda_app.settings import Settings
from lambda_app.web import applicant as web_applicant
from tests.lambda_app import plots
from tests.lambda_app.servers import running
from tests.lambda_app.web.chromium import PHONE, launched, needs_chromium, shot, sync_api

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def staged_server(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ECS entry point again, as mounted under an API Gateway stage (ROOT_PATH=/prod) and
    serving a bundle that has a model card with plots."""
    bundle = plots.carded_bundle(bundle_dir, tmp_path_factory.mktemp("carded") / "bundle")
    with running(bundle, ROOT_PATH="/prod") as (_proc, url):
        yield url


def form_of(applicant: dict[str, Any]) -> dict[str, str]:
    return {k: text.input_value(v) for k, v in applicant.items()}


def csv_text(rows: list[dict[str, Any]]) -> str:
    return ",".join(FEATURES) + "\n" + "".join(",".join(form_of(r)[c] for c in FEATURES) + "\n" for r in rows)


# ---------------------------------------------------------------- one applicant


def test_officer_fills_in_the_form_and_sees_score_band_and_reasons(page: Any, live_server: str, scorer: Scorer) -> None:
    page.goto(f"{live_server}/")
    assert page.title().startswith("Score an applicant")
    shot(page, "form")
    page.get_by_label("Credit bureau score").fill("612")
    page.get_by_label("Purpose of the loan").select_option("Auto")
    page.get_by_role("button", name="Score this applicant").click()

    applicant = {**scorer.manifest.typical_applicant, "CreditScore": 612, "LoanPurpose": "Auto"}
    [score] = scorer.score([applicant])
    sync_api.expect(page.locator("#score")).to_have_text(f"{score:.1f}")
    sync_api.expect(page.locator("#band")).to_have_text(f"{scorer.band(score).capitalize()} risk")
    sync_api.expect(page.locator("#position")).to_contain_text(f"riskier than {scorer.percentile(score):.0f}%")
    explanation = web_applicant.noticeable(scorer.explain([applicant])[0])
    bars = page.locator("svg.bars rect")
    assert bars.count() == len(web_applicant.reason_rows(explanation))
    assert all(bars.nth(i).bounding_box()["width"] > 0 for i in range(bars.count()))
    sync_api.expect(page.locator("svg.strip circle")).to_be_visible()
    for reason in explanation.raised + explanation.lowered:
        sync_api.expect(page.locator("#reasons")).to_contain_text(reason.sentence)
    # The form below the result still holds what was entered, to adjust and score again.
    sync_api.expect(page.get_by_label("Credit bureau score")).to_have_value("612")
    shot(page, "result")


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_lost(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/")
    page.get_by_label("Applicant's age").fill("150")
    page.get_by_label("Credit bureau score").fill("701")
    page.get_by_label("Employment status").select_option("Self-Employed")
    page.get_by_role("button", name="Score this applicant").click()

    age = page.locator("#Age")
    sync_api.expect(page.locator("#Age-error")).to_have_text("Error: Enter a whole number from 18 to 100")
    sync_api.expect(age).to_have_value("150")
    sync_api.expect(age).to_have_attribute("aria-invalid", "true")
    # The browser exposes the message as the field's description to assistive technology.
    sync_api.expect(age).to_have_accessible_description(
        "18 to 100 · years · Age Error: Enter a whole number from 18 to 100"
    )
    sync_api.expect(page.get_by_label("Credit bureau score")).to_have_value("701")
    sync_api.expect(page.get_by_label("Employment status")).to_have_value("Self-Employed")
    assert page.locator("#score").count() == 0
    # The error summary takes focus, and its link takes the officer to the field.
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    shot(page, "error")
    page.get_by_role("link", name="Applicant's age: Enter a whole number from 18 to 100").click()
    sync_api.expect(age).to_be_focused()


def test_the_form_can_be_used_with_the_keyboard_alone(page: Any, live_server: str, scorer: Scorer) -> None:
    page.goto(f"{live_server}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    sync_api.expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0, "the skip link shows when focused"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "Age":
            break
    age = page.locator("#Age")
    sync_api.expect(age).to_be_focused()
    outline = page.evaluate(
        "[getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]"
    )
    assert outline == ["solid", "3px"], "focus is visible"
    page.keyboard.press("Control+A")
    page.keyboard.type("58")
    page.keyboard.press("Enter")
    [score] = scorer.score([{**scorer.manifest.typical_applicant, "Age": 58}])
    sync_api.expect(page.locator("#score")).to_have_text(f"{score:.1f}")


def with_protected_reason(scorer: Scorer) -> tuple[dict[str, Any], str]:
    """An applicant with a protected characteristic among its reasons, and that reason's sentence."""
    for age in (19, 25, 70, 90):
        for status in ("Single", "Widowed", "Divorced"):
            applicant = {**scorer.manifest.typical_applicant, "Age": age, "MaritalStatus": status}
            explanation = web_applicant.noticeable(scorer.explain([applicant])[0])
            protected = [r for r in explanation.raised + explanation.lowered if r.protected]
            if protected:
                return applicant, protected[0].sentence
    pytest.fail("no applicant had a protected characteristic among its reasons")


def test_the_result_fits_a_phone_and_marks_protected_reasons(browser: Any, live_server: str, scorer: Scorer) -> None:
    applicant, sentence = with_protected_reason(scorer)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/")
        page.get_by_label("Applicant's age").fill(str(applicant["Age"]))
        page.get_by_label("Marital status").select_option(applicant["MaritalStatus"])
        page.get_by_role("button", name="Score this applicant").click()
        sync_api.expect(page.locator("#score")).to_be_visible()
        reason = page.locator("#reasons li", has_text=sentence)
        sync_api.expect(reason.locator(".tag")).to_have_text("protected characteristic")
        sync_api.expect(page.locator(".note")).to_contain_text("must not be the basis of a lending decision")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
        strip = page.locator("svg.strip").bounding_box()
        labels = [t.bounding_box() for t in page.locator("svg.strip text").all()]
        for box in labels:
            assert strip["x"] <= box["x"] and box["x"] + box["width"] <= strip["x"] + strip["width"] + 0.5
        for a, b in itertools.combinations(labels, 2):
            apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or a["y"] != b["y"]
            assert apart, "the band cut labels do not overlap"
        shot(page, "phone-result")
        page.goto(f"{live_server}/batch")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "phone-batch")
    finally:
        context.close()


# ---------------------------------------------------------------- batch


def test_officer_uploads_a_csv_and_downloads_the_scores(
    page: Any, live_server: str, scorer: Scorer, tmp_path: Path
) -> None:
    typical = scorer.manifest.typical_applicant
    text = csv_text([typical, {**typical, "CreditScore": 380, "PreviousLoanDefaults": 1}, typical])
    text += text.splitlines()[1].replace(f",{typical['LoanPurpose']},", ",Yacht,", 1) + "\n"
    path = tmp_path / "March applicants.csv"
    path.write_text(text)
    expected = write_csv(ScoringService(scorer).score_rows(read_csv(text.encode(), 1000)))

    page.goto(f"{live_server}/batch")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Score and show summary").click()
    sync_api.expect(page.locator("#count-total")).to_have_text("4")
    sync_api.expect(page.locator("#count-scored")).to_have_text("3")
    sync_api.expect(page.locator("#count-failed")).to_have_text("1")
    sync_api.expect(page.locator("#row-errors")).to_contain_text("LoanPurpose")
    shot(page, "batch-summary")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download scored CSV").click()
    assert download.value.suggested_filename == "scored-March-applicants.csv"
    assert Path(download.value.path()).read_text() == expected

    # The form's second button answers with the scored file straight away.
    page.get_by_label("CSV file").set_input_files(str(path))
    with page.expect_download() as direct:
        page.get_by_role("button", name="Score and download CSV").click()
    assert Path(direct.value.path()).read_text() == expected


def test_a_file_over_the_size_limit_is_refused_with_a_page_saying_so(
    page: Any, live_server: str, scorer: Scorer, tmp_path: Path
) -> None:
    row = csv_text([scorer.manifest.typical_applicant]).splitlines()[1] + "\n"
    limit = Settings().max_body_bytes
    path = tmp_path / "big.csv"
    path.write_text(",".join(FEATURES) + "\n" + row * (limit // len(row) + 10))
    page.goto(f"{live_server}/batch")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Score and show summary").click()
    sync_api.expect(page.locator("#file-error")).to_contain_text(
        f"The file is larger than the limit of {limit / 1_000_000:.1f} MB"
    )
    shot(page, "batch-too-large")


# ---------------------------------------------------------------- under a stage prefix


def test_the_pages_work_under_a_stage_prefix_with_the_model_card(page: Any, staged_server: str, scorer: Scorer) -> None:
    page.goto(f"{staged_server}/prod/")
    page.get_by_role("link", name="The model").click()
    assert page.url == f"{staged_server}/prod/model"
    sync_api.expect(page.locator("#model-version")).to_have_text(scorer.version)
    images = page.locator(".plots img")
    assert images.count() == 3
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        sync_api.expect(images.nth(i)).to_have_js_property("complete", True)
        assert images.nth(i).evaluate("img => img.naturalWidth") == 360, "the plot loaded through the prefix"
    sync_api.expect(images.first).to_have_attribute("alt", "Predicted against actual risk scores on the hold-out set")
    shot(page, "model")

    page.get_by_role("link", name="One applicant").click()
    assert page.url == f"{staged_server}/prod/"
    page.get_by_role("button", name="Score this applicant").click()
    sync_api.expect(page.locator("#score")).to_be_visible()
    assert page.url == f"{staged_server}/prod/"
    page.get_by_role("link", name="Batch (CSV)").click()
    assert page.url == f"{staged_server}/prod/batch"
