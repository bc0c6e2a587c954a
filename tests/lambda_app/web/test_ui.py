"""The web pages in-process: what they render, what they keep, what they refuse."""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core import text
from lambda_app.core.batch import read_csv, write_csv
from lambda_app.core.schema import FEATURES, FIELDS, SPECS
from lambda_app.core.scoring import Scorer
from lambda_app.service import ScoringService
from lambda_app.settings import Settings
from lambda_app.web import applicant as web_applicant
from lambda_app.web import batch as web_batch
from lambda_app.web import forms as web_forms
from lambda_app.web import model as web_model
from lambda_app.web import rendering as web_rendering
from lambda_app.web import uploads as web_uploads
from tests.lambda_app import plots

MAX_ROWS = 5
MAX_BYTES = 20_000


# ---------------------------------------------------------------- helpers


class Page(HTMLParser):
    """Just enough of an HTML document to assert on: elements with their attributes, the
    text inside each element with an id, and each select's options."""

    VOID: ClassVar[set[str]] = {"input", "img", "meta", "link", "br", "hr", "col"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, str] = {}
        self.options: dict[str, list[tuple[str, bool]]] = {}
        self._open: list[tuple[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "option" and self._open:
            select = next(i for t, i in reversed(self._open) if t == "select")
            self.options.setdefault(select, []).append((a.get("value", ""), "selected" in a))
        if tag not in self.VOID:
            key = f"label:{a['for']}" if tag == "label" and "for" in a else a.get("id", "")
            self._open.append((tag, key))
            if key:
                self.texts[key] = ""

    def handle_endtag(self, tag: str) -> None:
        for _, key in self._open:  # cells and list items read apart, as a person sees them
            if key:
                self.texts[key] += " "
        if any(t == tag for t, _ in self._open):
            while self._open.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] += data

    def by_id(self, element_id: str) -> dict[str, str]:
        return next(a for _, a in self.elements if a.get("id") == element_id)

    def text(self, element_id: str) -> str:
        return " ".join(self.texts[element_id].split())

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def selected(self, select_id: str) -> str:
        return next(v for v, s in self.options[select_id] if s)


def form_of(applicant: dict[str, Any]) -> dict[str, str]:
    return {k: text.input_value(v) for k, v in applicant.items()}


def csv_text(rows: list[dict[str, Any]]) -> str:
    return ",".join(FEATURES) + "\n" + "".join(",".join(text.input_value(r[c]) for c in FEATURES) + "\n" for r in rows)


def assert_html_4xx(r: Any) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    assert "Traceback" not in r.text and "Internal error" not in r.text


@pytest.fixture(scope="module")
def client(scorer: Scorer, bundle_dir: Path) -> TestClient:
    settings = Settings(model_uri=str(bundle_dir), max_batch_rows=MAX_ROWS, max_body_bytes=MAX_BYTES)
    return TestClient(create_app(settings, scorer))


@pytest.fixture()
def typical(scorer: Scorer) -> dict[str, Any]:
    return dict(scorer.manifest.typical_applicant)


# ---------------------------------------------------------------- the form


def test_form_has_a_labelled_control_for_every_schema_field(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    page = Page(r.text)
    for spec in FIELDS:
        assert page.text(f"label:{spec.name}").startswith(spec.description)
        control = page.by_id(spec.name)
        assert control["name"] == spec.name
        assert "required" in control
        assert control["aria-describedby"] == f"{spec.name}-hint"
        if spec.kind == "category":
            assert [v for v, _ in page.options[spec.name]] == list(spec.choices)
        elif web_forms.is_flag(spec):
            assert [v for v, _ in page.options[spec.name]] == ["0", "1"]
        else:
            assert control["type"] == "number"
            assert float(control["min"]) == spec.minimum and float(control["max"]) == spec.maximum
            assert control["step"] == ("1" if spec.kind == "int" else "any")
            if spec.unit:
                assert spec.unit in page.text(spec.name + "-hint")


def test_form_starts_from_the_typical_applicant(client: TestClient, typical: dict[str, Any]) -> None:
    page = Page(client.get("/").text)
    for spec in FIELDS:
        expected = text.input_value(typical[spec.name])
        shown = page.selected(spec.name) if spec.name in page.options else page.by_id(spec.name)["value"]
        assert shown == expected, spec.name


def test_protected_fields_are_marked_and_only_they(client: TestClient) -> None:
    page = Page(client.get("/").text)
    for spec in FIELDS:
        assert page.text(f"label:{spec.name}").endswith(" protected") == spec.protected, spec.name


def test_every_url_in_the_pages_is_root_relative(client: TestClient) -> None:
    for path in ("/", "/batch", "/model"):
        page = Page(client.get(path).text)
        urls = [a["href"] for a in page.all("a") if "href" in a] + [f["action"] for f in page.all("form")]
        assert urls and all(u.startswith(("/", "#", "data:")) for u in urls), urls


# ---------------------------------------------------------------- the result


def test_result_shows_score_band_position_and_reasons(
    client: TestClient, scorer: Scorer, typical: dict[str, Any]
) -> None:
    r = client.post("/", data=form_of(typical))
    assert r.status_code == 200
    page = Page(r.text)
    [score] = scorer.score([typical])
    band = scorer.band(score)
    assert page.text("score") == f"{score:.1f}"
    assert page.text("band") == f"{band.capitalize()} risk"
    assert f"riskier than {scorer.percentile(score):.0f}% of the model's training applicants" in page.text("position")
    explanation = web_applicant.noticeable(scorer.explain([typical])[0])
    reasons = page.text("reasons")
    for reason in explanation.raised + explanation.lowered:
        assert reason.sentence in reasons
    # One bar per reason shown, plus the rest together, each as long as its contribution.
    bars = [float(rect["data-contribution"]) for rect in page.all("rect") if "data-contribution" in rect]
    expected = [x.contribution for x in explanation.raised + explanation.lowered]
    assert bars[: len(expected)] == expected
    assert len(bars) == len(expected) + (abs(explanation.other) >= web_applicant.NOTICEABLE)


def test_result_keeps_the_values_to_score_again(client: TestClient, typical: dict[str, Any]) -> None:
    changed = {**form_of(typical), "CreditScore": "712", "LoanPurpose": "Auto"}
    page = Page(client.post("/", data=changed).text)
    assert page.by_id("CreditScore")["value"] == "712"
    assert page.selected("LoanPurpose") == "Auto"


def test_protected_reasons_are_marked(client: TestClient, scorer: Scorer) -> None:
    # Score enough applicants that one has a protected characteristic among its top reasons.
    ages = [
        {**scorer.manifest.typical_applicant, "Age": a, "MaritalStatus": m}
        for a in (19, 45, 90)
        for m in ("Single", "Widowed")
    ]
    for applicant in ages:
        explanation = web_applicant.noticeable(scorer.explain([applicant])[0])
        protected = [r for r in explanation.raised + explanation.lowered if r.protected]
        if protected:
            text = Page(client.post("/", data=form_of(applicant)).text).text("reasons")
            for reason in protected:
                assert f"{reason.sentence} protected characteristic" in text
            return
    pytest.fail("no applicant had a protected characteristic among its reasons")


def test_noticeable_moves_tiny_reasons_into_the_rest(scorer: Scorer, typical: dict[str, Any]) -> None:
    full = scorer.explain([typical], top=28)[0]
    shown = web_applicant.noticeable(full)
    assert all(abs(r.contribution) >= web_applicant.NOTICEABLE for r in shown.raised + shown.lowered)
    total = sum(r.contribution for r in shown.raised + shown.lowered) + shown.other
    assert shown.baseline + total == pytest.approx(full.model_output, abs=1e-3)


# ---------------------------------------------------------------- field errors


def test_bad_field_is_reported_beside_it_with_every_value_kept(client: TestClient, typical: dict[str, Any]) -> None:
    posted = {**form_of(typical), "Age": "150", "CreditScore": "700", "EmploymentStatus": "Self-Employed"}
    r = client.post("/", data=posted)
    assert r.status_code == 422
    page = Page(r.text)
    age = page.by_id("Age")
    assert age["value"] == "150"
    assert age["aria-invalid"] == "true"
    assert age["aria-describedby"].split() == ["Age-hint", "Age-error"]
    assert page.text("Age-error") == "Error: Enter a whole number from 18 to 100"
    assert page.all("a", href="#Age"), "the error summary links to the field"
    # Everything else is as the officer left it, not reset to the defaults.
    assert page.by_id("CreditScore")["value"] == "700" and "aria-invalid" not in page.by_id("CreditScore")
    assert page.selected("EmploymentStatus") == "Self-Employed"
    for name, value in posted.items():
        shown = page.selected(name) if name in page.options else page.by_id(name)["value"]
        assert shown == value, name
    assert 'id="score"' not in r.text


def test_every_field_missing_is_reported(client: TestClient) -> None:
    r = client.post("/", data={})
    assert r.status_code == 422
    page = Page(r.text)
    for spec in FIELDS:
        wanted = "Choose an option" if spec.kind == "category" or web_forms.is_flag(spec) else "Enter a value"
        assert page.text(f"{spec.name}-error") == f"Error: {wanted}"
    assert f"{len(FIELDS)} fields to correct" in r.text


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("Age", "", "Enter a value"),
        ("Age", "forty", "Enter a whole number, without commas, spaces or units"),
        ("AnnualIncome", "48,000", "Enter a whole number, without commas, spaces or units"),
        ("Age", "40.5", "Enter a whole number"),
        ("Age", "17", "Enter a whole number from 18 to 100"),
        ("InterestRate", "1.5", "Enter a number from 0 to 1"),
        ("InterestRate", "nan", "Enter a number"),
        ("MonthlyLoanPayment", "inf", "Enter a number"),
        ("LoanPurpose", "Yacht", "Choose one of the options"),
        ("BankruptcyHistory", "2", "Choose one of the options"),
        ("MaritalStatus", "", "Choose an option"),
    ],
)
def test_messages_say_what_to_enter(
    client: TestClient, typical: dict[str, Any], name: str, raw: str, message: str
) -> None:
    r = client.post("/", data={**form_of(typical), name: raw})
    assert r.status_code == 422
    assert Page(r.text).text(f"{name}-error") == f"Error: {message}"


