"""Pretrained weights files, got the way torchvision, torch-fidelity and LPIPS get theirs.

The file the user names, else the copy in torch's hub cache (``$TORCH_HOME/hub/checkpoints``,
shared with those libraries), else a download into that cache on first use, with a progress
bar and, where the file's name carries one, a check of its SHA-256 prefix. ``STYLECYCLE_OFFLINE=1``
(or ``stylecycle --offline``) turns downloads off: a missing file is then an error that names it,
its address, and where to put it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import torch

from .errors import ConfigError, first_line

log = logging.getLogger("stylecycle")

OFFLINE_ENV = "STYLECYCLE_OFFLINE"
# torchvision's file names end in the first hex digits of their SHA-256 (vgg16-397923af.pth).
HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.[a-z]+$")


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cached_path(url: str) -> Path:
    """Where torch's hub cache keeps the file of ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def weights_file(url: str, given: Path | str | None, *, needed_for: str, flag: str, hash_in_name: bool = False) -> Path:
    """The weights file for ``needed_for``: ``given`` (the value of ``flag``), else the hub
    cache's copy of ``url``, else downloaded there. ``hash_in_name``: the file name ends in a
    SHA-256 prefix that the download must match."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"{flag} {path} does not exist; leave {flag} out to use (and download into) {cached_path(url).parent}")
        return path
    cached = cached_path(url)
    if cached.is_file():
        return cached
    advice = f"download {url} and put it in {cached.parent}, or pass it with {flag}"
    if offline():
        raise ConfigError(
            f"{cached.name} (for {needed_for}) is not in the torch hub cache, and downloads are off ({OFFLINE_ENV}): {advice}"
        )
    match = HASH_IN_NAME.search(cached.name) if hash_in_name else None
    cached.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s (once: later runs read it from there)", url, cached.parent)
    try:
        # Written to a temporary name and renamed when complete, as torch.hub always does.
        torch.hub.download_url_to_file(url, str(cached), hash_prefix=match.group(1) if match else None, progress=True)
    except (OSError, RuntimeError) as exc:  # URLError and HTTPError are OSErrors; a wrong hash is a RuntimeError
        raise ConfigError(f"could not download {cached.name} for {needed_for} ({first_line(exc)}): {advice}") from exc
    return cached
