"""API Gateway events read and answered as Mangum does, for the requests the light path takes.

Mangum turns an event into an ASGI request and the app's answer into the dict Lambda returns;
the light path (lambda_app.gateway.plain_score) has to see the same request and give back the
same dict, key for key and in the same order, or the two paths would answer differently. So
this follows Mangum's HTTP API (payload 2.0 and 1.0) and REST API handlers step by step, and
reads only what it can read exactly as they do: any event it is unsure of is None, and the
handler gives it to Mangum and the app. Test: tests/lambda_app/gateway/test_plain_score.py.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

# What Mangum returns as text rather than base64: its defaults, and problem documents (the
# handler gives Mangum this same list).
TEXT_MIME_TYPES = [
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/vnd.api+json",
    "application/vnd.oai.openapi",
    "application/problem+json",
]

Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """An event as the app would see it: ASGI's method, path, query string, headers and body."""

    event: Mapping[str, Any]
    version2: bool  # HTTP API payload 2.0 (answered without multiValueHeaders)
    method: str
    path: str
    query: bytes
    headers: dict[bytes, bytes]  # lower-case names; one value each, as Mangum builds them
    body: bytes


def read_event(event: Mapping[str, Any]) -> GatewayRequest | None:
    """The request in an HTTP API or REST API event; None for any other event (ALB, Lambda@Edge,
    a direct invocation), or for anything read differently from Mangum."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping) or "elb" in context:  # Mangum tries ALB first
        return None
    try:
        if "version" in event:  # Mangum's HTTP API handler, both payload versions
            version2 = event["version"] == "2.0"
            request = _read_v2(event, context) if version2 else _read_v1(event)
        elif "resource" in event:  # its REST API handler
            request = _read_v1(event)
        else:
            return None
    except (KeyError, TypeError, AttributeError, ValueError):  # Mangum raises too
        return None
    return request


# Where Mangum would raise on an event (a missing key, a malformed Host header, ...), reading
# it here raises too and the event goes to Mangum, which raises as it always has.


def _read_v2(event: Mapping[str, Any], context: Mapping[str, Any]) -> GatewayRequest | None:
    query = event.get("rawQueryString", "").encode()
    headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event.get("cookies", []))
    http = context["http"]
    http["sourceIp"]  # read by Mangum
    return _request(event, True, http["method"], http["path"], query, headers)


def _read_v1(event: Mapping[str, Any]) -> GatewayRequest | None:
    params = event.get("multiValueQueryStringParameters", {}) or event.get("queryStringParameters", {})
    query = urlencode(params, doseq=True).encode() if params else b""
    headers = {k.lower(): v for k, v in (event.get("headers", {}) or {}).items()}
    multi = event.get("multiValueHeaders")
    if multi:
        headers.update({k.lower(): ", ".join(v) if isinstance(v, list) else "" for k, v in multi.items()})
    event["requestContext"].get("identity", {}).get("sourceIp")  # read by Mangum
    return _request(event, False, event["httpMethod"], event["path"], query, headers)


def _request(
    event: Mapping[str, Any], version2: bool, method: Any, path: Any, query: bytes, headers: dict[str, Any]
) -> GatewayRequest | None:
    if not (isinstance(method, str) and isinstance(path, str)):
        return None
    _server_and_port(headers)
    raw = {k.encode(): v.encode() for k, v in headers.items()}
    body = event.get("body", b"") or b""
    if event.get("isBase64Encoded", False):
        body = base64.b64decode(body)
    elif not isinstance(body, bytes):
        body = body.encode()
    return GatewayRequest(event, version2, method, unquote(path) if path else "/", query, raw, body)


def _server_and_port(headers: Mapping[str, Any]) -> tuple[str, int]:
    """Mangum's ASGI `server`, from Host or X-Forwarded-Port (raising where Mangum does)."""
    name = headers.get("host", "mangum")
    port = headers.get("x-forwarded-port", 80)
    if ":" in name:
        name, port = name.split(":")
    return name, int(port)


def lambda_response(request: GatewayRequest, status: int, headers: Headers, body: bytes) -> dict[str, Any]:
    """The dict Mangum returns for this answer to this request."""
    if request.version2:
        combined: dict[str, str] = {}
        cookies: list[str] = []
        for key, value in headers:
            name, text = key.decode().lower(), value.decode()
            if name == "set-cookie":
                cookies.append(text)
            else:
                combined[name] = f"{combined[name]},{text}" if name in combined else text
        if "content-type" not in combined:
            combined["content-type"] = "application/json"
        out_body, is_base64 = _body(body, combined)
        response = {
            "statusCode": status,
            "body": out_body,
            "headers": combined or None,
            "cookies": cookies or None,
            "isBase64Encoded": is_base64,
        }
        return {key: value for key, value in response.items() if value is not None}
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in headers:
        name, text = key.decode().lower(), value.decode()
        if name in multi:
            multi[name].append(text)
        elif name in single:
            multi[name] = [single.pop(name), text]
        else:
            single[name] = text
    out_body, is_base64 = _body(body, single)
    return {
        "statusCode": status,
        "headers": single,
        "multiValueHeaders": multi,
        "body": out_body,
        "isBase64Encoded": is_base64,
    }


def _body(body: bytes, headers: Mapping[str, str]) -> tuple[str, bool]:
    if body == b"":
        return "", False
    content_type = headers.get("content-type", "")
    if any(text in content_type for text in TEXT_MIME_TYPES):
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True
