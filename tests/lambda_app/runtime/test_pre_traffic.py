"""The CodeDeploy pre-traffic hook against the real Lambda handler, through boto3 over loopback.

moto implements neither Lambda's Invoke without a Docker engine nor CodeDeploy's
PutLifecycleEventHookExecutionStatus, so a loopback endpoint speaks both wire protocols: Invoke
runs lambda_app.handler in-process (the version named in the ARN picks which), and CodeDeploy's
call is recorded as sent. boto3 serialises and validates every request as it would for AWS.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from lambda_app.core import canary
from lambda_app.core.bundle import MANIFEST, read_manifest
from lambda_app.core.scoring import Scorer
from lambda_app.runtime import pre_traffic
from lambda_app.settings import get_settings

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:loan-risk-score"
EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "hook-execution-1"}


class Context:
    function_name = "loan-risk-score"
    memory_limit_in_mb = 1024
    invoked_function_arn = FUNCTION
    aws_request_id = "req-pre-traffic"


@pytest.fixture(scope="module")
def handler_module(bundle_dir: Path) -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_URI", str(bundle_dir))
        get_settings.cache_clear()
        import lambda_app.handler as module

        module = importlib.reload(module)
    get_settings.cache_clear()
    return module


class Aws:
    """Lambda Invoke and CodeDeploy on one loopback port; `versions` maps a version to a handler."""

    def __init__(self, versions: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]) -> None:
        self.versions = versions
        self.reported: list[dict[str, Any]] = []
        self.invoked: list[str] = []
        aws = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                if target == "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus":
                    aws.reported.append(body)
                    return self.reply(200, {"lifecycleEventHookExecutionId": body["lifecycleEventHookExecutionId"]})
                # /2015-03-31/functions/<name or ARN[:qualifier]>/invocations
                name = unquote(self.path.split("/functions/", 1)[1].split("/invocations", 1)[0])
                aws.invoked.append(name)
                version = name.rsplit(":", 1)[1] if name.count(":") == 7 else "$LATEST"
                if version not in aws.versions:
                    error = {"Type": "User", "Message": f"Function not found: {name}"}
                    return self.reply(404, error, {"x-amzn-ErrorType": "ResourceNotFoundException"})
                self.reply(200, aws.versions[version](body, Context()), {"X-Amz-Executed-Version": version})

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]  # the service is a variable here
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture()
def aws(handler_module: ModuleType) -> Iterator[Aws]:
    endpoint = Aws({"7": handler_module.handler})

    def serve() -> None:
        # One thread, with the event loop Mangum runs the app on, as in a Lambda runtime.
        asyncio.set_event_loop(asyncio.new_event_loop())
        endpoint.server.serve_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def hook(aws: Aws, target: str, bundle: Path) -> str:
    ask = pre_traffic.lambda_ask(aws.client("lambda"), target)
    return pre_traffic.run(EVENT, target, lambda: read_manifest(bundle), ask, aws.client("codedeploy"))


def reported(aws: Aws, status: str) -> None:
    assert aws.reported == [
        {
            "deploymentId": EVENT["DeploymentId"],
            "lifecycleEventHookExecutionId": EVENT["LifecycleEventHookExecutionId"],
            "status": status,
        }
    ]


def test_training_records_canary_answers_the_serving_code_gives(bundle_dir: Path, scorer: Scorer) -> None:
    cases = read_manifest(bundle_dir).canary
    assert [c.name for c in cases] == ["typical", "example"]
    assert [c.risk_score for c in cases] == scorer.score([c.applicant for c in cases])


def test_a_version_that_answers_as_its_bundle_expects_passes(aws: Aws, bundle_dir: Path) -> None:
    assert hook(aws, f"{FUNCTION}:7", bundle_dir) == "Succeeded"
    reported(aws, "Succeeded")
    assert aws.invoked == [f"{FUNCTION}:7"] * len(read_manifest(bundle_dir).canary)  # the version, never the alias


def altered_bundle(bundle_dir: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    edit(manifest)
    (copy / MANIFEST).write_text(json.dumps(manifest))
    return copy


def test_a_version_that_answers_differently_fails(aws: Aws, bundle_dir: Path, tmp_path: Path) -> None:
    def shift(manifest: dict[str, Any]) -> None:
        manifest["canary"][1]["risk_score"] += 10 * canary.TOLERANCE

    assert hook(aws, f"{FUNCTION}:7", altered_bundle(bundle_dir, tmp_path, shift)) == "Failed"
    reported(aws, "Failed")


def test_a_bundle_without_recorded_answers_still_needs_valid_scores(aws: Aws, bundle_dir: Path, tmp_path: Path) -> None:
    def old(manifest: dict[str, Any]) -> None:
        del manifest["canary"]

    assert hook(aws, f"{FUNCTION}:7", altered_bundle(bundle_dir, tmp_path, old)) == "Succeeded"

    def narrow(manifest: dict[str, Any]) -> None:  # every real score falls outside this range
        del manifest["canary"]
        manifest["score_range"] = [0.0, 0.001]

    aws.reported.clear()
    assert hook(aws, f"{FUNCTION}:7", altered_bundle(bundle_dir, tmp_path / "narrow", narrow)) == "Failed"
    reported(aws, "Failed")


@pytest.mark.parametrize("target", ["", f"{FUNCTION}:8"], ids=["unset", "missing-version"])
def test_a_check_that_cannot_run_is_reported_failed(aws: Aws, bundle_dir: Path, target: str) -> None:
    assert hook(aws, target, bundle_dir) == "Failed"
    reported(aws, "Failed")


def test_an_error_answer_is_a_problem_not_a_crash() -> None:
    assert pre_traffic.risk_score({"statusCode": 500, "body": '{"title": "boom"}'}) == 'HTTP 500: {"title": "boom"}'
    assert str(pre_traffic.risk_score({"errorMessage": "Task timed out"})).startswith("not an API Gateway response")
