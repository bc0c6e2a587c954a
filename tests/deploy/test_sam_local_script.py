""".ci/sam_local.py's HTTP checks against the ASGI server (the same app start-api serves), so a
check that could never pass, or never fail, shows here and not only in the CI stage."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest

from tests.deploy.infra import ROOT


@pytest.fixture(scope="module")
def sam_local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sam_local", ROOT / ".ci" / "sam_local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_app_passes_every_check_but_api_gateways_own(sam_local: ModuleType, live_server: str) -> None:
    outcomes = {}
    for name, fn in sam_local.api_checks(live_server):
        try:
            fn()
            outcomes[name] = "pass"
        except AssertionError as e:
            outcomes[name] = f"fail: {e}"
    # Only API Gateway (start-api) refuses unrouted paths with 403; the app itself answers 404.
    assert outcomes.pop("start-api GET /wp-login.php") == "fail: 404"
    assert set(outcomes.values()) == {"pass"}, outcomes


def test_a_wrong_answer_fails_its_check(sam_local: ModuleType, live_server: str) -> None:
    checks = dict(sam_local.api_checks(live_server + "/nowhere"))
    with pytest.raises(AssertionError):
        checks["start-api POST /v1/score"]()


def test_the_invoke_response_is_the_last_json_line(sam_local: ModuleType) -> None:
    stdout = 'START RequestId: 1\n{"level":"INFO"}\nEND RequestId: 1\n{"statusCode": 200, "body": "{}"}\n'
    assert sam_local.lambda_response(stdout) == {"statusCode": 200, "body": "{}"}
    assert json.loads(sam_local.body_of({"body": "eyJhIjogMX0=", "isBase64Encoded": True})) == {"a": 1}
