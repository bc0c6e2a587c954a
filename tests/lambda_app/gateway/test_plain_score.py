"""The Lambda light path against the app through Mangum: every event it answers gets the same
response (status, headers, body, in the same order), the same metrics and the same decision
record; every other event it leaves to the app untouched."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.gateway.events import TEXT_MIME_TYPES
from lambda_app.gateway.plain_score import PlainScores
from lambda_app.middleware.request_log import first_request
from lambda_app.records.format import DecisionRecord
from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.service import ScoringService, load_service
from lambda_app.settings import Settings
from lambda_app.telemetry import publish
from tests.lambda_app.servers import ROOT

EVENTS = ROOT / "tests" / "events"
KEY = "k-123"
Event = dict[str, Any]
Edit = Callable[[Event, dict[str, Any]], None]


class Context:
    function_name = "loan-risk"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:loan-risk"
    aws_request_id = "req-1"


class Paths:
    """The light path and the app through Mangum, around one scoring service."""

    def __init__(self, settings: Settings, scorer: Scorer) -> None:
        self.service: ScoringService = load_service(settings, scorer)
        self.light = PlainScores(self.service, settings)
        app = create_app(settings, on_lambda=True, service=self.service)
        self.mangum = Mangum(app, lifespan="off", text_mime_types=TEXT_MIME_TYPES)

    def full(self, event: Event) -> dict[str, Any]:
        return dict(self.mangum(copy.deepcopy(event), Context()))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def paths(scorer: Scorer) -> Paths:
    # The process's cold start is flagged by whichever request comes first: tests/lambda_app/
    # test_handler.py follows it; here both paths see warm requests.
    first_request()
    # A small body limit, so the 413 cases stay small; API keys on: see the key cases.
    return Paths(Settings(max_body_bytes=4096, api_keys=f"other,{KEY}"), scorer)


def _event(kind: str) -> Event:
    """v2: HTTP API payload 2.0; v1: REST API; http1: HTTP API payload 1.0 (Mangum's HTTP API
    handler, answering in the REST shape)."""
    name = "http_api_v2_score.json" if kind == "v2" else "rest_api_v1_score.json"
    event: Event = json.loads((EVENTS / name).read_text())
    if kind == "http1":
        event["version"] = "1.0"
    return event


def _set_header(event: Event, name: str, value: str | None) -> None:
    for field in ("headers", "multiValueHeaders"):
        found = event.get(field)
        if not found:
            continue
        for existing in [k for k in found if k.lower() == name.lower()]:
            del found[existing]
        if value is not None:
            found[name] = [value] if field == "multiValueHeaders" else value


def _set_body(event: Event, body: str | bytes, base64_encoded: bool = False) -> None:
    raw = body.encode() if isinstance(body, str) else body
    event["body"] = base64.b64encode(raw).decode() if base64_encoded else raw.decode()
    event["isBase64Encoded"] = base64_encoded


def _set_path(event: Event, path: str, method: str = "POST") -> None:
    if event.get("version") == "2.0":
        event["rawPath"] = path
        event["requestContext"]["http"].update(path=path, method=method)
    else:
        event.update(path=path, httpMethod=method)
        event["requestContext"].update(path=f"/{event['requestContext']['stage']}{path}", httpMethod=method)


def _set_query(event: Event, query: str) -> None:
    """`query` as API Gateway passes it: raw in payload 2.0, as parameters (the last of each
    name, and every value) otherwise."""
    if event.get("version") == "2.0":
        event["rawQueryString"] = query
        return
    pairs = [part.split("=", 1) for part in query.split("&")]
    event["queryStringParameters"] = {name: value for name, value in pairs}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    event["multiValueQueryStringParameters"] = multi


def _json(applicant: dict[str, Any]) -> str:
    return json.dumps(applicant)


def _route(event: Event, path: str, method: str, body: str) -> None:
    _set_path(event, path, method)
    _set_body(event, body)


def _explained_invalid(event: Event, applicant: dict[str, Any]) -> None:
    _set_query(event, "explain=true")
    _set_body(event, _json({**applicant, "Age": -1}))


def _own_request_id(event: Event) -> None:
    del event["requestContext"]["requestId"]
    _set_header(event, "X-Request-Id", "abc-123")


# Each case edits the stored event (its body is the README's applicant, base64-encoded, with
# the right key added below) and says which path must answer it, and the app's status.
CASES: dict[str, tuple[str, int, Edit]] = {
    "as stored (base64 body)": ("light", 200, lambda e, a: None),
    "plain text body": ("light", 200, lambda e, a: _set_body(e, _json(a))),
    "base64 of the applicant": ("light", 200, lambda e, a: _set_body(e, _json(a), base64_encoded=True)),
    "charset parameter": ("light", 200, lambda e, a: _set_header(e, "Content-Type", "application/json; charset=utf-8")),
    "+json media type": ("light", 200, lambda e, a: _set_header(e, "content-type", "application/vnd.loan+json")),
    "X-Request-Id and no gateway id": ("light", 200, lambda e, a: _own_request_id(e)),
    "declared length within the limit": ("light", 200, lambda e, a: _set_header(e, "Content-Length", "900")),
    "whitespace-padded body at the limit": ("light", 200, lambda e, a: _set_body(e, _json(a).ljust(4096))),
    "invalid field": ("app", 422, lambda e, a: _set_body(e, _json({**a, "LoanPurpose": "Yacht"}))),
    "missing field": ("app", 422, lambda e, a: _set_body(e, _json({k: v for k, v in a.items() if k != "Age"}))),
    "extra field": ("app", 422, lambda e, a: _set_body(e, _json({**a, "Nickname": "x"}))),
    "NaN": ("app", 422, lambda e, a: _set_body(e, _json(a).replace('"Age": 45', '"Age": NaN'))),
    "whole number as a float": ("app", 200, lambda e, a: _set_body(e, _json({**a, "Age": 45.0}))),
    "bad JSON": ("app", 422, lambda e, a: _set_body(e, '{"Age": 45,')),
    "empty body": ("app", 422, lambda e, a: _set_body(e, "")),
    "JSON array": ("app", 422, lambda e, a: _set_body(e, "[]")),
    "text/plain": ("app", 415, lambda e, a: _set_header(e, "Content-Type", "text/plain")),
    "no content type": ("app", 415, lambda e, a: _set_header(e, "Content-Type", None)),
    "explain=true": ("light", 200, lambda e, a: _set_query(e, "explain=true")),
    "explain=false": ("light", 200, lambda e, a: _set_query(e, "explain=false")),
    "reasons=2": ("light", 200, lambda e, a: _set_query(e, "reasons=2")),
    "explain=true&reasons=2": ("light", 200, lambda e, a: _set_query(e, "explain=true&reasons=2")),
    "reasons=28&explain=true": ("light", 200, lambda e, a: _set_query(e, "reasons=28&explain=true")),
    "explain=True": ("app", 200, lambda e, a: _set_query(e, "explain=True")),
    "explain=1": ("app", 200, lambda e, a: _set_query(e, "explain=1")),
    "explain=": ("app", 422, lambda e, a: _set_query(e, "explain=")),
    "explain=maybe": ("app", 422, lambda e, a: _set_query(e, "explain=maybe")),
    "explain twice": ("app", 200, lambda e, a: _set_query(e, "explain=true&explain=false")),
    "reasons=0": ("app", 422, lambda e, a: _set_query(e, "reasons=0")),
    "reasons=29": ("app", 422, lambda e, a: _set_query(e, "reasons=29")),
    "reasons=02": ("app", 200, lambda e, a: _set_query(e, "reasons=02&explain=true")),
    "an unknown option": ("app", 200, lambda e, a: _set_query(e, "explain=true&verbose=1")),
    "explain=true, invalid field": ("app", 422, lambda e, a: _explained_invalid(e, a)),
    "missing API key": ("app", 401, lambda e, a: _set_header(e, "X-API-Key", None)),
    "wrong API key": ("app", 401, lambda e, a: _set_header(e, "X-API-Key", "nope")),
    "body over the limit": ("app", 413, lambda e, a: _set_body(e, _json(a).ljust(4097))),
    "declared length over the limit": ("app", 413, lambda e, a: _set_header(e, "Content-Length", "5000")),
    "declared length not a number": ("app", 413, lambda e, a: _set_header(e, "Content-Length", "12x")),
    "GET /v1/score": ("app", 405, lambda e, a: _set_path(e, "/v1/score", "GET")),
    "GET /health": ("app", 200, lambda e, a: _route(e, "/health", "GET", "")),
    "GET /v1/model": ("app", 200, lambda e, a: _route(e, "/v1/model", "GET", "")),
    "POST /v1/score/batch": ("app", 200, lambda e, a: _route(e, "/v1/score/batch", "POST", _json({"applicants": [a]}))),
    "unknown path": ("app", 404, lambda e, a: _set_path(e, "/v1/scores")),
    "trailing slash": ("app", 307, lambda e, a: _set_path(e, "/v1/score/")),
}


def _with_key(event: Event) -> Event:
    _set_header(event, "X-API-Key", KEY)
    return event


def _metrics(out: str) -> list[dict[str, Any]]:
    """The EMF documents printed, without what differs from run to run (time, latencies)."""
    documents = []
    for line in out.splitlines():
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            del document["_aws"]["Timestamp"]
            if "Latency" in document:
                document["Latency"] = len(document["Latency"])
            documents.append(document)
    return documents


@pytest.mark.parametrize("kind", ["v2", "v1", "http1"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_light_path_answers_plain_scores_as_the_app_does_and_nothing_else(
    paths: Paths, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str], kind: str, case: str
) -> None:
    expected, status, edit = CASES[case]
    event = _with_key(_event(kind))
    edit(event, applicant)
    publish()  # what earlier tests left in the metrics window, so that both paths start empty
    capsys.readouterr()
    light = paths.light.answer(copy.deepcopy(event))
    light_out = capsys.readouterr().out
    full = paths.full(event)
    full_out = capsys.readouterr().out
    assert full["statusCode"] == status
    if expected == "app":
        assert light is None and light_out == ""  # nothing answered, counted or logged
        return
    assert light is not None
    assert list(light.items()) == list(full.items())  # the same dict, key for key, in order
    assert light["statusCode"] == 200 and json.loads(light["body"])["risk_score"] > 0
    assert _metrics(light_out) == _metrics(full_out) != []


def test_a_percent_encoded_option_is_read_as_the_route_reads_it(paths: Paths) -> None:
    event = _with_key(_event("v2"))
    _set_query(event, "explain=%74rue&reasons=%32")  # explain=true&reasons=2, as the route decodes it
    light = paths.light.answer(copy.deepcopy(event))
    assert light is not None and list(light.items()) == list(paths.full(event).items())
    assert len(json.loads(light["body"])["explanation"]["raised"]) <= 2


@pytest.mark.parametrize("kind", ["v2", "v1"])
def test_under_a_stage_prefix_too(paths: Paths, kind: str) -> None:
    event = _with_key(_event(kind))
    if kind == "v2":  # a named stage: the path carries it
        event["requestContext"]["stage"] = "prod"
        _set_path(event, "/prod/v1/score")
    light = paths.light.answer(copy.deepcopy(event))
    assert light is not None and list(light.items()) == list(paths.full(event).items())


def test_other_events_are_left_to_mangum(paths: Paths) -> None:
    alb = _event("v1")
    alb["requestContext"] = {"elb": {"targetGroupArn": "arn"}}
    edge: Event = {"Records": [{"cf": {}}]}
    others: list[Event] = [alb, edge, {"direct": "invocation"}, {"requestContext": {}}]
    for event in others:
        assert paths.light.answer(event) is None


def test_events_mangum_cannot_read_are_left_to_it(paths: Paths) -> None:
    """Mangum raises on these, and keeps doing so: the light path does not answer them instead."""
    broken_base64 = _with_key(_event("v2"))
    broken_base64["body"] = "not base64!"
    no_source_ip = _with_key(_event("v2"))
    del no_source_ip["requestContext"]["http"]["sourceIp"]
    bad_port = _with_key(_event("v1"))
    _set_header(bad_port, "X-Forwarded-Port", "https")
    for event in (broken_base64, no_source_ip, bad_port):
        assert paths.light.answer(copy.deepcopy(event)) is None
        with pytest.raises(Exception):  # noqa: B017  # whatever Mangum raises
            paths.full(event)


@pytest.fixture()
def recorded(scorer: Scorer, tmp_path: Path) -> Iterator[tuple[Paths, Path]]:
    sink = tmp_path / "decisions"
    yield Paths(Settings(decision_records="best-effort", decision_sink=str(sink)), scorer), sink


@pytest.mark.parametrize("query", ["", "explain=true"])
def test_with_decision_records_both_paths_answer_and_record_alike(recorded: tuple[Paths, Path], query: str) -> None:
    paths, sink = recorded
    event = _event("v2")
    _set_query(event, query)
    answers = [paths.light.answer(copy.deepcopy(event)), paths.full(event)]
    paths.service.flush_records()
    records = [
        DecisionRecord.model_validate_json(line)
        for p in sorted(sink.rglob("*.jsonl"))
        for line in p.read_text().splitlines()
    ]
    assert len(records) == 2
    ids = [json.loads(str(a["body"]))["decision_id"] for a in answers if a is not None]
    assert len(ids) == 2 and sorted(ids) == sorted(r.decision_id for r in records)
    assert [a["headers"]["decision-id"] for a in answers if a is not None] == ids
    light, full = (json.dumps(a).replace(i, "ID") for a, i in zip(answers, ids, strict=True))
    assert light == full  # the same text: keys in the same order
    same = [r.model_dump(exclude={"decision_id", "decided_at"}) for r in records]
    assert same[0] == same[1] and records[0].channel == "api" and records[0].request_id == "id"
    assert (records[0].reasons is not None) == bool(query)


def test_a_record_that_cannot_be_stored_is_the_apps_503(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: Any) -> None:
        raise RecordsUnavailable("the sink is down", retry_after=7)

    monkeypatch.setattr(paths.service.recorder, "mode", "required")
    monkeypatch.setattr(paths.service.recorder, "submit", refuse)
    event = _with_key(_event("v1"))
    light = paths.light.answer(copy.deepcopy(event))
    full = paths.full(event)
    assert light is not None and list(light.items()) == list(full.items())
    assert light["statusCode"] == 503 and light["headers"]["retry-after"] == "7"
    _set_query(event, "explain=true")  # explained alike
    light = paths.light.answer(copy.deepcopy(event))
    assert light is not None and list(light.items()) == list(paths.full(event).items())


def test_the_text_media_types_are_mangums_and_problem_documents() -> None:
    assert [*DEFAULT_TEXT_MIME_TYPES, "application/problem+json"] == TEXT_MIME_TYPES