def test_the_parser_message_is_kept_when_nothing_explains_it() -> None:
    assert web_forms.officer_message(SPECS["Age"], "40", "Something else") == "Something else"


GARBAGE: list[tuple[str, dict[str, Any]]] = [
    ("json body", {"json": {"Age": 40}}),
    (
        "random bytes",
        {"content": bytes(range(256)) * 4, "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ),
    ("multipart without boundary", {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}}),
    (
        "broken multipart",
        {
            "content": b"--b\r\nContent-Disposition: form-data\r\n\r\n",
            "headers": {"content-type": "multipart/form-data; boundary=b"},
        },
    ),
    ("a file instead of fields", {"files": {"Age": ("a.txt", b"40")}}),
    ("unknown content type", {"content": b"\x00\xff", "headers": {"content-type": "image/png"}}),
    ("huge field", {"data": {"Age": "9" * 5000}}),
    ("exponent", {"data": {"Age": "1e400", "AnnualIncome": "-0", "InterestRate": "0x1p-2"}}),
    (
        "repeated and unknown fields",
        {
            "content": b"Age=1&Age=2&__proto__=x&Age[]=3",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
    ),
    ("form too large", {"data": {"x": "a" * (web_uploads.FORM_MAX_BYTES + 10)}}),
    ("body over the app-wide limit", {"data": {"x": "a" * (MAX_BYTES + 10)}}),
]


@pytest.mark.parametrize("kwargs", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_posts_get_a_4xx_page_never_a_500(client: TestClient, kwargs: dict[str, Any]) -> None:
    assert_html_4xx(client.post("/", **kwargs))


def test_oversized_form_is_refused_with_its_limit(client: TestClient) -> None:
    r = client.post("/", data={"x": "a" * (web_uploads.FORM_MAX_BYTES + 10)})
    assert r.status_code == 413 and "limited to 64 kB" in r.text


# ---------------------------------------------------------------- root path


@pytest.mark.parametrize("how", ["setting", "server"])
def test_pages_work_under_a_stage_prefix(scorer: Scorer, bundle_dir: Path, typical: dict[str, Any], how: str) -> None:
    if how == "setting":
        client = TestClient(create_app(Settings(root_path="/prod", model_uri=str(bundle_dir)), scorer))
    else:  # the prefix comes from the ASGI server (uvicorn --root-path), as behind a proxy
        client = TestClient(create_app(Settings(model_uri=str(bundle_dir)), scorer), root_path="/prod")
    pages = [client.get("/"), client.get("/batch"), client.get("/model"), client.post("/", data=form_of(typical))]
    for r in pages:
        assert r.status_code == 200
        page = Page(r.text)
        urls = [a["href"] for a in page.all("a") if a.get("href", "").startswith("/")]
        urls += [f["action"] for f in page.all("form")] + [
            b["formaction"] for b in page.all("button") if "formaction" in b
        ]
        urls += [i["src"] for i in page.all("img")]
        assert urls and all(u.startswith("/prod/") for u in urls), urls
    assert client.get("/batch.csv", follow_redirects=False).headers["location"] == "/prod/batch"


# ---------------------------------------------------------------- batch


def upload(client: TestClient, text: str | bytes, path: str = "/batch", name: str = "applicants.csv") -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.post(path, files={"file": (name, data, "text/csv")})


def test_batch_summary_counts_bands_and_errors(client: TestClient, scorer: Scorer, typical: dict[str, Any]) -> None:
    risky = {
        **typical,
        "PreviousLoanDefaults": 1,
        "BankruptcyHistory": 1,
        "CreditScore": 360,
        "TotalDebtToIncomeRatio": 1.2,
    }
    text = csv_text([typical, risky, typical])
    lines = text.splitlines()
    lines.insert(2, lines[1].replace(f",{typical['EmploymentStatus']},", ",Retired,", 1))  # row 3 of the file
    lines.append(",".join("x" if c == "Age" else v for c, v in zip(FEATURES, lines[1].split(","), strict=True)))
    text = "\n".join(lines) + "\n"
    r = upload(client, text, name="March applicants.csv")
    assert r.status_code == 200
    page = Page(r.text)
    assert (page.text("count-total"), page.text("count-scored"), page.text("count-failed")) == ("5", "3", "2")
    results = ScoringService(scorer).score_rows(read_csv(text.encode(), MAX_ROWS))
    counts = {b.name: sum(1 for x in results if x.risk_band == b.name) for b in scorer.manifest.bands}
    table = page.text("band-counts")
    for name, count in counts.items():
        assert f"{name.capitalize()} risk {count}" in table
    errors = page.text("row-errors")
    assert "3 EmploymentStatus" in errors and "6 Age" in errors
    # The download is the scored file itself, inside the page: nothing kept on the server.
    link = page.by_id("download")
    assert link["download"] == "scored-March-applicants.csv"
    prefix = "data:text/csv;charset=utf-8;base64,"
    assert link["href"].startswith(prefix)
    assert base64.b64decode(link["href"][len(prefix) :]).decode() == write_csv(results)


def test_batch_csv_answers_with_the_scored_file(client: TestClient, scorer: Scorer, typical: dict[str, Any]) -> None:
    text = csv_text([typical, {**typical, "Age": 70}])
    r = upload(client, text, path="/batch.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="scored-applicants.csv"' in r.headers["content-disposition"]
    assert r.text == write_csv(ScoringService(scorer).score_rows(read_csv(text.encode(), MAX_ROWS)))


def test_template_is_a_file_the_batch_accepts(client: TestClient) -> None:
    template = client.get("/batch/template.csv")
    assert template.headers["content-type"].startswith("text/csv")
    r = upload(client, template.text)
    assert r.status_code == 200 and Page(r.text).text("count-scored") == "1"


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (None, 422, "Choose a CSV file to upload."),
        (b"\xff\xfe\x00bad", 422, "the file is not UTF-8 text"),
        (b"Age,Income\n1,2\n", 422, "missing column(s): AnnualIncome"),
        (b"", 422, "missing column(s)"),
        (",".join(FEATURES).encode() + b"\n", 422, "has a header but no applicant rows"),
        ("many", 413, f"applicants.csv has more than {MAX_ROWS} applicants; split the file."),
    ],
)
def test_unusable_files_are_refused_with_the_reason(
    client: TestClient, typical: dict[str, Any], content: bytes | str | None, status: int, message: str
) -> None:
    if content is None:
        r = client.post("/batch", files={"file": ("", b"", "application/octet-stream")})
    elif content == "many":
        r = upload(client, csv_text([typical] * (MAX_ROWS + 1)))
    else:
        r = upload(client, content)
    assert r.status_code == status
    assert_html_4xx(r)
    assert message in Page(r.text).text("file-error")
    assert Page(r.text).by_id("file")["aria-invalid"] == "true"


def test_a_file_the_csv_reader_chokes_on_is_refused_not_a_500(scorer: Scorer, bundle_dir: Path) -> None:
    client = TestClient(create_app(Settings(model_uri=str(bundle_dir), max_body_bytes=400_000), scorer))
    text = ",".join(FEATURES) + "\n" + "a" * 200_000 + "\n"  # a field over the csv module's limit
    r = upload(client, text)
    assert r.status_code == 422
    assert_html_4xx(r)
    assert "not readable as CSV after line 1 (field larger than field limit" in Page(r.text).text("file-error")


def oversized(typical: dict[str, Any]) -> str:
    text = csv_text([typical])
    while len(text) <= MAX_BYTES:
        text += text.splitlines()[1] + "\n"
    return text


@pytest.mark.parametrize("path", ["/batch", "/batch.csv"])
def test_a_file_over_the_size_limit_gets_a_page_saying_so(
    client: TestClient, typical: dict[str, Any], path: str
) -> None:
    r = upload(client, oversized(typical), path=path)
    assert r.status_code == 413
    assert_html_4xx(r)
    assert "The file is larger than the limit of 0.0 MB" in Page(r.text).text("file-error")


def test_a_streamed_file_over_the_size_limit_gets_a_page_too(client: TestClient, typical: dict[str, Any]) -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        f"{oversized(typical)}\r\n--{boundary}--\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    r = client.post("/batch", content=chunks(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert_html_4xx(r)


def test_the_api_still_answers_an_oversized_body_with_a_problem(client: TestClient) -> None:
    r = client.post("/v1/score", content=b"{" + b" " * MAX_BYTES + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_garbage_uploads_get_a_4xx_page(client: TestClient) -> None:
    for kwargs in (
        {"data": {"file": "not a file"}},
        {"content": b"--b\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=b"}},
        {"files": {"file": ("a.csv", b"x"), "other": ("b.csv", b"y")}},
        {"json": [1, 2, 3]},
    ):
        for path in ("/batch", "/batch.csv"):
            assert_html_4xx(client.post(path, **kwargs))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("March 2026.csv", "scored-March-2026.csv"),
        ("../../etc/passwd", "scored-passwd.csv"),
        ('a"b.csv', "scored-a-b.csv"),
        ("", "scored-applicants.csv"),
    ],
)
def test_download_names_are_safe(name: str, expected: str) -> None:
    assert web_batch.download_name(name) == expected


