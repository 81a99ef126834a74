import platform

import pytest

from stylecycle import memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_is_told_to_keep_freed_memory():
    assert memory.keep_freed_memory()


def test_without_a_c_library_with_mallopt_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(memory.ctypes.util, "find_library", lambda name: None)
    assert not memory.keep_freed_memory()
