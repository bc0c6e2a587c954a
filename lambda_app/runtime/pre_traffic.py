"""CodeDeploy pre-traffic hook: ask the new Lambda version the bundle's canary questions.

CodeDeploy calls this (the same image, another handler) after publishing the new version and
before the `live` alias sends it any traffic. The new version is invoked directly with API
Gateway requests for POST /v1/score, one per canary applicant in the bundle's manifest; its
answers must match the scores the bundle recorded when it was trained. Whatever happens, the
hook reports Succeeded or Failed to CodeDeploy (Failed rolls the deployment back): an exception
left unreported would hold the deployment for an hour.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

from lambda_app.core import canary
from lambda_app.core.bundle import Manifest, read_manifest
from lambda_app.core.model_source import resolve
from lambda_app.settings import get_settings
from lambda_app.telemetry import logger

Ask = Callable[[dict[str, Any]], dict[str, Any]]  # API Gateway event in, the function's response out


def score_request(applicant: dict[str, Any]) -> dict[str, Any]:
    """A REST API (v1 payload) event for POST /v1/score, as API Gateway sends the live alias."""
    body = json.dumps(applicant)
    headers = {"Content-Type": "application/json", "User-Agent": "loan-risk-pre-traffic-hook"}
    request_id = str(uuid.uuid4())
    return {
        "resource": "/v1/{proxy+}",
        "path": "/v1/score",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": "score"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/{proxy+}",
            "httpMethod": "POST",
            "path": "/v1/score",
            "stage": "pre-traffic",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def risk_score(response: dict[str, Any]) -> Any:
    """The score in a function response, or a short description of what came back instead."""
    if "statusCode" not in response:
        return f"not an API Gateway response: {json.dumps(response)[:200]}"
    body = str(response.get("body", ""))
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    if response["statusCode"] != 200:
        return f"HTTP {response['statusCode']}: {body[:200]}"
    try:
        return json.loads(body)["risk_score"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP 200 without a risk_score: {body[:200]}"


def check(manifest: Manifest, ask: Ask) -> list[str]:
    """What is wrong with the new version's answers to the bundle's canary questions."""
    asked = canary.questions(manifest)
    answers = [risk_score(ask(score_request(q.applicant))) for q in asked]
    return canary.problems(manifest, asked, answers)


def lambda_ask(client: Any, target: str) -> Ask:
    def ask(event: dict[str, Any]) -> dict[str, Any]:
        reply = client.invoke(FunctionName=target, InvocationType="RequestResponse", Payload=json.dumps(event))
        payload = json.loads(reply["Payload"].read() or b"null")
        if "FunctionError" in reply:
            return {"error": reply["FunctionError"], "payload": payload}
        return payload if isinstance(payload, dict) else {"payload": payload}

    return ask


def run(event: dict[str, Any], target: str, manifest: Callable[[], Manifest], ask: Ask, codedeploy: Any) -> str:
    """Check the target version and report the outcome to CodeDeploy; returns the status sent."""
    try:
        if not target:
            raise ValueError("PRE_TRAFFIC_TARGET is not set: the template names the version to check")
        found = check(manifest(), ask)
    except Exception as e:  # reported as a failed check, never left hanging
        found = [f"the check could not run: {type(e).__name__}: {e}"]
    status = "Failed" if found else "Succeeded"
    if found:
        logger.error("pre-traffic check failed", extra={"target": target, "problems": found})
    else:
        logger.info("pre-traffic check passed", extra={"target": target})
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return status


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    import boto3  # the hook's own image entry point; the scoring handler never imports it

    settings = get_settings()

    def manifest() -> Manifest:
        return read_manifest(resolve(settings.model_uri, settings.model_cache_dir))

    target = settings.pre_traffic_target
    ask = lambda_ask(boto3.client("lambda"), target)
    status = run(event, target, manifest, ask, boto3.client("codedeploy"))
    return {"status": status}
