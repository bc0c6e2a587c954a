"""Structured logs and CloudWatch EMF metrics (aws-lambda-powertools).

Applicant data is personal data: nothing here logs request bodies or applicant fields,
only a request id, the route, the outcome and timings.

Metrics are gathered in memory and written as one EMF document per window rather than
one per request: a server worker writes its window every `metrics_interval_s` (and at
shutdown); on Lambda the window is one invocation, since a frozen environment may never
run again. Counts are summed over the window; latencies and batch sizes keep every
value, so CloudWatch's percentiles are unchanged. Writing per request through
Powertools' add_metric and flush_metrics was a large share of a warm score's time
(benchmarks/lambda_warm.py measures the handler as it is).
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "loan-risk"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LoanRisk", service=SERVICE)

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def request_id() -> str:
    return _request_id.get()


def set_request_id(rid: str) -> None:
    _request_id.set(rid)


# EMF allows at most 100 values for a metric in one document.
_EMF_VALUES = 100
_counts: defaultdict[str, float] = defaultdict(float)
_values: defaultdict[tuple[str, str], list[float]] = defaultdict(list)


def count(name: str, n: float = 1) -> None:
    """A count, summed over the window (ScoresServed, ClientErrors, ...)."""
    _counts[name] += n


def observe(name: str, value: float, unit: MetricUnit) -> None:
    """A measurement whose distribution matters (Latency, BatchSize): every value is kept."""
    _values[name, unit.value].append(float(value))


def publish() -> None:
    """Write the window's metrics as CloudWatch EMF (on stdout, as Powertools does) and start
    a new window. Counts go in the first document, values 100 to a document."""
    counts = {name: total for name, total in _counts.items() if total}
    pending = {key: observed for key, observed in _values.items() if observed}
    _counts.clear()
    _values.clear()
    while counts or pending:
        metric_set = {name: _metric(MetricUnit.Count.value, [total]) for name, total in counts.items()}
        counts = {}
        for (name, unit), observed in list(pending.items()):
            metric_set[name] = _metric(unit, observed[:_EMF_VALUES])
            if len(observed) > _EMF_VALUES:
                pending[name, unit] = observed[_EMF_VALUES:]
            else:
                del pending[name, unit]
        print(json.dumps(metrics.serialize_metric_set(metrics=metric_set), separators=(",", ":")))


def _metric(unit: str, values: list[float]) -> dict[str, Any]:
    return {"Unit": unit, "StorageResolution": 60, "Value": values}
