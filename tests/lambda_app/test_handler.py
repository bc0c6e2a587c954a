"""The Lambda entry point, driven with API Gateway events made by `sam local generate-event`."""

import base64
import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

from lambda_app.scoring import Scorer
from lambda_app.settings import get_settings

EVENTS = Path(__file__).resolve().parents[1] / "events"


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
    return json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)


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
