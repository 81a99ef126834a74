import os
import subprocess
import sys
from pathlib import Path

import pytest

from stylecycle import memory

GLIBC = memory._glibc() is not None
THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
HUGE_PAGES_ON_REQUEST = THP_MODE.exists() and "[madvise]" in THP_MODE.read_text()


def run_fresh(script: str, **environment: str) -> list[int]:
    """Run ``script`` in a fresh Python (huge pages as ``environment`` says); the numbers it prints."""
    env = {k: v for k, v in os.environ.items() if k != memory.HUGE_PAGES_VARIABLE} | environment
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return [int(line) for line in out.stdout.split()]


# How much of a 64 MiB tensor, written once, the kernel backs with huge pages.
HUGE_PAGES_OF_A_LARGE_TENSOR = """
import stylecycle, torch
def huge_kib():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
before = huge_kib()
tensor = torch.ones(16 * 2**20)
print(huge_kib() - before)
"""


@pytest.mark.skipif(not HUGE_PAGES_ON_REQUEST, reason="needs Linux with transparent huge pages on request (madvise)")
def test_importing_stylecycle_backs_large_tensors_with_huge_pages():
    assert run_fresh(HUGE_PAGES_OF_A_LARGE_TENSOR)[0] > 0


@pytest.mark.skipif(not HUGE_PAGES_ON_REQUEST, reason="needs Linux with transparent huge pages on request (madvise)")
def test_a_users_own_setting_turns_huge_pages_off():
    assert run_fresh(HUGE_PAGES_OF_A_LARGE_TENSOR, THP_MEM_ALLOC_ENABLE="0") == [0]


# Page faults of a fresh 64 MiB tensor after another one was freed: outside, inside (nested in a
# second, inner context that has already been left), and after leaving. 4 KiB pages, so counts are big.
FAULTS_OF_A_FRESH_LARGE_TENSOR = """
import resource, torch
from stylecycle.memory import reusing_freed_memory
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20)  # written, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults()
print(faults())
with reusing_freed_memory():
    faults()
    with reusing_freed_memory():
        pass
    print(faults())
print(faults())
"""


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_memory_is_reused_within_the_context_and_given_back_on_leaving():
    outside, inside, after = run_fresh(FAULTS_OF_A_FRESH_LARGE_TENSOR, THP_MEM_ALLOC_ENABLE="0")
    pages = 64 * 2**20 // 4096
    assert outside > pages / 2  # every page fresh from the kernel
    assert inside < pages / 20  # the freed block again, even after an inner context was left
    assert after > pages / 2  # the kernel has it back


def test_without_glibc_the_context_changes_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    with memory.reusing_freed_memory():
        assert memory._users == 0
