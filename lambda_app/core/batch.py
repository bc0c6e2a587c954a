"""Batches of applicants: per-row validation, CSV in and out.

A batch is not all-or-nothing: every row is validated on its own, valid rows are scored,
and each invalid row is reported by its index with the fields at fault, so one typo does
not block a thousand applications. Callers that need all-or-nothing check `failed`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

from annotated_types import Len
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from lambda_app.core.schema import FEATURES, Applicant, ApplicantRecord


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a batch
# makes a thousand of each.
@dataclass(slots=True)
class Row:
    """One batch row: a validated applicant, or what is wrong with it."""

    index: int
    applicant: dict[str, Any] | None
    errors: tuple[FieldError, ...] = ()


@dataclass(slots=True)
class Scored:
    index: int
    risk_score: float | None = None
    risk_band: str | None = None
    errors: tuple[FieldError, ...] = field(default_factory=tuple)
    decision_id: str | None = None  # when decision records are kept


class CsvError(ValueError):
    """The CSV as a whole is unusable (not text, no header, missing columns)."""


class TooManyRows(CsvError):
    """More applicants than one batch may hold."""


def field_errors(e: ValidationError) -> tuple[FieldError, ...]:
    return tuple(FieldError(".".join(str(p) for p in err["loc"]) or "(row)", err["msg"]) for err in e.errors())


_ALL_VALID = TypeAdapter(list[Applicant])


@lru_cache
def _document(max_rows: int) -> type[BaseModel]:
    return create_model(
        "BatchDocument",
        __config__=ConfigDict(strict=True, extra="forbid"),
        applicants=(Annotated[list[ApplicantRecord], Len(1, max_rows)], ...),
    )


def validate_json_document(body: bytes, max_rows: int) -> list[Row] | None:
    """A JSON batch whose every applicant is valid, parsed and validated in one pass of
    pydantic-core (no models to build and dump: benchmarks/batch_http.py); None for
    anything else, which the caller then takes apart row by row to say what is wrong.

    JSON mode is stricter than the Python-mode validation of `validate_records` in one way:
    a whole number written as a float (51.0) fails here and is then accepted there, so a
    batch gets the same rows and scores whichever path answers it."""
    try:
        applicants = _document(max_rows).model_validate_json(body).applicants  # type: ignore[attr-defined]
    except ValidationError:
        return None
    return [Row(i, applicant) for i, applicant in enumerate(applicants)]


def validate_records(records: Sequence[Any]) -> list[Row]:
    """JSON records, each validated strictly on its own."""
    try:
        # The common case, a batch with nothing wrong, in one pass of pydantic-core.
        valid = _ALL_VALID.dump_python(_ALL_VALID.validate_python(records))
        return [Row(i, applicant) for i, applicant in enumerate(valid)]
    except ValidationError:
        pass  # some record is invalid: validate each on its own, to say which and why
    rows = []
    for i, record in enumerate(records):
        try:
            rows.append(Row(i, Applicant.model_validate(record).model_dump()))
        except ValidationError as e:
            rows.append(Row(i, None, field_errors(e)))
    return rows


def validate_strings(records: Iterable[Mapping[str, str]]) -> list[Row]:
    """Text records (CSV, form posts): numbers are parsed from their text, nothing else coerced."""
    rows = []
    for i, record in enumerate(records):
        try:
            rows.append(Row(i, Applicant.model_validate_strings(dict(record)).model_dump()))
        except ValidationError as e:
            rows.append(Row(i, None, field_errors(e)))
    return rows


def read_csv(data: bytes, max_rows: int) -> list[Row]:
    """Rows of a CSV with (at least) the schema's columns; other columns are ignored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in FEATURES if c not in header]
        if not header or missing:
            raise CsvError(f"missing column(s): {', '.join(missing)}")
        records: list[dict[str, str]] = []
        for record in reader:
            if len(records) == max_rows:
                raise TooManyRows(f"more than {max_rows} applicants; split the file")
            records.append({c: record[c] if record[c] is not None else "" for c in FEATURES})
    except csv.Error as e:  # e.g. a field over the csv module's size limit: the file's fault, not ours
        raise CsvError(f"not readable as CSV after line {reader.line_num} ({e})") from None
    return validate_strings(records)


def write_csv(results: Sequence[Scored]) -> str:
    """Scored rows as CSV: index, score, band, and the errors of rows that failed; the
    decision ids too when the service keeps decision records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    ids = any(r.decision_id for r in results)
    writer.writerow(["index", "risk_score", "risk_band", "errors", *(["decision_id"] if ids else [])])
    for r in results:
        errors = "; ".join(f"{e.field}: {e.message}" for e in r.errors)
        row = [r.index, "" if r.risk_score is None else r.risk_score, r.risk_band or "", errors]
        writer.writerow([*row, r.decision_id or ""] if ids else row)
    return buffer.getvalue()
