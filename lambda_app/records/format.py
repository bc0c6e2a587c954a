"""The decision record, format 1: one JSON object per scored applicant, one per line.

The format is versioned (`format`) so that a reader years later (Regulation B keeps records
for 25 months) knows what it holds. Fields are only ever added within a format; renaming
or removing one makes a new format number.
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT: Literal["loan-risk.decision/1"] = "loan-risk.decision/1"
Channel = Literal["api", "batch", "web", "portfolio"]


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    version: str
    model_sha256: str


class ReasonRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature: str
    value: Any
    contribution: float


class ReasonsRecord(BaseModel):
    """The explanation as returned: baseline + every contribution == model_output."""

    model_config = ConfigDict(extra="forbid")

    baseline: float
    model_output: float
    raised: list[ReasonRecord]
    lowered: list[ReasonRecord]
    other: float


class ChallengerRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: ModelRef
    risk_score: float
    risk_band: str


class DecisionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    format: Literal["loan-risk.decision/1"] = "loan-risk.decision/1"
    decision_id: str = Field(description="Stable id, returned to the caller; sorts by time")
    decided_at: str = Field(description="UTC, ISO 8601 with milliseconds")
    channel: Channel
    batch_id: str | None = None
    request_id: str | None = None
    model: ModelRef
    applicant: dict[str, Any] = Field(description="The validated applicant, as scored")
    risk_score: float
    risk_band: str
    percentile: float | None
    reasons: ReasonsRecord | None = None
    challenger: ChallengerRecord | None = None


def new_decision_id() -> str:
    """32 hex digits: milliseconds since the epoch, then 80 random bits, so ids sort by time
    (as UUIDv7 does) and never collide across processes."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def decided_at(decision_id: str) -> str:
    """The time a decision id was made, as the record's `decided_at`."""
    ms = int(decision_id[:12], 16)
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
