"""Chunks handed to a worker through a shared mapping come back as the same tables, however
the slots are reused and grown, and leave no file behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pyarrow as pa
import pytest

from lambda_app.portfolio.handoff import Handed, Handoff, give_back, take


def _table(rows: int, tag: str) -> pa.Table:
    return pa.table({"Age": pa.array([f"{tag}{i}" for i in range(rows)]), "n": pa.array(range(rows), pa.int64())})


def _put(handoff: Handoff, table: pa.Table) -> Handed:
    handed = handoff.put(table)
    assert handed is not None
    return handed


def test_a_handed_table_is_taken_back_whole() -> None:
    with Handoff() as handoff:
        small = _table(3, "a")
        handed = _put(handoff, small)
        assert take(handed).equals(small)


def test_slots_are_reused_and_grow_and_the_reader_sees_the_latest_chunk() -> None:
    with Handoff() as handoff:
        first = _put(handoff, _table(10, "a"))
        assert take(first).equals(_table(10, "a"))  # the reading side has mapped the slot at its first size
        handoff.release(first)
        bigger = _table(200_000, "b")  # past the slot's first size: the file grows, the reader maps it again
        second = _put(handoff, bigger)
        assert second.path == first.path
        assert take(second).equals(bigger)
        handoff.release(second)
        third = _put(handoff, _table(5, "c"))  # shorter again, in the same (longer) file
        assert take(third).equals(_table(5, "c"))


def test_chunks_in_flight_at_once_have_slots_of_their_own() -> None:
    with Handoff() as handoff:
        a, b = _put(handoff, _table(4, "a")), _put(handoff, _table(4, "b"))
        assert a.path != b.path
        assert take(a).equals(_table(4, "a")) and take(b).equals(_table(4, "b"))


def test_the_files_go_when_the_run_ends() -> None:
    with Handoff() as handoff:
        handed = _put(handoff, _table(4, "a"))
        folder = Path(handed.path).parent
        assert folder.is_dir()
    assert not folder.exists()


def test_a_slot_without_room_says_so_instead_of_failing_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full /dev/shm (or disk): no slot, and the caller scores the chunk itself."""

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    monkeypatch.setattr(os, "ftruncate", full)
    with Handoff() as handoff:
        assert handoff.put(_table(4, "a")) is None


def test_results_come_back_in_the_chunks_slot_and_the_slot_is_free_again() -> None:
    with Handoff() as handoff:
        handed = _put(handoff, _table(1_000, "a"))
        take(handed)
        results = pa.table({"risk_score": pa.array([1.5] * 1_000)})
        answer = give_back(handed, results)
        assert answer is not None and answer.path == handed.path
        assert handoff.results(answer).equals(results)
        assert _put(handoff, _table(3, "b")).path == handed.path  # the same slot, reused


def test_results_larger_than_the_chunk_grow_its_slot() -> None:
    """With --explain a chunk's reasons can outweigh its cells: the worker grows the file, and
    the reading side maps it again to read them."""
    with Handoff() as handoff:
        handed = _put(handoff, _table(10, "a"))
        larger = pa.table({"reasons": pa.array(["CreditScore -2.0; Age +1.5" * 20] * 20_000)})
        answer = give_back(handed, larger)
        assert answer is not None and answer.size > Path(handed.path).stat().st_size // 2
        assert handoff.results(answer).equals(larger)


def test_results_with_no_room_to_grow_are_sent_another_way(monkeypatch: pytest.MonkeyPatch) -> None:
    with Handoff() as handoff:
        handed = _put(handoff, _table(10, "a"))

        def full(*_: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
        monkeypatch.setattr(os, "ftruncate", full)
        assert give_back(handed, pa.table({"reasons": pa.array(["x" * 100] * 100_000)})) is None
        handoff.release(handed)
