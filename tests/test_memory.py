import subprocess
import sys

import pytest

from stylecycle import memory

GLIBC = memory._glibc() is not None

# Page faults of a fresh 48 MiB tensor after another one was freed: outside; inside (nested in a
# second, inner context that has already been left), once glibc's heap has settled; and after
# leaving. Settled: a small allocation may take the front of the freed block, so that one more
# block is fresh before every further one fits a freed one (seen in about one run in three).
# The process imports what a translation does first: the heap a bare `import torch` leaves
# served no block twice (glibc's state after the imports decides it).
FAULTS_OF_A_FRESH_LARGE_TENSOR = """
import resource, torch
import stylecycle.inference
from stylecycle.memory import reusing_freed_memory
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(12 * 2**20)  # written, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults()
print(faults())
with reusing_freed_memory():
    with reusing_freed_memory():
        pass
    for _ in range(4):  # settling
        faults()
    print(max(faults() for _ in range(4)))
print(faults())
"""


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_freed_memory_is_reused_within_the_context_and_given_back_on_leaving():
    out = subprocess.run([sys.executable, "-c", FAULTS_OF_A_FRESH_LARGE_TENSOR], capture_output=True, text=True, check=True)
    outside, inside, after = (int(n) for n in out.stdout.split())
    pages = 48 * 2**20 // 4096
    assert outside > pages / 2  # every page fresh from the kernel
    assert inside < pages / 20  # freed blocks again, even after an inner context was left
    assert after > pages / 2  # the kernel has it back


def test_without_glibc_the_context_changes_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    with memory.reusing_freed_memory():
        assert memory._users == 0
