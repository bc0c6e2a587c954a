"""On Lambda the pages load with their first request: a cold start that scores imports no
jinja2, and the pages, the 404 problem and the API all answer as before once they have."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lambda_app.servers import ROOT

EVENTS = ROOT / "tests" / "events"

_SCRIPT = """
import json, sys
from lambda_app.handler import handler
class C: function_name = "f"; memory_limit_in_mb = 1024; aws_request_id = "r"; invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
score = json.load(open(sys.argv[1]))
def get(path, method="GET"):
    event = json.loads(json.dumps(score))
    event.update(rawPath=path, body="", isBase64Encoded=False)
    event["requestContext"]["http"].update(path=path, method=method)
    return handler(event, C())
out = {"score": handler(score, C())["statusCode"], "jinja2_after_score": "jinja2" in sys.modules}
for path in ("/nothing", "/", "/batch", "/model", "/nothing"):
    response = get(path)
    out[path] = out.get(path, []) + [[response["statusCode"], response["headers"].get("content-type", "")]]
out["score_after"] = handler(score, C())["statusCode"]
print(json.dumps(out))
"""


def test_pages_load_on_their_first_request_on_lambda(bundle_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(EVENTS / "http_api_v2_score.json")],
        env={**os.environ, "MODEL_URI": str(bundle_dir), "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["score"] == 200 and result["jinja2_after_score"] is False
    for page in ("/", "/batch", "/model"):
        [[status, media]] = result[page]
        assert status == 200 and media.startswith("text/html")
    # An unknown path is a 404 problem before the pages load and after.
    assert [s for s, _ in result["/nothing"]] == [404, 404]
    assert all(m == "application/problem+json" for _, m in result["/nothing"])
    assert result["score_after"] == 200
