"""Regenerate tests/events/ (`make events`): API Gateway events exactly as
`sam local generate-event` makes them, for the example applicant (lambda_app.core.schema), with the
sample query strings dropped and a Content-Type header added (a real client sends one; the API
answers 415 without it).

Usage: python .ci/events.py OUT_DIR   (sam on PATH; run from the repository root)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lambda_app.core.schema import EXAMPLE_APPLICANT

CONTENT_TYPE = "application/json"


def generate(kind: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["sam", "local", "generate-event", "apigateway", kind, *args], check=True, capture_output=True, text=True
    ).stdout
    event: dict[str, Any] = json.loads(out)
    for key in ("queryStringParameters", "multiValueQueryStringParameters"):
        event.pop(key, None)
    if "rawQueryString" in event:
        event["rawQueryString"] = ""
    event["headers"]["Content-Type"] = CONTENT_TYPE
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["Content-Type"] = [CONTENT_TYPE]
    return event


def main(out_dir: Path) -> None:
    body = json.dumps(EXAMPLE_APPLICANT)
    events = {
        "rest_api_v1_score.json": generate("aws-proxy", "--path", "v1/score", "--body", body),
        "http_api_v2_score.json": generate("http-api-proxy", "--path", "v1/score", "--body", body),
        "http_api_v2_health.json": generate("http-api-proxy", "--path", "health", "--method", "GET"),
    }
    for name, event in events.items():
        (out_dir / name).write_text(json.dumps(event, indent=2) + "\n")
        print(f"wrote {out_dir / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
