"""A portfolio file read in chunks: CSV (every cell as text) or Parquet (typed), with the
input's key column (`id` when it has one) and each row's number."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from lambda_app.core.schema import FEATURES

ID = "id"
CHUNK_ROWS = 25_000  # a Parquet batch
CHUNK_BYTES = 4 << 20  # a CSV block: about CHUNK_ROWS rows of this schema
# With reasons a row costs some three hundred times more to score: chunks of a second or less,
# so that the processes share even a small file and the progress line moves.
EXPLAINED_CHUNK_ROWS = CHUNK_ROWS // 16

Format = Literal["csv", "parquet"]


class InputError(ValueError):
    """The file as a whole cannot be scored (one line for the user)."""


@dataclass
class Chunk:
    table: pa.Table  # the schema's columns the file has (and `id`)
    rows: np.ndarray  # each row's number in the file, from 1 (the header is not counted)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # CSV lines that are not rows: number, why


def format_of(path: Path) -> Format:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return "csv"
    with path.open("rb") as f:
        return "parquet" if f.read(4) == b"PAR1" else "csv"


class Source:
    """Open (and check) an input file; `chunks()` streams it."""

    def __init__(self, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        self.path = path
        self.chunk_rows = chunk_rows
        self.block_bytes = CHUNK_BYTES * chunk_rows // CHUNK_ROWS
        self.format = format_of(path)
        self.size = path.stat().st_size
        names = self._parquet_names() if self.format == "parquet" else self._csv_names()
        self.columns = [c for c in FEATURES if c in names]
        if not self.columns:
            raise InputError(
                f"{path.name} has none of the applicant schema's columns ({', '.join(FEATURES[:3])}, ...); "
                "is it the right file?"
            )
        self.missing = [c for c in FEATURES if c not in names]
        self.key = ID if ID in names else "row"
        self.total_rows: int | None = self._parquet.metadata.num_rows if self.format == "parquet" else None
        self._blocks = 0
        self._rows_read = 0

    @property
    def typed(self) -> bool:
        return self.format == "parquet"

    def estimated_rows(self) -> float | None:
        """The file's rows (Parquet: from its metadata; CSV: from the bytes per row so far, as
        each block of `block_bytes` becomes one chunk); None when unknown (a gzipped CSV)."""
        if self.total_rows is not None:
            return float(self.total_rows)
        if self._blocks and self.size and not self.path.name.lower().endswith(".gz"):
            return self._rows_read * self.size / (self._blocks * self.block_bytes)
        return None

    def _parquet_names(self) -> list[str]:
        try:
            self._parquet = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{self.path.name} is not a readable Parquet file ({_first_line(e)})") from None
        return list(self._parquet.schema_arrow.names)

    def _csv_names(self) -> list[str]:
        try:
            header_only = {
                "ReadOptions": pcsv.ReadOptions(block_size=1 << 16, use_threads=False),
                "ParseOptions": pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda _: "skip"),
            }
            with self._open_csv(**header_only) as reader:
                return list(reader.schema.names)
        except (pa.ArrowException, OSError, UnicodeDecodeError) as e:
            raise InputError(f"{self.path.name} is not readable as CSV ({_first_line(e)})") from None

    def _open_csv(self, **options: Any) -> Any:
        # Arrow's own file, not a Python one: given a Python file object, the reader pulls in the
        # whole file ahead of parsing; on its own file it reads a few blocks ahead.
        raw = pa.OSFile(str(self.path))
        stream: Any = raw
        if self.path.name.lower().endswith(".gz"):
            stream = pa.CompressedInputStream(raw, "gzip")
        return _Closing(
            pcsv.open_csv(
                stream,
                read_options=options.get("ReadOptions"),
                parse_options=options.get("ParseOptions"),
                convert_options=options.get("ConvertOptions"),
            ),
            raw,
        )

    def chunks(self) -> Iterator[Chunk]:
        if self.format == "parquet":
            yield from self._parquet_chunks()
        else:
            yield from self._csv_chunks()

    def _parquet_chunks(self) -> Iterator[Chunk]:
        wanted = self.columns + ([ID] if self.key == ID else [])
        start = 1
        try:
            # One thread, as the CSV reader: the other cores are scoring, and decoding a batch's
            # columns on Arrow's pool only adds the hand-offs.
            for batch in self._parquet.iter_batches(batch_size=self.chunk_rows, columns=wanted, use_threads=False):
                n = batch.num_rows
                yield Chunk(pa.Table.from_batches([batch]), np.arange(start, start + n, dtype=np.int64))
                start += n
        except pa.ArrowException as e:
            raise InputError(f"{self.path.name}: cannot read past row {start - 1} ({_first_line(e)})") from None

    def _csv_chunks(self) -> Iterator[Chunk]:
        wanted = self.columns + ([ID] if self.key == ID else [])
        malformed: list[tuple[int, str]] = []

        def skip(row: Any) -> str:
            # row.number counts the header as 1: data row numbers start at 1 on the line after it.
            malformed.append(
                (row.number - 1, f"(row): {row.actual_columns} fields where the header has {row.expected_columns}")
            )
            return "skip"

        options = {
            "ReadOptions": pcsv.ReadOptions(block_size=self.block_bytes, use_threads=False),
            # Every cell as text, as core.batch reads a CSV: validation parses numbers itself. The
            # schema's cells as bytes, which validation reads as UTF-8 only where it has to: a
            # cell that is not UTF-8 fails its row (lambda_app.portfolio.validate), where a
            # string column would stop the file; `id` is copied to the results, so it must be text.
            "ConvertOptions": pcsv.ConvertOptions(
                column_types={c: pa.string() if c == ID else pa.binary() for c in wanted},
                include_columns=wanted,
                strings_can_be_null=False,
            ),
            "ParseOptions": pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
        }
        start = 1
        try:
            with self._open_csv(**options) as reader:
                for batch in reader:
                    # The reader parses a block ahead, so the handler may already have reported
                    # lines of the next batch: a batch's rows are the next numbers not reported.
                    n, k = batch.num_rows, 0
                    while k < len(malformed) and malformed[k][0] < start + n + k:
                        k += 1
                    bad, malformed[:k] = malformed[:k], []
                    numbers = np.arange(start, start + n + k, dtype=np.int64)
                    if bad:
                        numbers = np.setdiff1d(numbers, [b[0] for b in bad], assume_unique=True)
                    self._blocks += 1
                    self._rows_read += n + k
                    yield Chunk(pa.Table.from_batches([batch]), numbers, bad)
                    start += n + k
            if malformed:  # lines after the last row
                empty = pa.table({c: pa.array([], pa.string()) for c in wanted})
                yield Chunk(empty, np.array([], np.int64), list(malformed))
        except (pa.ArrowException, UnicodeDecodeError) as e:
            raise InputError(
                f"{self.path.name}: not readable as CSV after row {start - 1} ({_first_line(e)})"
            ) from None


class _Closing:
    def __init__(self, reader: Any, raw: Any) -> None:
        self.reader, self.raw = reader, raw

    def __enter__(self) -> Any:
        return self.reader

    def __exit__(self, *_: object) -> None:
        self.reader.close()
        self.raw.close()


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
