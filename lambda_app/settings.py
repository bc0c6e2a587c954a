"""Every setting of the service, read from the environment in one typed place."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", protected_namespaces=())

    model_uri: str = Field("models/current", description="Bundle directory, or s3://bucket/prefix/version")
    host: str = Field("127.0.0.1", description="Interface the ASGI server binds (0.0.0.0 in containers)")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(0, ge=0, description="ASGI worker processes; 0 means one per CPU")
    root_path: str = Field("", description="Path prefix the service is mounted under, e.g. /prod")
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def cpu_workers() -> int:
    """Workers for the CPUs this process may use (honours container CPU limits via affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
