"""How large CPU tensors get their memory: huge pages, and freed memory reused within a translation.

Outside the convolutions, much of a full-resolution translation's time is the kernel handing out
fresh pages for large tensors: one page fault and one zero-fill per 4 KiB page.

**Huge pages.** PyTorch can back every CPU tensor of 2 MiB and more with 2 MiB transparent huge
pages (``THP_MEM_ALLOC_ENABLE=1``): 512 times fewer page faults, and fewer TLB misses in the
convolutions. On 2 CPU cores this made a 1024x1024 translation 8% faster and bf16 channels-last
training at 128x128 7% faster, at the same peak memory (benchmarks/). PyTorch reads the variable
once (torch 2.14: at its first allocation of 2 MiB or more), so the package asks for it first
thing, before it imports torch, and a user's own setting (``THP_MEM_ALLOC_ENABLE=0``) is left
alone. Where a large tensor came before stylecycle's import, or the kernel has transparent huge
pages off, nothing changes. Linux only; elsewhere PyTorch ignores the variable.

**Freed memory reused while a translation runs.** glibc's malloc hands every block above 32 MiB
straight to the kernel (``mmap``) and back again when it is freed (``munmap``), and a 256-channel
256x256 bf16 activation is 33.5 MiB: each layer's output is fresh memory, faulted in and zeroed.
PyTorch's CPU allocator is plain ``malloc`` (the usual cure, preloading jemalloc or tcmalloc,
has to happen before the process starts). Inside :func:`reusing_freed_memory` glibc serves
large blocks from its heap and keeps what is freed there, so each layer reuses its
predecessors' memory: a 1024x1024 translation about a tenth faster. A heap that never shrinks
fragments, though: left on for the life of the process, it made a tiled 6000x4000 photo peak at
3.0 GiB. So it lasts for one network call, and on leaving, the free memory goes back to the
kernel (``malloc_trim``): a tile's working memory is returned before the next tile.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HUGE_PAGES_VARIABLE = "THP_MEM_ALLOC_ENABLE"

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
KEEP_UP_TO = 2**31 - 1  # the largest value mallopt takes: never give freed memory back
# Setting any parameter ends glibc's adaptive thresholds, so leaving restores the values they
# settle at on 64-bit systems once large blocks have come and gone (and the default mmap count).
SETTLED_MMAP_THRESHOLD = 32 * 2**20
SETTLED_TRIM_THRESHOLD = 2 * SETTLED_MMAP_THRESHOLD
DEFAULT_MMAP_MAX = 65536

_lock = threading.Lock()
_users = 0  # callers inside reusing_freed_memory, across threads: the last one out restores


def ask_for_huge_pages() -> None:
    """Ask PyTorch for transparent huge pages, unless the user said otherwise; effective only
    before PyTorch's first large allocation (see the module's docstring)."""
    os.environ.setdefault(HUGE_PAGES_VARIABLE, "1")


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (mallopt and malloc_trim); None on macOS, Windows or musl,
    whose allocators behave differently and are left alone."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Within: large blocks come from glibc's heap and freed ones stay there for reuse. On
    leaving (the last of any nested or concurrent callers), the usual thresholds come back and
    the free memory is returned to the kernel. Without glibc, nothing changes."""
    global _users
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _users += 1
        if _users == 1:
            libc.mallopt(M_MMAP_MAX, 0)
            libc.mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_MMAP_THRESHOLD, SETTLED_MMAP_THRESHOLD)
                libc.mallopt(M_TRIM_THRESHOLD, SETTLED_TRIM_THRESHOLD)
                libc.malloc_trim(0)
