"""The results file, written chunk by chunk beside its final name and put in place only when
complete: an interrupted run never leaves a truncated file that looks finished, and running
the same command again starts over (safe re-run; there is no resume)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from lambda_app.portfolio import storage

PARTIAL = ".partial"


def output_format(name: str) -> str:
    return "parquet" if name.lower().endswith((".parquet", ".pq")) else "csv"


class Sink:
    """`with Sink(out) as sink: sink.write(table)`; on a clean exit the file is complete at `out`
    (a local path, or an s3:// URI uploaded at the end), on an error nothing is left but the
    staging file, which the next run replaces."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.format = output_format(storage.name_of(out) if storage.is_s3(out) else out)
        if storage.is_s3(out):
            storage.check_writable(out)
            self._tmp: Any = tempfile.TemporaryDirectory(prefix="loan-risk-score-")
            self.partial = Path(self._tmp.name) / (storage.name_of(out) + PARTIAL)
        else:
            self._tmp = None
            target = Path(out)
            if not target.parent.is_dir():
                raise storage.StorageError(f"cannot write {out}: no such directory {target.parent}")
            self.partial = target.with_name(target.name + PARTIAL)
        self._writer: Any = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.partial, table.schema)
            else:
                options = pcsv.WriteOptions(quoting_style="needed")
                self._writer = pcsv.CSVWriter(self.partial, table.schema, write_options=options)
        self._writer.write_table(table)

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if kind is None:
                self._commit()
            else:
                with contextlib.suppress(OSError):
                    self.partial.unlink()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    def _commit(self) -> None:
        if self._writer is None:  # nothing was written (an empty input): still a file with its header
            raise RuntimeError("no results were written")
        if storage.is_s3(self.out):
            storage.upload(self.partial, self.out)
        else:
            os.replace(self.partial, self.out)  # atomic on one file system
