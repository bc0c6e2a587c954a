"""X-Ray tracing without the SDK: the subsegment a sampled invocation sends to a daemon on
loopback, nothing for an unsampled one or off Lambda, and a failed invocation marked a fault."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from lambda_app.tracing import Tracer, daemon_address, parse_trace_header

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled={}"


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.5)
        yield s


def _lambda(daemon: socket.socket, sampled: int, **extra: str) -> dict[str, str]:
    return {
        "LAMBDA_TASK_ROOT": "/var/task",
        "_X_AMZN_TRACE_ID": TRACE.format(sampled),
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        **extra,
    }


def _received(daemon: socket.socket) -> list[dict[str, Any]]:
    out = []
    try:
        while True:
            header, doc = daemon.recv(65536).split(b"\n", 1)
            assert json.loads(header) == {"format": "json", "version": 1}
            out.append(json.loads(doc))
    except TimeoutError:
        return out


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError("applicant 123 has CreditScore 9000")
    return {"statusCode": 200}


def test_sampled_invocations_send_a_subsegment_flagging_only_the_first_as_cold(daemon: socket.socket) -> None:
    traced = Tracer("loan-risk", _lambda(daemon, 1)).capture_lambda_handler(handler)
    assert traced({}, None) == {"statusCode": 200}
    assert traced({}, None) == {"statusCode": 200}
    first, second = _received(daemon)
    assert first["name"] == "## handler" and first["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert [first["annotations"]["ColdStart"], second["annotations"]["ColdStart"]] == [True, False]
    assert first["id"] != second["id"]


def test_a_failed_invocation_is_a_fault_naming_only_the_error_type(daemon: socket.socket) -> None:
    traced = Tracer("loan-risk", _lambda(daemon, 1)).capture_lambda_handler(handler)
    with pytest.raises(ValueError):
        traced({"fail": True}, None)
    [doc] = _received(daemon)
    assert doc["fault"] is True and doc["cause"]["exceptions"][0]["type"] == "ValueError"
    assert "9000" not in json.dumps(doc)  # the message may quote personal data


def test_nothing_is_sent_unsampled_off_lambda_or_when_disabled(daemon: socket.socket) -> None:
    unsampled = Tracer("loan-risk", _lambda(daemon, 0))
    off_lambda = Tracer("loan-risk", {k: v for k, v in _lambda(daemon, 1).items() if k != "LAMBDA_TASK_ROOT"})
    disabled = Tracer("loan-risk", _lambda(daemon, 1, POWERTOOLS_TRACE_DISABLED="true"))
    sam_local = Tracer("loan-risk", _lambda(daemon, 1, AWS_SAM_LOCAL="true"))
    assert [t.disabled for t in (unsampled, off_lambda, disabled, sam_local)] == [False, True, True, True]
    for t in (unsampled, off_lambda, disabled, sam_local):
        assert t.capture_lambda_handler(handler)({}, None) == {"statusCode": 200}
    assert _received(daemon) == []


def test_an_unreachable_daemon_never_fails_an_invocation() -> None:
    env = {"LAMBDA_TASK_ROOT": "/t", "_X_AMZN_TRACE_ID": TRACE.format(1), "AWS_XRAY_DAEMON_ADDRESS": "nonsense"}
    assert Tracer("loan-risk", env).capture_lambda_handler(handler)({}, None) == {"statusCode": 200}


def test_trace_header_and_daemon_address_forms() -> None:
    assert parse_trace_header(TRACE.format(1)) is not None and parse_trace_header(TRACE.format(1)).sampled  # type: ignore[union-attr]
    assert parse_trace_header("Parent=1;Sampled=1") is None and parse_trace_header("") is None
    assert daemon_address("169.254.79.129:2000") == ("169.254.79.129", 2000)
    assert daemon_address("tcp:10.0.0.1:2000 udp:10.0.0.2:2001") == ("10.0.0.2", 2001)
    assert daemon_address("") == ("127.0.0.1", 2000)
