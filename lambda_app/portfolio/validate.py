"""Validation of a chunk of applicants column by column, with the schema's own rules.

The rules come from lambda_app.core.schema (each FieldSpec's kind, range and categories).
A value the fast path accepts is one pydantic accepts too, with the same value: a canonical
number in range, or an exact category name. Every row the fast path does not accept goes
through pydantic itself (`Applicant.model_validate_strings` for text, as
core.batch.validate_strings does; `Applicant.model_validate` for typed values, as
validate_records does), which either accepts it (say " 45" or "4_5", which pydantic parses
and the fast path leaves alone) or words its errors. So the accept/reject decisions are
pydantic's on every row; the fast path only saves asking it about the rows that are clearly fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from lambda_app.core.batch import field_errors
from lambda_app.core.schema import FIELDS, SPECS, Applicant, FieldSpec


@dataclass
class Validated:
    """One chunk: which rows are valid, their fields as columns (the valid rows only, in
    order: float64 numbers, categories as codes, lambda_app.core.columns) and each row's errors."""

    valid: np.ndarray  # bool, one per row of the chunk
    fields: dict[str, np.ndarray]
    errors: list[str]  # "" for a valid row

    @property
    def count(self) -> int:
        return int(self.valid.sum())


def _decoded(record: dict[str, Any]) -> dict[str, Any]:
    """The cells as text. Bytes that are not UTF-8 are not a number or a category name either:
    a cell pydantic refuses, with its own words."""
    return {k: v.decode(errors="replace") if isinstance(v, bytes) else v for k, v in record.items()}


def error_text(e: ValidationError) -> str:
    """A row's errors in one cell, as core.batch.write_csv words them."""
    return "; ".join(f"{x.field}: {x.message}" for x in field_errors(e))


def validate_text(table: pa.Table) -> Validated:
    """Rows of text (a CSV's cells, every column a string, or bytes read as UTF-8):
    core.batch.validate_strings' decisions. A cell of bytes that is not UTF-8 fails its row."""
    return _validate(table, _text_field, lambda record: Applicant.model_validate_strings(_decoded(record)))


def validate_typed(table: pa.Table) -> Validated:
    """Rows of typed values (Parquet): core.batch.validate_records' decisions."""
    return _validate(table, _typed_field, lambda record: Applicant.model_validate(record))


def _validate(table: pa.Table, check: Any, slow: Any) -> Validated:
    n = table.num_rows
    ok = np.ones(n, dtype=bool)
    values: dict[str, np.ndarray] = {}
    present = set(table.column_names)
    for spec in FIELDS:
        if spec.name not in present:
            ok[:] = False
            values[spec.name] = np.zeros(n, dtype=np.int32 if spec.kind == "category" else np.float64)
            continue
        field_ok, values[spec.name] = check(spec, table.column(spec.name))
        ok &= field_ok
    errors = [""] * n
    valid = ok.copy()
    columns = [c for c in table.column_names if c in values]
    odd = np.flatnonzero(~ok).tolist()
    if odd:  # Arrow hands out read-only views; rows pydantic accepts are written into the columns
        values = {name: v if v.flags.writeable else v.copy() for name, v in values.items()}
    for i in odd:
        record = {c: table.column(c)[i].as_py() for c in columns}
        try:
            applicant = slow(record).model_dump()
        except ValidationError as e:
            errors[i] = error_text(e)
            continue
        valid[i] = True
        for name, value in applicant.items():
            values[name][i] = SPECS[name].choices.index(value) if SPECS[name].choices else value
    if valid.all():  # the usual chunk: the columns as they are, no copy
        return Validated(valid, values, errors)
    return Validated(valid, {name: column[valid] for name, column in values.items()}, errors)


_NUMPY_TYPES = {pa.float64(): np.float64, pa.int32(): np.int32, pa.int64(): np.int64}


