"""Chunks handed to the worker processes through memory both processes map, not a pipe.

A chunk written down a pipe is copied into a bytes object, pickled, copied into the kernel in
pipe-sized pieces (a context switch each) and out again: most of what handing a chunk over
cost. Here the reading process writes the chunk's Arrow IPC stream once into a file that it
and the worker both map (in /dev/shm where there is one: memory, never written to disk), and
the worker reads the table straight off its own mapping, without a copy. Each file is a slot
reused for chunk after chunk, so its pages are faulted in once per run.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

SHARED_MEMORY = Path("/dev/shm")


@dataclass(frozen=True)
class Handed:
    """Where a chunk is: its slot's file and the length of its stream there."""

    path: str
    size: int


class _Slot:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.capacity = 0
        self.map: mmap.mmap | None = None

    def write(self, table: pa.Table) -> Handed:
        counter = pa.MockOutputStream()
        _write(counter, table)
        size = counter.size()
        if size > self.capacity:
            self._grow(size)
        assert self.map is not None
        _write(pa.FixedSizeBufferWriter(pa.py_buffer(self.map)), table)
        return Handed(str(self.path), size)

    def _grow(self, size: int) -> None:
        # Only ever longer: a worker's mapping of the shorter file stays valid for what it reads.
        capacity = max(size + size // 4, 1 << 20)
        # Space taken now, so that a full /dev/shm (a container's is often small) or disk is an
        # error here rather than a bus error when a page of the mapping is first written.
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(self.fd, 0, capacity)
        else:
            os.ftruncate(self.fd, capacity)
        if self.map is not None:
            self.map.close()
        self.map = mmap.mmap(self.fd, capacity)
        self.capacity = capacity

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
        os.close(self.fd)


class Handoff:
    """The reading process's side: `put` a chunk into a free slot, `release` the slot once its
    results are back (the worker reads a chunk before it scores it, so it is done with it by then).
    `with Handoff() as handoff:`; the files are removed on the way out."""

    def __init__(self) -> None:
        where = SHARED_MEMORY if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK) else None
        self._dir = tempfile.TemporaryDirectory(prefix="loan-risk-score-", dir=where)
        self._free: list[_Slot] = []
        self._busy: dict[str, _Slot] = {}
        self._made = 0

    def put(self, table: pa.Table) -> Handed | None:
        """The chunk in a slot; None when there is no room for it (the caller scores it itself)."""
        if self._free:
            slot = self._free.pop()
        else:
            slot = _Slot(Path(self._dir.name) / f"chunk-{self._made}")
            self._made += 1
        try:
            handed = slot.write(table)
        except OSError:
            self._free.append(slot)
            return None
        self._busy[handed.path] = slot
        return handed

    def release(self, handed: Handed) -> None:
        self._free.append(self._busy.pop(handed.path))

    def __enter__(self) -> Handoff:
        return self

    def __exit__(self, *_: object) -> None:
        for slot in [*self._free, *self._busy.values()]:
            slot.close()
        self._dir.cleanup()


_mapped: dict[str, pa.MemoryMappedFile] = {}


def take(handed: Handed) -> pa.Table:
    """The worker's side: the chunk's table, its buffers views of the shared mapping."""
    file = _mapped.get(handed.path)
    if file is None or file.size() < handed.size:  # a slot seen first, or grown since
        file = _mapped[handed.path] = pa.memory_map(handed.path)
    return pa.ipc.open_stream(file.read_at(handed.size, 0)).read_all()


def _write(sink: pa.NativeFile, table: pa.Table) -> None:
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
