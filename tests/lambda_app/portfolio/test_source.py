"""A portfolio file streams in chunks of about the size asked for, every row numbered once."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from lambda_app.portfolio.source import Source
from tests.lambda_app.portfolio.conftest import ROWS


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_chunks_are_about_the_size_asked_for_and_number_every_row(
    kind: str, portfolio_csv: Path, tmp_path: Path
) -> None:
    path = portfolio_csv
    if kind == "parquet":
        path = tmp_path / "book.parquet"
        table = pcsv.read_csv(portfolio_csv, parse_options=pcsv.ParseOptions(invalid_row_handler=lambda _: "skip"))
        pq.write_table(table, path)
    chunks = list(Source(path, chunk_rows=100).chunks())
    sizes = [len(c.rows) for c in chunks]
    assert 10 <= len(chunks) <= 25 and max(sizes) <= 200  # CSV blocks go by bytes: about 100 rows each
    numbers = sorted([int(n) for c in chunks for n in c.rows] + [m[0] for c in chunks for m in c.malformed])
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == ROWS + (kind == "csv")
