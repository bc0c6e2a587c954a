"""Every setting of the service, read from the environment in one typed place."""

from __future__ import annotations

import os
from functools import cached_property, lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Eight requests in flight keep one worker's core busy: its scores are batched by the coalescer
# (lambda_app.core.coalesce) while the next ones are parsed, so eight concurrent clients per
# worker reach the service's full throughput. Four times that absorbs bursts and an uneven
# spread of connections across workers, and queues at most 32 requests' work (a few
# milliseconds of plain scores) in front of any accepted one; anything beyond it would only
# wait, so it is shed.
IN_FLIGHT_PER_CPU = 32

# Relative to the working directory: the checkout in development, the task root (/var/task) in
# the Lambda image, which links it to the baked bundle.
DEFAULT_MODEL_URI = "models/current"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", protected_namespaces=())

    model_uri: str = Field(
        DEFAULT_MODEL_URI, description="Bundle directory, or s3://bucket/prefix/version; empty means the default"
    )
    model_cache_dir: str = Field("/tmp/model-cache", description="Where bundles fetched from S3 are kept")
    host: str = Field("127.0.0.1", description="Interface the ASGI server binds (0.0.0.0 in containers)")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(0, ge=0, description="ASGI worker processes; 0 means one per CPU")
    root_path: str = Field("", description="Path prefix the service is mounted under, e.g. /prod")
    log_level: str = "INFO"
    # Lambda's synchronous payload limit is 6 MB for the whole event; 5 MB of body leaves room for
    # the envelope. 1,000 applicants take about 1 MB of JSON.
    max_body_bytes: int = Field(5_000_000, ge=1024)
    max_batch_rows: int = Field(1000, ge=1)
    max_reasons: int = Field(4, ge=1, le=28, description="Reason codes shown each way by default")
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated keys accepted in X-API-Key for /v1/*; empty turns the check off "
        "(e.g. when API Gateway enforces its own keys)",
    )
    metrics_interval_s: float = Field(
        1.0,
        gt=0,
        description="How often a server worker writes its metrics (CloudWatch EMF); Lambda writes per invocation",
    )
    request_timeout_s: float = Field(30.0, gt=0, description="Longest a request may take, body included")
    decision_records: Literal["off", "best-effort", "required"] = Field(
        "off",
        description="Keep a decision record of every applicant scored: required (no score without its record), "
        "best-effort (buffered, losses counted in DecisionRecordsLost) or off",
    )
    decision_sink: str = Field(
        "decisions",
        description="Where decision records go: a local directory, firehose://STREAM or s3://BUCKET/PREFIX",
    )
    decision_flush_interval_s: float = Field(
        1.0, gt=0, description="How often a server writes buffered records (best-effort); Lambda writes per invocation"
    )
    decision_buffer_max: int = Field(
        10_000,
        ge=1,
        description="Records buffered at most (best-effort); beyond it the oldest are dropped and counted lost",
    )
    challenger_model_uri: str = Field(
        "",
        description="A second bundle scored in shadow beside MODEL_URI (its score goes into the decision "
        "record and the challenger metrics, never into the answer); empty for none",
    )
    coalesce_max_rows: int = Field(
        64, ge=1, le=10_000, description="Most concurrent single scores (or explanations) one model call takes"
    )
    max_in_flight: int = Field(
        0,
        ge=0,
        description="Requests one server worker handles at once, in places (a plain score takes one, an "
        "explained score two); more are answered 503 at once (lambda_app.runtime.shed). 0 derives it from "
        "the CPUs and workers (in_flight_limit)",
    )
    # Monitoring (lambda_app.monitoring): the page shows a report; the scheduled job makes them.
    monitoring_report_dir: str = Field(
        "",
        description="Directory (or s3://bucket/prefix) holding the latest stability report (report.json, from "
        "`loan-risk drift --out` or the scheduled job) "
        "that the /monitoring page shows; empty: the page says none is available",
    )
    monitoring_records_uri: str = Field(
        "", description="Scheduled job: decision records it reads (s3://bucket/prefix or a directory)"
    )
    monitoring_report_uri: str = Field(
        "", description="Scheduled job: where it writes reports (s3://bucket/prefix or a directory)"
    )
    monitoring_period_days: int = Field(1, ge=1, le=366, description="Scheduled job: days of records per report")
    monitoring_namespace: str = Field("LoanRisk/Monitoring", description="Scheduled job: CloudWatch metrics namespace")
    pre_traffic_target: str = Field(
        "",
        description="The function version a CodeDeploy pre-traffic hook asks the canary questions "
        "(lambda_app.runtime.pre_traffic; set by the template)",
    )

    @field_validator("model_uri", mode="before")
    @classmethod
    def _empty_model_uri_is_the_default(cls, value: object) -> object:
        # SAM local passes a template's `!If [cond, value, AWS::NoValue]` as an empty variable,
        # which would otherwise name the working directory.
        if isinstance(value, str) and not value.strip():
            return DEFAULT_MODEL_URI
        return value

    def in_flight_limit(self) -> int:
        """MAX_IN_FLIGHT, or IN_FLIGHT_PER_CPU for each CPU this worker has: the CPUs shared
        among the workers."""
        if self.max_in_flight:
            return self.max_in_flight
        cpus = cpu_workers()
        return max(1, -(-IN_FLIGHT_PER_CPU * cpus // (self.workers or cpus)))

    @cached_property
    def api_key_bytes(self) -> tuple[bytes, ...]:
        """The keys as the bytes an X-API-Key header carries."""
        keys = (k.strip() for k in self.api_keys.get_secret_value().split(","))
        return tuple(k.encode() for k in keys if k)


class SettingsError(ValueError):
    """An environment variable the service cannot use; the message names it and says why."""


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        problems = "; ".join(
            f"{'_'.join(str(p) for p in err['loc']).upper()}={err.get('input')!r}: {err['msg']}" for err in e.errors()
        )
        raise SettingsError(f"unusable setting {problems}. Fix the environment variable or unset it.") from None


def cpu_workers() -> int:
    """Workers for the CPUs this process may use (honours container CPU limits via affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
