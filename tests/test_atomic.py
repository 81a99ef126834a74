import os
import stat

import pytest

from stylecycle.atomic import atomic_path


def test_a_finished_file_has_the_permissions_of_any_new_file(tmp_path):
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("done")
    (tmp_path / "plain.txt").write_text("done")
    assert stat.S_IMODE(os.stat(tmp_path / "out.txt").st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    (tmp_path / "out.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert (tmp_path / "out.txt").read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]