# ---------------------------------------------------------------- model page


@pytest.fixture()
def carded_bundle(bundle_dir: Path, tmp_path: Path) -> Path:
    return plots.carded_bundle(bundle_dir, tmp_path / "bundle")


def test_model_page_shows_version_data_metrics_and_bands(client: TestClient, scorer: Scorer) -> None:
    r = client.get("/model")
    assert r.status_code == 200
    page = Page(r.text)
    m = scorer.manifest
    assert page.text("model-version") == m.version
    assert page.text("data-source") == m.data.source
    assert f"{m.metrics.holdout.r2:.4f}".rstrip("0") in r.text
    bands = page.text("bands")
    for band in m.bands:
        assert f"{band.name.capitalize()} risk" in bands
    assert "no model card or plots" in r.text


def test_model_page_shows_the_bundles_plots_with_the_cards_captions(scorer: Scorer, carded_bundle: Path) -> None:
    client = TestClient(create_app(Settings(model_uri=str(carded_bundle), root_path="/prod"), scorer))
    page = Page(client.get("/model").text)
    images = [(i["src"], i["alt"]) for i in page.all("img")]
    assert images == [
        ("/prod/model/plots/calibration.png", "Predicted against actual risk scores on the hold-out set"),
        ("/prod/model/plots/feature_importance.png", "Mean absolute SHAP value of each input"),
        ("/prod/model/plots/residuals_by_band.png", "Residuals by band"),
    ]
    r = client.get("/model/plots/calibration.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == (carded_bundle / "calibration.png").read_bytes()
    card = client.get("/model/card.md")
    assert card.status_code == 200 and card.text.startswith("# Model card")


@pytest.mark.parametrize(
    "name",
    [
        "manifest.json",
        "model.cbm",
        "bad%20name.png",
        "link.png",
        "..%2Fmanifest.json",
        "..%2F..%2Fetc%2Fpasswd",
        "nothere.png",
        ".png",
        "CALIBRATION.PNG",
    ],
)
def test_plot_route_serves_nothing_but_listed_plots(scorer: Scorer, carded_bundle: Path, name: str) -> None:
    client = TestClient(create_app(Settings(model_uri=str(carded_bundle)), scorer))
    r = client.get(f"/model/plots/{name}")
    assert r.status_code == 404
    # An encoded slash is a slash to the router: such names match no route at all.
    assert r.headers["content-type"].startswith("text/html" if "%2F" not in name else "application/problem+json")
    assert b"schema_sha256" not in r.content and b"root:" not in r.content


def test_plot_files_lists_only_plain_png_names(carded_bundle: Path) -> None:
    assert sorted(web_model.plot_files(carded_bundle)) == [
        "calibration.png",
        "feature_importance.png",
        "residuals_by_band.png",
    ]
    assert web_model.plot_files(None) == {}


def test_an_s3_bundles_plots_come_from_its_local_cache(scorer: Scorer, bundle_dir: Path, tmp_path: Path) -> None:
    plots.carded_bundle(bundle_dir, tmp_path / "cache" / "bucket" / "models" / "v1")
    settings = Settings(model_uri="s3://bucket/models/v1", model_cache_dir=str(tmp_path / "cache"))
    client = TestClient(create_app(settings, scorer))
    assert len(Page(client.get("/model").text).all("img")) == 3
    assert client.get("/model/plots/calibration.png").status_code == 200


@pytest.mark.parametrize("uri", ["s3://bucket/not/cached", "s3://", "/no/such/dir"])
def test_plots_are_skipped_when_there_is_no_local_bundle_directory(scorer: Scorer, tmp_path: Path, uri: str) -> None:
    client = TestClient(create_app(Settings(model_uri=uri, model_cache_dir=str(tmp_path)), scorer))
    assert "no model card or plots" in client.get("/model").text
    assert client.get("/model/plots/calibration.png").status_code == 404
    assert client.get("/model/card.md").status_code == 404


def test_metric_groups_name_known_metrics_and_keep_unknown_ones() -> None:
    groups = web_model.metric_groups(
        {"holdout_share": 0.2, "holdout": {"r2": 0.912345678, "mae": 2.5, "rows": 4000}, "auc": 0.7}
    )
    assert groups == [
        ("General", [("Share of data held out", "0.2"), ("auc", "0.7")]),
        (
            "Hold-out set (not trained on)",
            [(web_model.METRIC_NAMES["r2"], "0.9123"), (web_model.METRIC_NAMES["mae"], "2.5"), ("Rows", "4,000")],
        ),
    ]


def test_cross_validated_metrics_read_as_mean_plus_minus_std() -> None:
    groups = web_model.metric_groups(
        {"cv": {"folds": 5, "r2": {"mean": 0.82589, "std": 0.00497, "per_fold": [0.8, 0.85]}}}
    )
    assert groups == [
        (web_model.METRIC_NAMES["cv"], [("Folds", "5"), (web_model.METRIC_NAMES["r2"], "0.8259 \u00b1 0.005")])
    ]
    assert web_model.metric_text(["Age", "MaritalStatus"]) == "Age, MaritalStatus"


def test_plot_captions_come_from_the_cards_image_alt_texts() -> None:
    card = "![Calibration plot](plots/calibration.png) and ![](empty.png) ![Drift](https://x/drift.png)"
    assert web_model.plot_captions(card) == {"calibration.png": "Calibration plot", "drift.png": "Drift"}


# ---------------------------------------------------------------- presentation


def test_pages_forbid_scripts_and_caching(client: TestClient) -> None:
    for path in ("/", "/batch", "/model"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store"
    assert "<script" not in client.get("/").text


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    css = (Path(web_rendering.__file__).parent / "templates" / "base.html").read_text()
    pairs = re.findall(r"\.band-tone-\d \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6});", css)
    assert len(pairs) == 4
    body = "#1b1f24"
    fixed = [
        ("#ffffff", body),
        ("#ffffff", "#57606a"),  # hints and captions
        ("#f3f5f7", "#57606a"),  # the footer, on the page background
        ("#ffffff", "#0a58ca"),  # links
        ("#0a58ca", "#ffffff"),  # buttons
        ("#ffffff", "#b42318"),  # errors
        ("#ede7f6", "#4a1d96"),  # the protected tag
        ("#0b2545", "#ffffff"),  # the header
    ]
    for background, colour in pairs + fixed:
        assert contrast(background, colour) >= 4.5, (background, colour)
    for background, colour in fixed:  # the pairs checked are the ones the page uses
        assert {background, colour} - {"#ffffff"} <= set(re.findall(r"#[0-9a-f]{6}", css))


def test_chart_labels_give_flags_as_yes_or_no(scorer: Scorer, typical: dict[str, Any]) -> None:
    assert (
        web_applicant.value_text("PreviousLoanDefaults", 0) == "no"
        and web_applicant.value_text("BankruptcyHistory", 1) == "yes"
    )
    assert (
        web_applicant.value_text("AnnualIncome", 59510) == "59,510"
        and web_applicant.value_text("LoanPurpose", "Auto") == "Auto"
    )


def test_a_wheel_carries_the_templates() -> None:
    package = Path(web_rendering.__file__).parent
    project = package.parents[1]
    package_data = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    templates = sorted(p.relative_to(package) for p in (package / "templates").iterdir())
    assert templates and all(any(t.match(g) for g in package_data["lambda_app.web"]) for t in templates)


def test_what_the_officer_sends_is_shown_as_text_never_as_markup(client: TestClient, typical: dict[str, Any]) -> None:
    r = upload(client, csv_text([typical]), name="<script>alert(1)</script>.csv")
    assert r.status_code == 200
    assert "<script" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in r.text
    r = client.post("/", data={**form_of(typical), "LoanPurpose": '"><img src=x onerror=alert(1)>'})
    assert r.status_code == 422 and "<img src=x" not in r.text
