"""How large CPU tensors get their memory: huge pages by default, and glibc's free list on request.

Most of a full-resolution translation's time outside the convolutions is the kernel handing out
fresh pages for large tensors, one page fault and one zero-fill per 4 KiB page.

**Huge pages (the default).** PyTorch can back every CPU tensor of 2 MiB and more with 2 MiB
transparent huge pages (``THP_MEM_ALLOC_ENABLE=1``): 512 times fewer page faults, and fewer TLB
misses in the convolutions. On 2 CPU cores this made a 1024x1024 translation 8% faster and
bf16 channels-last training at 128x128 7% faster, at the same peak memory (benchmarks/).
PyTorch reads the variable once (torch 2.14: at its first allocation of 2 MiB or more), so the
package asks for it first thing, before it imports torch, and a user's own setting
(``THP_MEM_ALLOC_ENABLE=0``) is left alone. Where a large tensor came before stylecycle's import,
or the kernel has transparent huge pages off, nothing changes. Linux only; elsewhere PyTorch
ignores the variable.

**Keeping freed memory (an option).** glibc's malloc hands every block above 32 MiB straight
to the kernel (``mmap``) and back again when it is freed (``munmap``). A full-resolution
translation allocates dozens of such tensors (a 256-channel 256x256 bf16 activation is
33.5 MiB), and the kernel zero-fills every fresh page of each one: about a fifth of the time of
a 1024x1024 translation on 2 CPU cores. PyTorch's CPU allocator is plain ``malloc``, and the
usual cure, preloading jemalloc or tcmalloc, has to happen before the process starts. Telling
glibc to serve large blocks from its heap, and to keep freed memory there, does the same from
inside.

The price is memory: blocks freed between live ones fragment the heap, and nothing goes back to
the kernel until the process exits. A 1024x1024 translation peaked at up to 1.9 GiB instead of
1.1, and a tiled 6000x4000 one at 3.0 GiB instead of 1.9, so this is an option
(``translate --keep-freed-memory``), not the default.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

HUGE_PAGES_VARIABLE = "THP_MEM_ALLOC_ENABLE"

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
KEEP_UP_TO = 2**31 - 1  # the largest value mallopt takes: never give freed memory back


def ask_for_huge_pages() -> None:
    """Ask PyTorch for transparent huge pages, unless the user said otherwise; effective only
    before PyTorch's first large allocation (see the module's docstring)."""
    os.environ.setdefault(HUGE_PAGES_VARIABLE, "1")


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
