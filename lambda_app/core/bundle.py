"""The model bundle: a directory with the CatBoost model in its own format and a
manifest saying what it is, what it was trained on and how good it is.

Loading verifies the model file's checksum and that the bundle was trained against
this code's applicant schema, so a wrong or damaged bundle never serves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from lambda_app.core.approval import ApprovalIndex
from lambda_app.core.distributions import Reference
from lambda_app.core.model_metrics import Metrics
from lambda_app.core.schema import Applicant

MANIFEST = "manifest.json"
MODEL_FILE = "model.cbm"
FORMAT = 1


class BundleError(RuntimeError):
    """The model bundle cannot be served; the message says what to do."""


class Band(BaseModel):
    name: str
    lower: float | None  # inclusive; None for the first band, open below
    upper: float | None  # exclusive; None for the last band, open above


class DataInfo(BaseModel):
    source: str  # "shared" | "Loan.csv" | "synthetic" | a file name
    file: str
    rows: int
    sha256: str


class CanaryCase(BaseModel):
    """An applicant and the score the bundle gave it when it was made: a deploy's pre-traffic
    check asks the new version the same question and expects the same answer."""

    name: str
    applicant: dict[str, Any]
    risk_score: float


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    format: int = FORMAT
    version: str
    created_at: str
    target: str
    model_file: str = MODEL_FILE
    model_sha256: str
    schema_sha256: str
    features: list[str]
    categorical_features: list[str]
    excluded_features: list[str] = []
    # The fitted approval index (lambda_app.core.approval) when the model uses one; None when the
    # training data had no approval structure (metrics.approval_index says why).
    approval_index: ApprovalIndex | None = None
    data: DataInfo
    metrics: Metrics
    params: dict[str, Any] = {}
    bands: list[Band] = []
    score_range: tuple[float, float]
    score_quantiles: list[float] = []  # percentiles 0..100 of the model's out-of-fold scores on its training data
    typical_applicant: dict[str, Any] = {}  # median / most common value of each field in the training data
    # Bins and shares of the score and the fields that monitoring compares against; None in
    # bundles trained before monitoring existed (they still serve; `loan-risk drift` refuses them).
    reference: Reference | None = None
    # Empty in bundles made before canaries were recorded: the check then only asks for a valid score.
    canary: list[CanaryCase] = []
    library_versions: dict[str, str]
    code_version: str = "unknown"


def schema_sha256() -> str:
    """Fingerprint of the applicant schema the code accepts."""
    doc = json.dumps(Applicant.model_json_schema(), sort_keys=True).encode()
    return hashlib.sha256(doc).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(directory: Path, manifest: Manifest) -> None:
    (directory / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")


def read_manifest(directory: Path) -> Manifest:
    """The bundle's manifest, checked against the model file and this code's schema."""
    hint = "Train one with `make model` (or `python -m training train --out DIR`) or point MODEL_URI at a bundle."
    path = directory / MANIFEST
    if not path.is_file():
        raise BundleError(f"No model bundle at {directory}: {MANIFEST} is missing. {hint}")
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except ValidationError as e:
        raise BundleError(
            f"Model bundle at {directory} has an unreadable {MANIFEST}: {e.errors()[0]['msg']}. {hint}"
        ) from None
    if manifest.format != FORMAT:
        raise BundleError(f"Model bundle format {manifest.format} is not supported (expected {FORMAT}). {hint}")
    model_path = directory / manifest.model_file
    if not model_path.is_file():
        raise BundleError(f"Model bundle at {directory} has no {manifest.model_file}. {hint}")
    if file_sha256(model_path) != manifest.model_sha256:
        raise BundleError(
            f"Model file {model_path} does not match the checksum in its manifest: it is corrupt or was "
            f"altered. Re-copy or re-publish the bundle. {hint}"
        )
    if manifest.schema_sha256 != schema_sha256():
        raise BundleError(
            f"Model bundle {manifest.version} was trained against a different applicant schema than this "
            f"code accepts. Retrain it with this version of the code. {hint}"
        )
    return manifest
