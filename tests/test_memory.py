import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from stylecycle import memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_is_told_to_keep_freed_memory():
    assert memory.keep_freed_memory()


def test_without_a_c_library_with_mallopt_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(memory.ctypes.util, "find_library", lambda name: None)
    assert not memory.keep_freed_memory()


THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
HUGE_PAGES_ON_REQUEST = THP_MODE.exists() and "[madvise]" in THP_MODE.read_text()

# In a fresh process: how much of a 64 MiB tensor, written once, the kernel backs with huge pages.
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


def huge_pages_of_a_large_tensor(**environment: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != memory.HUGE_PAGES_VARIABLE} | environment
    out = subprocess.run([sys.executable, "-c", HUGE_PAGES_OF_A_LARGE_TENSOR], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not HUGE_PAGES_ON_REQUEST, reason="needs Linux with transparent huge pages on request (madvise)")
def test_importing_stylecycle_backs_large_tensors_with_huge_pages():
    assert huge_pages_of_a_large_tensor() > 0


@pytest.mark.skipif(not HUGE_PAGES_ON_REQUEST, reason="needs Linux with transparent huge pages on request (madvise)")
def test_a_users_own_setting_turns_huge_pages_off():
    assert huge_pages_of_a_large_tensor(THP_MEM_ALLOC_ENABLE="0") == 0
