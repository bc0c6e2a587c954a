"""Reading a labelled applicant CSV, validated row by row against the schema."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lambda_app.core.batch import validate_strings
from lambda_app.core.bundle import DataInfo, file_sha256
from lambda_app.core.schema import FEATURES, TARGET

MAX_REPORTED = 10


class DataError(ValueError):
    """The CSV does not match the applicant schema; the message names rows and columns."""


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame  # the schema's columns in order, plus the target when labelled
    info: DataInfo


def read_applicants(path: Path, labelled: bool = True) -> Dataset:
    """Every row checked: errors name the CSV line and column, never a traceback.
    Columns beyond the schema (the original Loan.csv has derived ones) are ignored."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        needed = [*FEATURES, TARGET] if labelled else list(FEATURES)
        missing = [c for c in needed if c not in header]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        raw = list(reader)
    # The same per-row validation as the API's CSV batches; a row's line is its index + 2
    # (the header is line 1).
    rows = validate_strings({c: r[c] for c in FEATURES} for r in raw)
    records: list[dict[str, object]] = []
    problems: list[str] = []
    for row, text in zip(rows, raw, strict=True):
        line = row.index + 2
        problems += [f"line {line}, column {e.field}: {e.message} (got {text.get(e.field)!r})" for e in row.errors]
        record: dict[str, object] = dict(row.applicant or {})
        if labelled:
            target = _finite(text[TARGET])
            if target is None:
                problems.append(f"line {line}, column {TARGET}: not a finite number (got {text[TARGET]!r})")
            record[TARGET] = target
        if len(problems) >= MAX_REPORTED:
            break
        records.append(record)
    if problems:
        raise DataError(f"{path}: invalid rows (first {len(problems)} problems shown):\n  " + "\n  ".join(problems))
    if not records:
        raise DataError(f"{path}: no data rows")
    frame = pd.DataFrame.from_records(records, columns=needed)
    return Dataset(frame, DataInfo(source=_source(path), file=path.name, rows=len(frame), sha256=file_sha256(path)))


def _finite(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _source(path: Path) -> str:
    """Where the rows came from: the generator leaves a sidecar describing itself."""
    sidecar = path.with_suffix(path.suffix + ".json")
    if sidecar.is_file():
        meta = json.loads(sidecar.read_text())
        return f"synthetic (python -m training synth, seed {meta.get('seed')}, {meta.get('rows')} rows)"
    if path.name == "Loan.csv":
        return "Financial Risk for Loan Approval (original Loan.csv)"
    return f"file {path.name}"
