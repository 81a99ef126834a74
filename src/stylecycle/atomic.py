"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary files are created private (0600); the finished file gets the permissions any other
# new file would, so outputs are as readable as the user's umask says.
FILE_MODE = 0o666 & ~_umask()
TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is flushed and renamed onto
    ``path``, and the folder is flushed so that the new name survives a power cut; on failure
    it is removed and ``path`` is left as it was.

    The temporary file lives in the same folder so the final ``os.replace`` is a rename
    within one file system, which POSIX makes atomic. A process killed outright (``kill -9``)
    leaves it behind: :func:`remove_stale_temporaries` clears those.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename lives there); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse to flush a folder; the rename itself has happened
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path, name_pattern: str) -> int:
    """Remove the temporary files that :func:`atomic_path` left in ``folder`` for targets named
    like ``name_pattern`` (a glob) when its process was killed mid-write; returns how many.
    Only the folder's owner may call it: another writer's file in progress would go too."""
    stale = list(Path(folder).glob(f".{name_pattern}.*{TMP_SUFFIX}")) if Path(folder).is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)