def _numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """As a numpy array (nulls as zeros), read off its buffer: Array.to_numpy goes through
    pyarrow's pandas conversion, which imports pandas (lambda_app.portfolio.worker.without_pandas)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if values.null_count:
        values = pc.fill_null(values, False if pa.types.is_boolean(values.type) else pa.scalar(0, values.type))
    start, n = values.offset, len(values)
    data = values.buffers()[1]
    if pa.types.is_boolean(values.type):  # bits, least significant first
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little") if n else np.zeros(0, np.uint8)
        return bits[start : start + n].view(bool)
    kind = _NUMPY_TYPES[values.type]
    return np.frombuffer(data, dtype=kind)[start : start + n] if n else np.zeros(0, dtype=kind)


def _in_range(spec: FieldSpec, x: np.ndarray) -> np.ndarray:
    ok: np.ndarray = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            ok &= x >= spec.minimum
        if spec.maximum is not None:
            ok &= x <= spec.maximum
    return ok


def _categories(spec: FieldSpec, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    # Exact names only, as pydantic's Literal takes them; a name's code is its place in the choices.
    choices = pa.array(spec.choices, pa.string())
    if pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type):
        # Parquet's dictionary-encoded strings: each distinct name looked up once.
        looked_up = [pc.index_in(part.dictionary, value_set=choices).take(part.indices) for part in column.chunks]
        column = pa.chunked_array(looked_up, pa.int32())
        ok = _numpy(column.is_valid())
        return ok, _numpy(pc.fill_null(column, 0))
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not _is_text(column.type):
        return np.zeros(len(column), dtype=bool), np.zeros(len(column), dtype=np.int32)
    codes = pc.index_in(column, value_set=choices.cast(column.type))
    ok = _numpy(codes.is_valid())
    return ok, _numpy(pc.fill_null(codes, 0))


DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DIGITS = r"^[0-9]{1,15}$"


def _text_field(spec: FieldSpec, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    if spec.kind == "category":
        return _categories(spec, column)
    if spec.kind == "int":
        # 1 to 15 ASCII digits only: arrow's integer parsing also reads hex ("0x12"), which
        # pydantic refuses. A sign, spaces or "45.0" (which pydantic reads) are left to pydantic.
        # Such digits are read exactly as a double too.
        digits = _digits(column)
        ok = digits if digits is not None else _numpy(pc.fill_null(pc.match_substring_regex(column, DIGITS), False))
    else:
        try:  # arrow reads a subset of pydantic's decimals (no spaces, no "_"), to the same double
            parsed = pc.cast(column, pa.float64())
            ok = ~_numpy(parsed.is_null())
        except pa.ArrowInvalid:  # some cell is not a plain decimal: find which
            ok = _numpy(pc.fill_null(pc.match_substring_regex(column, DECIMAL), False))
    try:
        if spec.kind == "int" or not ok.all():
            # Plain digits read as integers (cheaper than as doubles, and exact either way).
            kind = pa.int64() if spec.kind == "int" else pa.float64()
            plain = column if ok.all() else pc.if_else(pa.array(ok), column, pa.scalar("0").cast(column.type))
            parsed = pc.cast(plain, kind)
    except pa.ArrowInvalid:  # a plain number arrow still will not read: leave the column to pydantic
        return np.zeros(len(column), dtype=bool), np.zeros(len(column), dtype=np.float64)
    x = np.asarray(_numpy(parsed), dtype=np.float64)
    return ok & _in_range(spec, x), x


def _digits(column: pa.ChunkedArray) -> np.ndarray | None:
    """Which cells are 1 to 15 ASCII digits, read off the column's bytes in one pass when every
    byte is a digit (a column of whole numbers, the usual case); None otherwise."""
    parts = []
    for chunk in column.chunks:
        if chunk.type not in (pa.string(), pa.binary()) or chunk.null_count:
            return None
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        if data_buffer is not None and len(offsets):
            text = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
            if (text - np.uint8(ord("0")) > 9).any():  # uint8: bytes below "0" wrap round to large
                return None
        lengths = np.diff(offsets)
        parts.append((lengths >= 1) & (lengths <= 15))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind))


def _typed_field(spec: FieldSpec, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    if spec.kind == "category":
        return _categories(spec, column)
    kind = column.type
    n = len(column)
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):  # strings, booleans, ...: pydantic decides
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=np.float64)
    present = ~_numpy(column.is_null())
    x = _numpy(pc.fill_null(column, 0).cast(pa.float64(), safe=False))
    ok = present & _in_range(spec, x)
    if spec.kind == "int" and pa.types.is_floating(kind):
        ok &= np.floor(x) == x  # a whole float is an integer (schema.WholeNumber)
    return ok, x
