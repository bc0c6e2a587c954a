"""How the processes of `loan-risk score` are set up: for a run that streams a large file
through a few big buffers per chunk, not for a long-lived server.

Imports nothing heavy itself: `lean_start_up` has to run before numpy and pyarrow load.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# Read once, when each library loads; a variable the user has set is left as it is.
ENVIRONMENT = {
    # numpy's OpenBLAS starts a thread per core that spins at start-up, and this pipeline makes
    # no BLAS call: CPU time for nothing, in every process.
    "OPENBLAS_NUM_THREADS": "1",
    # Arrow's allocator (mimalloc) hands freed pages back to the kernel, and the next chunk's
    # buffers fault them in again, zeroed: much of the run's system time. Each chunk needs the
    # same few buffers, so keeping them costs no more memory than the largest chunk.
    "MIMALLOC_PURGE_DELAY": "-1",
}

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_PR_SET_THP_DISABLE = 41  # prctl (linux/prctl.h)


@contextmanager
def lean_start_up() -> Iterator[None]:
    """Wrap the imports of a process that runs the pipeline: the environment above (inherited
    by the worker processes it starts), the allocators keeping freed memory, no transparent huge
    pages, and the cyclic
    collector paused while the imports build what lives as long as the process, which is then
    frozen out of its reach (as lambda_app.startup does for the servers)."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    keep_freed_memory()
    no_huge_pages()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def keep_freed_memory() -> None:
    """glibc's malloc: numpy's column buffers from the heap, and the heap kept when they are
    freed, instead of an mmap and munmap (and the page faults) per buffer per chunk."""
    with suppress(OSError, AttributeError, ValueError):  # not glibc: nothing to set
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def no_huge_pages() -> None:
    """Transparent huge pages off for this process and the workers it starts (Linux: inherited
    across fork and exec). Chunk buffers are faulted in afresh chunk after chunk, and a fresh
    huge page means zeroing two megabytes at once, or first compacting memory to find them:
    system time that came and went from run to run, most of it in whichever run followed a
    pause. Small pages cost more faults and less time, and the same time in every run."""
    if sys.platform != "linux":
        return
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0)
