"""Chunks handed to a worker through a shared mapping come back as the same tables, however
the slots are reused and grown, and leave no file behind."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lambda_app.portfolio.handoff import Handoff, take


def _table(rows: int, tag: str) -> pa.Table:
    return pa.table({"Age": pa.array([f"{tag}{i}" for i in range(rows)]), "n": pa.array(range(rows), pa.int64())})


def test_a_handed_table_is_taken_back_whole() -> None:
    with Handoff() as handoff:
        small = _table(3, "a")
        handed = handoff.put(small)
        assert take(handed).equals(small)


def test_slots_are_reused_and_grow_and_the_reader_sees_the_latest_chunk() -> None:
    with Handoff() as handoff:
        first = handoff.put(_table(10, "a"))
        assert take(first).equals(_table(10, "a"))  # the reading side has mapped the slot at its first size
        handoff.release(first)
        bigger = _table(200_000, "b")  # past the slot's first size: the file grows, the reader maps it again
        second = handoff.put(bigger)
        assert second.path == first.path
        assert take(second).equals(bigger)
        handoff.release(second)
        third = handoff.put(_table(5, "c"))  # shorter again, in the same (longer) file
        assert take(third).equals(_table(5, "c"))


def test_chunks_in_flight_at_once_have_slots_of_their_own() -> None:
    with Handoff() as handoff:
        a, b = handoff.put(_table(4, "a")), handoff.put(_table(4, "b"))
        assert a.path != b.path
        assert take(a).equals(_table(4, "a")) and take(b).equals(_table(4, "b"))


def test_the_files_go_when_the_run_ends() -> None:
    with Handoff() as handoff:
        handed = handoff.put(_table(4, "a"))
        folder = Path(handed.path).parent
        assert folder.is_dir()
    assert not folder.exists()
