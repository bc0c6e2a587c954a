"""Chunks handed to the worker processes, and their results handed back, through memory both
processes map, not a pipe.

A chunk written down a pipe is copied into a bytes object, pickled, copied into the kernel in
pipe-sized pieces (a context switch each) and out again: most of what handing a chunk over
cost. Here the reading process writes the chunk's Arrow IPC stream once into a file that it
and the worker both map (in /dev/shm where there is one: memory, never written to disk), and
the worker reads the table straight off its own mapping, without a copy. The worker then
writes the results over the chunk in the same file and only says where they are: results
sent down a pipe would keep the worker waiting until the reading process, busy with a chunk of
its own, came to read them. Each file is a slot reused for chunk after chunk, so its pages are
faulted in once per run.
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
        size = _size(table)
        if size > self.capacity:
            self._grow(size)
        assert self.map is not None
        _write(pa.FixedSizeBufferWriter(pa.py_buffer(self.map)), table)
        return Handed(str(self.path), size)

    def read(self, size: int) -> pa.Table:
        """A copy of the table at the start of the slot (the worker may have grown the file for it)."""
        if size > self.capacity:
            self._map(os.fstat(self.fd).st_size)
        assert self.map is not None
        return pa.ipc.open_stream(pa.py_buffer(self.map[:size])).read_all()

    def _grow(self, size: int) -> None:
        capacity = max(size + size // 4, 1 << 20)
        _reserve(self.fd, capacity)
        self._map(capacity)

    def _map(self, capacity: int) -> None:
        if self.map is not None:
            self.map.close()
        self.map = mmap.mmap(self.fd, capacity)
        self.capacity = capacity

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
        os.close(self.fd)


class Handoff:
    """The reading process's side: `put` a chunk into a free slot; `results` reads back what the
    worker wrote there and frees the slot, `release` frees it when the results came some other
    way. `with Handoff() as handoff:`; the files are removed on the way out."""

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

    def results(self, handed: Handed) -> pa.Table:
        """The results the worker wrote in the chunk's slot; the slot is free again."""
        slot = self._busy.pop(handed.path)
        self._free.append(slot)
        return slot.read(handed.size)

    def release(self, handed: Handed) -> None:
        """The slot is free again (its chunk's results came back some other way)."""
        self._free.append(self._busy.pop(handed.path))

    def __enter__(self) -> Handoff:
        return self

    def __exit__(self, *_: object) -> None:
        for slot in [*self._free, *self._busy.values()]:
            slot.close()
        self._dir.cleanup()


_mapped: dict[str, pa.MemoryMappedFile] = {}


def take(handed: Handed) -> pa.Table:
    """The worker's side: the chunk's table, its buffers views of the shared mapping (until
    `give_back` writes over them)."""
    file = _mapping(handed.path, handed.size)
    file.seek(0)
    return pa.ipc.open_stream(file.read_buffer(handed.size)).read_all()  # read_at would copy it into bytes


def give_back(handed: Handed, table: pa.Table) -> Handed | None:
    """The worker's side: the results written over the chunk in its slot, which grows if they
    need more room; None when it cannot (the caller sends them some other way)."""
    size = _size(table)
    file = _mapped.get(handed.path)
    if file is None or file.size() < size:
        try:
            fd = os.open(handed.path, os.O_RDWR)
            try:
                _reserve(fd, size)
            finally:
                os.close(fd)
        except OSError:
            return None
        file = _mapping(handed.path, size)
    file.seek(0)
    _write(file, table)
    return Handed(handed.path, size)


def _mapping(path: str, size: int) -> pa.MemoryMappedFile:
    file = _mapped.get(path)
    if file is None or file.size() < size:  # a slot seen first, or grown since
        file = _mapped[path] = pa.memory_map(path, "r+")
    return file


def _reserve(fd: int, size: int) -> None:
    """The file at least `size` long (never shorter: a mapping of it in the other process stays
    valid), its space taken now, so that a full /dev/shm (a container's is often small) or disk
    is an error here rather than a bus error when a page of a mapping is first written."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    elif os.fstat(fd).st_size < size:
        os.ftruncate(fd, size)


def _size(table: pa.Table) -> int:
    counter = pa.MockOutputStream()
    _write(counter, table)
    return int(counter.size())


def _write(sink: pa.NativeFile, table: pa.Table) -> None:
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
