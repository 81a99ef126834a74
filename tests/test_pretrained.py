"""Pretrained weights: the file given, else torch's hub cache, else a download into it (here
from a server on 127.0.0.1), unless offline."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest
import torch

from stylecycle.errors import ConfigError
from stylecycle.pretrained import weights_file


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A small weights file, named the torchvision way (its SHA-256 prefix in the name), served
    on 127.0.0.1; the torch hub cache empty; downloads allowed. Yields (url, file, requests)."""
    folder = tmp_path / "server"
    folder.mkdir()
    torch.save({"weight": torch.arange(6.0)}, folder / "tiny.pth")
    digest = hashlib.sha256((folder / "tiny.pth").read_bytes()).hexdigest()[:8]
    (folder / "tiny.pth").rename(folder / f"tiny-{digest}.pth")
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("STYLECYCLE_OFFLINE")
    yield f"http://127.0.0.1:{server.server_port}/tiny-{digest}.pth", folder / f"tiny-{digest}.pth", requests
    server.shutdown()


def test_a_missing_file_is_downloaded_into_the_torch_hub_cache_once(served, tmp_path):
    url, original, requests = served
    first = weights_file(url, None, needed_for="a test", flag="--weights", hash_in_name=True)
    assert first == tmp_path / "torch_home" / "hub" / "checkpoints" / original.name
    assert first.read_bytes() == original.read_bytes()
    assert weights_file(url, None, needed_for="a test", flag="--weights", hash_in_name=True) == first
    assert len(requests) == 1  # the second call found it in the cache


def test_a_download_whose_hash_does_not_match_its_name_is_refused_and_not_kept(served, tmp_path):
    url, original, _ = served
    original.write_bytes(b"something else entirely")
    with pytest.raises(ConfigError, match=f"could not download {original.name} for a test .*download {url} and put it in"):
        weights_file(url, None, needed_for="a test", flag="--weights", hash_in_name=True)
    assert not any((tmp_path / "torch_home" / "hub" / "checkpoints").iterdir())


def test_a_file_placed_in_the_cache_is_used_without_a_download(served, tmp_path):
    url, original, requests = served
    placed = tmp_path / "torch_home" / "hub" / "checkpoints" / original.name
    placed.parent.mkdir(parents=True)
    placed.write_bytes(original.read_bytes())
    assert weights_file(url, None, needed_for="a test", flag="--weights") == placed and requests == []


def test_offline_refuses_to_download_naming_the_file_and_where_it_goes(served, monkeypatch, tmp_path):
    url, original, requests = served
    monkeypatch.setenv("STYLECYCLE_OFFLINE", "1")
    with pytest.raises(ConfigError, match=f"{original.name} \\(for a test\\) is not in the torch hub cache, and downloads are off"):
        weights_file(url, None, needed_for="a test", flag="--weights")
    assert requests == []


def test_an_unreachable_server_gets_one_line_with_the_way_out(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("STYLECYCLE_OFFLINE")
    with pytest.raises(ConfigError, match="could not download tiny-0123abcd.pth for a test .*or pass it with --weights"):
        weights_file("http://127.0.0.1:9/tiny-0123abcd.pth", None, needed_for="a test", flag="--weights")


def test_a_file_given_by_its_flag_is_used_as_it_is(tmp_path):
    given = tmp_path / "mine.pth"
    given.write_bytes(b"x")
    assert weights_file("http://127.0.0.1:9/other.pth", given, needed_for="a test", flag="--weights") == Path(given)


def test_the_offline_flag_of_the_command_turns_downloads_off(monkeypatch, capsys, tmp_path):
    from stylecycle.cli import main

    monkeypatch.delenv("STYLECYCLE_OFFLINE")
    main(["--offline", "make-benchmark", str(tmp_path / "data"), "--train-per-domain", "2", "--size", "32"])
    assert os.environ["STYLECYCLE_OFFLINE"] == "1"
