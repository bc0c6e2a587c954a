"""The records metrics as CloudWatch would get them: the EMF documents telemetry.publish() prints."""

from __future__ import annotations

import json

import pytest

from lambda_app import telemetry

NAMES = ("DecisionRecordsLost", "DecisionRecordsWritten", "DecisionRecordsUnavailable")


def published(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    """Counts since the last call, by name (0 for those not published)."""
    capsys.readouterr()
    telemetry.publish()
    totals = dict.fromkeys(NAMES, 0.0)
    for line in capsys.readouterr().out.splitlines():
        doc = json.loads(line)
        for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            if metric["Name"] in totals:
                value = doc[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return totals
