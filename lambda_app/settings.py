"""Every setting of the service, read from the environment in one typed place."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()


def cpu_workers() -> int:
    """Workers for the CPUs this process may use (honours container CPU limits via affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
