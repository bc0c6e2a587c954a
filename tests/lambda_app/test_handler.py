"""The Lambda entry point, driven with API Gateway events made by `sam local generate-event`."""

import base64
import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


class FakeContext:
    function_name = "loan-risk"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:loan-risk"
    aws_request_id = "req-1"


@pytest.fixture(scope="module")
def handler_module(bundle_dir: Path) -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_URI", str(bundle_dir))
        get_settings.cache_clear()
        import lambda_app.handler as module

        module = importlib.reload(module)  # the model loads at import, as in Lambda's init phase
    get_settings.cache_clear()
    return module


def _body(response: dict[str, object]) -> dict[str, object]:
    raw = str(response["body"])
    body: dict[str, object] = json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)
    return body


@pytest.mark.parametrize("event_file", ["http_api_v2_score.json", "rest_api_v1_score.json"])
def test_api_gateway_event_scores_like_the_http_route(
    handler_module: ModuleType, scorer: Scorer, applicant: dict[str, object], event_file: str
) -> None:
    event = json.loads((EVENTS / event_file).read_text())
    response = handler_module.handler(event, FakeContext())
    assert response["statusCode"] == 200
    body = _body(response)
    assert body["risk_score"] == scorer.score([applicant])[0]
    assert body["model_version"] == scorer.version


def test_event_with_bad_field_gets_422(handler_module: ModuleType, applicant: dict[str, object]) -> None:
    event = json.loads((EVENTS / "http_api_v2_score.json").read_text())
    event["body"] = json.dumps({**applicant, "LoanPurpose": "Yacht"})
    event["isBase64Encoded"] = False
    response = handler_module.handler(event, FakeContext())
    assert response["statusCode"] == 422 and "LoanPurpose" in str(response["body"])


def _get(path: str, stage_event: str = "rest_api_v1_score.json") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / stage_event).read_text())
    event.update(path=path, httpMethod="GET", body=None, isBase64Encoded=False)
    event["requestContext"] = {**event["requestContext"], "path": f"/prod{path}", "httpMethod": "GET"}
    return event


def test_docs_behind_the_stage_fetch_the_staged_spec(handler_module: ModuleType) -> None:
    """The Mangum pitfall: /prod/docs must load /prod/openapi.json, not /openapi.json."""
    docs = handler_module.handler(_get("/docs"), FakeContext())
    assert docs["statusCode"] == 200 and "'/prod/openapi.json'" in docs["body"]
    spec = handler_module.handler(_get("/openapi.json"), FakeContext())
    assert json.loads(spec["body"])["servers"] == [{"url": "/prod"}]


def test_oversized_event_body_gets_413(handler_module: ModuleType, applicant: dict[str, object]) -> None:
    event = json.loads((EVENTS / "http_api_v2_score.json").read_text())
    event["body"] = json.dumps({"applicants": [applicant] * 7000})  # ~5.5 MB, over the 5 MB body limit
    event["isBase64Encoded"] = False
    response = handler_module.handler(event, FakeContext())
    assert response["statusCode"] == 413 and "limit" in response["body"]


def test_full_batch_fits_lambda_payload_limit(handler_module: ModuleType, applicant: dict[str, object]) -> None:
    event = json.loads((EVENTS / "http_api_v2_score.json").read_text())
    event.update(
        rawPath="/v1/score/batch",
        isBase64Encoded=False,
        body=json.dumps({"applicants": [applicant] * Settings().max_batch_rows}),
    )
    event["requestContext"]["http"]["path"] = "/v1/score/batch"
    assert len(json.dumps(event)) < 6 * 1024 * 1024  # Lambda's synchronous payload limit
    response = handler_module.handler(event, FakeContext())
    assert response["statusCode"] == 200 and json.loads(response["body"])["scored"] == Settings().max_batch_rows


