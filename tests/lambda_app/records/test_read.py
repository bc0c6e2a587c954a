"""Reading records back: partitions, gzip, a torn tail skipped, damage reported."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from lambda_app.records.read import RecordsError, iter_records


def write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body) if path.name.endswith(".gz") else body)


def test_days_outside_the_range_are_skipped_and_gzip_is_read(tmp_path: Path) -> None:
    write(tmp_path / "dt=2026-11-30" / "a.jsonl", b'{"n": 1}\n')
    write(tmp_path / "dt=2026-12-01" / "b.jsonl.gz", b'{"n": 2}\n{"n": 3}\n')
    write(tmp_path / "dt=2026-12-02" / "c.jsonl", b'{"n": 4}\n')
    assert [r["n"] for r in iter_records(str(tmp_path))] == [1, 2, 3, 4]
    got = iter_records(str(tmp_path), since=date(2026, 12, 1), until=date(2026, 12, 1))
    assert [r["n"] for r in got] == [2, 3]


def test_a_torn_last_line_is_skipped_but_damage_elsewhere_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "dt=2026-12-02" / "a.jsonl", b'{"n": 1}\n{"n": 2}\n{"n": 3, "appl')
    assert [r["n"] for r in iter_records(str(tmp_path))] == [1, 2]
    write(tmp_path / "dt=2026-12-02" / "a.jsonl", b'{"n": 1}\n{"n": 2, "appl\n{"n": 3}\n')
    with pytest.raises(RecordsError, match="line 2: not a JSON record"):
        list(iter_records(str(tmp_path)))


def test_nothing_there_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match="no such file or directory"):
        list(iter_records(str(tmp_path / "missing")))
