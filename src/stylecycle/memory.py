"""Keeping freed memory for reuse, so that large tensors do not cost page faults every time.

glibc's malloc hands every block above 32 MiB straight to the kernel (``mmap``) and back again
when it is freed (``munmap``). A full-resolution translation allocates dozens of such tensors
(a 256-channel 256x256 bf16 activation is 33.5 MiB), and the kernel zero-fills every fresh
page of each one: about a fifth of the time of a 1024x1024 translation on 2 CPU cores
(benchmarks/inference.py). PyTorch's CPU allocator is plain ``malloc``, and the usual cure,
preloading jemalloc or tcmalloc, has to happen before the process starts. Telling glibc to
serve large blocks from its heap, and to keep freed memory there, does the same from inside.

The price is memory: blocks freed between live ones fragment the heap, and nothing goes back to
the kernel until the process exits. A 1024x1024 translation peaked at up to 1.9 GiB instead of
1.1, and a tiled 6000x4000 one at 3.0 GiB instead of 1.9, so this is an option
(``translate --keep-freed-memory``), not the default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
KEEP_UP_TO = 2**31 - 1  # the largest value mallopt takes: never give freed memory back


def keep_freed_memory() -> bool:
    """Make glibc reuse freed memory instead of unmapping it; returns whether it could (not on
    macOS, Windows or musl, whose allocators behave differently and are left alone)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    applied = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO) == 1
    log.debug("glibc malloc keeps freed memory: %s", applied)
    return applied