def _fresh_interpreter(script: str, env: dict[str, str], *args: str) -> str:
    """stdout of `script` in a new Python, as Lambda starts each execution environment, with
    the v2 score event's path (and `args`) as its arguments."""
    return subprocess.run(
        [sys.executable, "-c", script, str(EVENTS / "http_api_v2_score.json"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def test_cold_start_is_flagged_once_and_warm_successes_are_left_to_api_gateways_log(bundle_dir: Path) -> None:
    """A fresh interpreter, as Lambda gives each execution environment. Every invocation
    publishes its metrics; the request line is written for the cold start and for failures
    (API Gateway's access log has every request)."""
    script = (
        "import json, sys\n"
        "from lambda_app.handler import handler\n"
        "good = json.loads(open(sys.argv[1]).read())\n"
        "bad = dict(good, body='{}', isBase64Encoded=False)\n"
        "class Ctx: function_name='f'; memory_limit_in_mb=1024; aws_request_id='r';"
        " invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        "for event in (good, good, bad):\n"
        "    handler(event, Ctx()); print('--- next ---', flush=True)\n"
    )
    out = _fresh_interpreter(script, {"MODEL_URI": str(bundle_dir)})
    cold, warm, failed, _ = out.split("--- next ---")
    lines = [[json.loads(line) for line in part.splitlines() if line.startswith("{")] for part in (cold, warm, failed)]
    requests = [[line for line in part if line.get("message") == "request"] for part in lines]
    metrics = [[line for line in part if "_aws" in line] for part in lines]
    assert [len(r) for r in requests] == [1, 0, 1]
    assert requests[0][0]["cold_start"] is True and requests[0][0]["status"] == 200
    assert requests[2][0]["cold_start"] is False and requests[2][0]["status"] == 422
    assert all(metrics), "every invocation publishes its metrics"
    assert any("ColdStart" in m for m in metrics[0]) and not any("ColdStart" in m for m in metrics[1] + metrics[2])
    assert any(m.get("ScoresServed") == [1.0] for m in metrics[1])
    assert any(m.get("ClientErrors") == [1.0] for m in metrics[2])


_FRAMEWORKS = ("fastapi", "starlette", "mangum", "jinja2", "scipy", "pandas")


def test_a_plain_score_imports_no_web_framework_and_anything_else_builds_the_app(bundle_dir: Path) -> None:
    """A fresh interpreter's plain score, and an explained one, are answered from the event
    (lambda_app.gateway): no FastAPI, Starlette or Mangum, nor scipy or pandas. The first other
    request builds the app, which answers it; plain scores keep their answer after that."""
    script = (
        "import json, sys\n"
        "from lambda_app.handler import handler\n"
        "class Ctx: function_name='f'; memory_limit_in_mb=1024; aws_request_id='r';"
        " invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        f"frameworks = {_FRAMEWORKS!r}\n"
        "def loaded(): return sorted(m for m in sys.modules if m.split('.')[0] in frameworks)\n"
        "score = json.loads(open(sys.argv[1]).read())\n"
        "health = json.loads(json.dumps(score))\n"
        "health.update(rawPath='/health', body='', isBase64Encoded=False)\n"
        "health['requestContext']['http'].update(path='/health', method='GET')\n"
        "explained = dict(score, rawQueryString='explain=true')\n"
        "first = handler(score, Ctx())\n"
        "reasons = 'explanation' in handler(explained, Ctx())['body']\n"
        "out = {'first': first, 'reasons': reasons, 'loaded': loaded()}\n"
        "out['health'] = handler(health, Ctx())['statusCode']\n"
        "out['after'] = handler(score, Ctx())\n"
        "out['loaded_after'] = loaded()\n"
        "print(json.dumps(out))\n"
    )
    out = _fresh_interpreter(script, {"MODEL_URI": str(bundle_dir), "LOG_LEVEL": "WARNING"})
    result = json.loads(out.strip().splitlines()[-1])
    assert result["first"]["statusCode"] == 200 and result["reasons"] and result["loaded"] == []
    assert result["health"] == 200 and {"fastapi", "starlette", "mangum"} <= {
        m.split(".")[0] for m in result["loaded_after"]
    }
    assert result["after"] == result["first"]


def test_in_lambdas_environment_the_traced_handler_scores_and_start_up_leaves_collection_on(bundle_dir: Path) -> None:
    """With the variables Lambda sets, the tracer is on (it is off anywhere else) and sends the
    sampled invocation's subsegment to the X-Ray daemon's UDP port, under the invocation's
    trace. The handler turns the garbage collector off while it builds the app; left off, the
    process would leak."""
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    script = (
        "import gc, json, sys\n"
        "from lambda_app.handler import handler, tracer\n"
        "class Ctx: function_name='f'; memory_limit_in_mb=1024; aws_request_id='r';"
        " invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        "status = handler(json.loads(open(sys.argv[1]).read()), Ctx())['statusCode']\n"
        "print(json.dumps({'status': status, 'traced': not tracer.disabled, 'gc': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count()}))\n"
    )
    env = {
        "MODEL_URI": str(bundle_dir),
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "loan-risk",
        "AWS_REGION": "us-east-1",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }
    with daemon:
        out = _fresh_interpreter(script, env)
        header, document = daemon.recv(65536).split(b"\n", 1)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == 200 and result["traced"]
    assert result["gc"] and result["frozen"] > 10_000
    assert json.loads(header) == {"format": "json", "version": 1}
    segment = json.loads(document)
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793" and segment["parent_id"] == "53995c3f42cd8ad8"
    assert segment["type"] == "subsegment" and segment["name"] == "## handler"
    assert segment["annotations"] == {"ColdStart": True, "Service": "loan-risk"}
    assert 0 < segment["end_time"] - segment["start_time"] < 5 and "fault" not in segment


def test_each_invocation_writes_its_decision_records_before_it_returns(bundle_dir: Path, tmp_path: Path) -> None:
    """Best-effort records are buffered; on Lambda the buffer is written before the invocation
    returns, since a frozen environment may never run again."""
    sink = tmp_path / "decisions"
    script = (
        "import json, pathlib, sys\n"
        "from lambda_app.handler import handler\n"
        "class Ctx: function_name='f'; memory_limit_in_mb=1024; aws_request_id='r';"
        " invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        "event = json.loads(open(sys.argv[1]).read())\n"
        "for _ in range(3):\n"
        "    body = json.loads(handler(event, Ctx())['body'])\n"
        "    kept = [json.loads(l)['decision_id'] for p in pathlib.Path(sys.argv[2]).rglob('*.jsonl') for l in open(p)]\n"
        "    print(json.dumps({'id': body['decision_id'], 'kept': kept}))\n"
    )
    env = {"MODEL_URI": str(bundle_dir), "DECISION_RECORDS": "best-effort", "DECISION_SINK": str(sink)}
    out = _fresh_interpreter(script, env, str(sink))
    runs = [json.loads(line) for line in out.strip().splitlines() if line.startswith('{"id"')]
    assert len(runs) == 3
    for i, run in enumerate(runs):  # after each invocation, every answer so far is on disk
        assert run["kept"] == [r["id"] for r in runs[: i + 1]]
