import os
import stat

import pytest

from stylecycle.atomic import atomic_path, remove_stale_temporaries


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


def test_stale_temporary_files_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    for name in (".step_00000004.pt.ab12cd.tmp", ".step_00000008.pt.x9.tmp", "step_00000004.pt", ".latest.txt.q1.tmp", "notes.tmp"):
        (tmp_path / name).write_text("x")
    assert remove_stale_temporaries(tmp_path, "step_*.pt") == 2
    assert sorted(os.listdir(tmp_path)) == [".latest.txt.q1.tmp", "notes.tmp", "step_00000004.pt"]


def test_a_run_started_again_removes_the_checkpoint_a_kill_left_half_written(demo_root, tmp_path):
    from conftest import tiny_config
    from stylecycle.training.trainer import Trainer

    leftover = tmp_path / "run" / "checkpoints" / ".step_00000002.pt.k1ll3d.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a checkpoint")
    Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=1)).run()
    assert not leftover.exists() and (tmp_path / "run" / "checkpoints" / "step_00000001.pt").exists()


def test_the_folder_is_flushed_after_the_rename_so_the_new_name_survives_a_power_cut(tmp_path, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def watched(fd):
        flushed.append((stat.S_ISDIR(os.fstat(fd).st_mode), os.path.exists(tmp_path / "out.txt")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watched)
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("done")
    assert flushed == [(False, False), (True, True)]  # the file's data before the rename, the folder after it
