"""The column-wise validation decides every row exactly as the per-row pydantic validation does."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

from lambda_app.core.batch import validate_records, validate_strings
from lambda_app.core.columns import category_names
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES
from lambda_app.portfolio.validate import error_text, validate_text, validate_typed

# Cells a file could hold: plain numbers, numbers pydantic parses but arrow does not, and junk.
TEXT_CELLS = {
    "Age": [
        "45",
        "045",
        "+45",
        " 45",
        "45 ",
        "4_5",
        "45.0",
        "45.5",
        "1e1",
        "-0",
        "17",
        "18",
        "100",
        "101",
        "",
        "x",
        "0x2d",
        "\uff19",  # a full-width digit nine
    ],
    "CreditCardUtilizationRate": [
        "0.27",
        ".27",
        "1.",
        "1e-1",
        "+0.5",
        "-0.0",
        "-0.01",
        "1",
        "1.0000001",
        "nan",
        "inf",
        "1e400",
        "0.2_7",
        " 0.3",
        "",
        "0,3",
    ],
    "MonthlyLoanPayment": ["730", "730.5", "1E5", "-.5e-3", "100000000", "100000000.1", "Infinity"],
    "LoanAmount": ["0", "1", "1000000000", "1000000001", "99999999999999999999"],
    "EmploymentStatus": ["Employed", "employed", " Employed", "Employed ", "", "Retired"],
    "BankruptcyHistory": ["0", "1", "2", "-1", "true", "0.0"],
}


def _text_rows() -> list[dict[str, str]]:
    base = {k: str(v) for k, v in EXAMPLE_APPLICANT.items()}
    rows = [dict(base)]
    for field, cells in TEXT_CELLS.items():
        for cell in cells:
            rows.append({**base, field: cell})
    rows.append({**base, "Age": "x", "EmploymentStatus": "nope"})  # two errors in one row
    return rows


def _same(fast: Any, slow: list[Any]) -> None:
    assert fast.valid.tolist() == [r.applicant is not None for r in slow]
    assert fast.errors == ["; ".join(f"{e.field}: {e.message}" for e in r.errors) for r in slow]
    accepted = [r.applicant for r in slow if r.applicant is not None]
    for name in FEATURES:
        expected = [a[name] for a in accepted]
        got = category_names(name, fast.fields[name]).tolist()
        assert [float(x) if not isinstance(x, str) else x for x in got] == [
            float(x) if not isinstance(x, str) else x for x in expected
        ], name


@pytest.mark.parametrize("kind", [pa.string(), pa.binary()], ids=["string", "bytes"])
def test_text_cells_get_pydantics_decisions_errors_and_values(kind: pa.DataType) -> None:
    rows = _text_rows()
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()).cast(kind) for name in FEATURES})
    fast = validate_text(table)
    slow = validate_strings(rows)
    _same(fast, slow)
    assert 0 < fast.count < len(rows)  # the corpus has both kinds
    assert fast.errors[-1].count(";") == 1  # both of the last row's errors, in one cell


def test_a_missing_column_fails_every_row_with_pydantics_words() -> None:
    rows = [{k: str(v) for k, v in EXAMPLE_APPLICANT.items() if k != "Age"}] * 3
    table = pa.table({name: pa.array([r[name] for r in rows]) for name in FEATURES if name != "Age"})
    fast = validate_text(table)
    assert fast.count == 0
    assert fast.errors == ["Age: Field required"] * 3


def test_typed_values_get_validate_records_decisions() -> None:
    base = dict(EXAMPLE_APPLICANT)
    variants: list[dict[str, Any]] = [
        base,
        {**base, "Age": 45.0},  # a whole float is an integer
        {**base, "Age": 45.5},
        {**base, "Age": None},
        {**base, "Age": 17},
        {**base, "CreditCardUtilizationRate": 1},  # an int is a float
        {**base, "CreditCardUtilizationRate": math.nan},
        {**base, "CreditCardUtilizationRate": 1.5},
        {**base, "EmploymentStatus": "employed"},
        {**base, "EmploymentStatus": None},
    ]
    columns: dict[str, pa.Array] = {}
    for name in FEATURES:
        values = [v[name] for v in variants]
        if name == "Age":
            columns[name] = pa.array(values, pa.float64())  # one float column for the whole file, as Parquet has it
        elif name == "CreditCardUtilizationRate":
            columns[name] = pa.array([float(x) for x in values], pa.float64())
        else:
            columns[name] = pa.array(values)
    table = pa.table(columns)
    _same(validate_typed(table), validate_records(table.to_pylist()))

    ints = pa.table({**columns, "Age": pa.array([45, 17, 101, None, 45, 45, 45, 45, 45, 45], pa.int64())})
    _same(validate_typed(ints), validate_records(ints.to_pylist()))
    # Parquet's dictionary-encoded strings, "employed" and a null among them
    encoded = pa.table({**columns, "EmploymentStatus": columns["EmploymentStatus"].dictionary_encode()})
    _same(validate_typed(encoded), validate_records(table.to_pylist()))
    strings = pa.table({**columns, "Age": pa.array(["45"] * 10)})  # text in a typed file: strict says no
    fast = validate_typed(strings)
    assert fast.count == 0
    _same(fast, validate_records(strings.to_pylist()))


def test_error_text_is_the_batch_csv_wording() -> None:
    rows = validate_strings([{**{k: str(v) for k, v in EXAMPLE_APPLICANT.items()}, "Age": "x"}])
    from pydantic import ValidationError

    from lambda_app.core.schema import Applicant

    try:
        Applicant.model_validate_strings({**{k: str(v) for k, v in EXAMPLE_APPLICANT.items()}, "Age": "x"})
    except ValidationError as e:
        assert error_text(e) == "; ".join(f"{x.field}: {x.message}" for x in rows[0].errors)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NUMBERISH = st.text(alphabet="0123456789+-.eE_ xXinfatyp\u0660", min_size=0, max_size=8)


@settings(max_examples=1000, deadline=None)
@given(age=NUMBERISH, rate=NUMBERISH, payment=NUMBERISH)
def test_any_numberish_text_gets_pydantics_decision(age: str, rate: str, payment: str) -> None:
    base = {k: str(v) for k, v in EXAMPLE_APPLICANT.items()}
    rows = [{**base, "Age": age}, {**base, "CreditCardUtilizationRate": rate}, {**base, "MonthlyLoanPayment": payment}]
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in FEATURES})
    _same(validate_text(table), validate_strings(rows))


def test_a_form_only_arrow_reads_is_left_to_pydantic() -> None:
    """Arrow parses "0x12" as the integer 18; pydantic refuses it. Alone in its column (no other
    odd cell to send the column down the careful path) it must still be refused."""
    base = {k: str(v) for k, v in EXAMPLE_APPLICANT.items()}
    rows = [{**base, "Age": "0x12"}, base]
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in FEATURES})
    fast = validate_text(table)
    assert fast.valid.tolist() == [False, True]
    _same(fast, validate_strings(rows))


# Mostly bare digits (a column of them takes the byte-wise check), now and then a point.
DIGITS = st.text(alphabet="00112233445566778899.", min_size=0, max_size=18)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(DIGITS, min_size=1, max_size=6), skip=st.integers(0, 2), split=st.integers(0, 6))
def test_columns_of_bare_digits_get_pydantics_decision(cells: list[str], skip: int, split: int) -> None:
    """A column of digits only is checked off its bytes: empty cells, leading zeros, 16 digits and
    more, out of range; also when the column is a slice of a longer one (whose other bytes are
    not looked at), or comes in pieces."""
    base = {k: str(v) for k, v in EXAMPLE_APPLICANT.items()}
    rows = [{**base, "Age": c, "LoanAmount": c, "BankruptcyHistory": c} for c in cells]

    def column(values: list[str]) -> pa.ChunkedArray:
        whole = pa.array(["1234"] * skip + values, pa.string()).slice(skip)
        k = min(split, len(values))
        return pa.chunked_array([whole.slice(0, k), whole.slice(k)], pa.string())

    table = pa.table({name: column([r[name] for r in rows]) for name in FEATURES})
    _same(validate_text(table), validate_strings(rows))
