"""Schemathesis against the service's own OpenAPI document, in process: valid and invalid
requests generated for every operation; no 5xx, and every answer conforms to the schema
(status code documented, content type, body schema, and invalid data rejected).

FUZZ_EXAMPLES sets the examples per operation and generation mode: `make test` runs 200
(about 1,200 cases, some 15 s), `make fuzz` 2,000; the counts are printed (visible with -s).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
KEY = "fuzz-key"  # with keys set, so the fuzzer also checks that a wrong or missing key is refused


@pytest.fixture(scope="module")
def api_schema(scorer: Scorer) -> schemathesis.BaseSchema:
    # A small batch limit, so generated batches reach it and the 413 path is exercised too.
    app = create_app(Settings(max_batch_rows=5, max_body_bytes=200_000, api_keys=KEY), scorer)
    # The key as the schema's own security scheme: schemathesis then sends it on valid cases
    # and leaves it out or garbles it on the cases that test authentication.
    # And 413 is a rejection too: more applicants than max_batch_rows is answered 413.
    rejections = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
    config = SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"APIKeyHeader": {"api_key": KEY}}},
            "checks": {"negative_data_rejection": {"expected-statuses": rejections}},
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def _operations(api_schema: schemathesis.BaseSchema) -> list[Any]:
    results: list[Any] = list(api_schema.get_all_operations())  # Ok or Err: .ok() raises on an Err
    return [result.ok() for result in results]


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_every_operation_conforms(api_schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode) -> None:
    cases: Counter[str] = Counter()
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            cases[case.operation.label] += 1
            # A CSV body is documented as a string: its columns cannot be said in JSON Schema,
            # so "any string is valid data" would be a false premise. Every other check,
            # no 5xx and response conformance among them, still applies to CSV bodies.
            excluded = [positive_data_acceptance] if case.media_type == "text/csv" else []
            case.call_and_validate(excluded_checks=excluded)

        try:
            fuzz()
        except Unsatisfiable:  # an operation with no inputs (GET /health) has no invalid ones
            assert mode is schemathesis.GenerationMode.NEGATIVE and not cases[operation.label]
            cases[operation.label] = 0
    print(
        f"\nschemathesis {mode.value}: {sum(cases.values())} cases: " + ", ".join(f"{k} {v}" for k, v in cases.items())
    )
    assert set(cases) == {op.label for op in _operations(api_schema)}  # every operation was reached
