"""The web page's handlers: what a browser may upload and name, checked without a browser."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import TINY_FLAGS, tiny_config
from stylecycle.config import ServeConfig
from stylecycle.errors import ConfigError
from stylecycle.serve.jobs import TrainingJobs
from stylecycle.serve.models import ModelCache, directions, find_models
from stylecycle.serve.safety import Limits, Refused, check_upload, inside, run_name
from stylecycle.serve.translate import translate_uploads
from stylecycle.training.checkpoint import list_checkpoints
from stylecycle.training.trainer import Trainer

LIMITS = Limits(max_upload_mb=1, max_pixels=1_000_000, max_files=3)


@pytest.fixture(scope="module")
def checkpoints(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints")
    Trainer(tiny_config(demo_root, folder / "tiny", max_steps=1)).run()
    return folder


@pytest.mark.parametrize("escape", ["../outside", "a/../../outside", "/etc", "", "link/secret"])
def test_paths_from_the_browser_cannot_leave_their_folder(tmp_path, escape):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "root" / "link")
    with pytest.raises(Refused):
        inside(tmp_path / "root", escape, "folder")
    assert inside(tmp_path / "root", "photos/summer", "folder") == (tmp_path / "root" / "photos" / "summer").resolve()


@pytest.mark.parametrize("name", ["a/b", "..", "my run", "", "x" * 65, ".hidden"])
def test_run_names_are_single_plain_folder_names(name):
    with pytest.raises(Refused, match="run name"):
        run_name(name)
    assert run_name(" summer2winter-v1.2 ") == "summer2winter-v1.2"


def test_uploads_over_the_size_or_pixel_limit_are_refused_before_decoding(tmp_path):
    Image.new("RGB", (1200, 1000)).save(tmp_path / "big.png")
    with pytest.raises(Refused, match="big.png is 1200x1000 .* the limit is 1 megapixels"):
        check_upload(tmp_path / "big.png", LIMITS)
    (tmp_path / "heavy.png").write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(Refused, match="heavy.png is 2 MB; the limit is 1 MB"):
        check_upload(tmp_path / "heavy.png", LIMITS)
    Image.new("RGB", (100, 100)).save(tmp_path / "fine.jpg")
    assert check_upload(tmp_path / "fine.jpg", LIMITS) == "image"


def test_a_text_file_named_like_a_photo_is_refused_politely(tmp_path):
    (tmp_path / "holiday.jpg").write_text("not a picture")
    with pytest.raises(Refused, match="holiday.jpg is not an image this page can read"):
        check_upload(tmp_path / "holiday.jpg", LIMITS)


def test_a_bad_upload_among_good_ones_is_listed_and_the_rest_are_translated(checkpoints, demo_root, tmp_path):
    translator = ModelCache(checkpoints, "cpu").get("tiny", "a2b")
    (tmp_path / "notes.png").write_text("not a picture")
    photo = demo_root / "testA" / "rocket_right.png"
    result = translate_uploads([str(photo), str(tmp_path / "notes.png")], translator, "a2b", LIMITS, tmp_path / "work")
    assert [(src.name, out.name) for src, out in result.pairs] == [("rocket_right.png", "rocket_right-a2b.png")]
    assert Image.open(result.pairs[0][1]).size == Image.open(photo).size
    assert len(result.refused) == 1 and "notes.png" in result.refused[0] and result.archive.stat().st_size > 0
    with pytest.raises(Refused, match="not an image"):
        translate_uploads([str(tmp_path / "notes.png")], translator, "a2b", LIMITS, tmp_path / "work2")
    with pytest.raises(Refused, match="4 files at once; the limit is 3"):
        translate_uploads([str(photo)] * 4, translator, "a2b", LIMITS, tmp_path / "work3")


def test_only_models_under_the_checkpoints_folder_can_be_chosen(checkpoints):
    assert find_models(checkpoints) == ["tiny"]
    for forged in ("../tiny", "/etc/passwd", "tiny/../../x"):
        with pytest.raises(Refused, match="no model named"):
            ModelCache(checkpoints, "cpu").get(forged, "a2b")


def test_a_one_sided_model_is_offered_from_a_to_b_only_and_b_to_a_is_refused_in_one_line(demo_root, tmp_path):
    Trainer(tiny_config(demo_root, tmp_path / "cut", max_steps=1).updated({"model": {"method": "cut"}})).run()
    Trainer(tiny_config(demo_root, tmp_path / "cycle", max_steps=1)).run()
    assert directions(tmp_path, "cut") == ["a2b"] and directions(tmp_path, "cycle") == ["a2b", "b2a"]
    cache = ModelCache(tmp_path, "cpu")
    assert cache.get("cut", "a2b") is not None
    with pytest.raises(ConfigError, match="one-sided cut model: it translates A to B only"):
        cache.get("cut", "b2a")


def test_one_training_run_at_a_time_and_stopping_saves_a_checkpoint(demo_root, tmp_path):
    jobs = TrainingJobs()
    tiny = [
        *TINY_FLAGS,
        "--max-steps",
        "100000",
    ]
    jobs.start(tmp_path / "first", ["--data", str(demo_root), "--run-dir", str(tmp_path / "first"), *tiny])
    while "training: step" not in (running := jobs.status().text):
        assert jobs.running(), running
        time.sleep(0.2)
    assert re.search(r"is training: step \d+ of 100000 \(0%\), [\d.]+ images/s", running)
    try:
        with pytest.raises(Refused, match="already going"):
            jobs.start(tmp_path / "second", ["--data", str(demo_root), "--run-dir", str(tmp_path / "second"), *tiny])
    finally:
        status = jobs.stop()
    assert jobs.process.returncode == 130 and "stopped at step" in status
    assert list_checkpoints(tmp_path / "first") and not (tmp_path / "second").exists()


def test_a_failed_run_shows_its_one_line_error(tmp_path):
    jobs = TrainingJobs()
    jobs.start(tmp_path / "run", ["--data", str(tmp_path / "missing"), "--run-dir", str(tmp_path / "run")])
    jobs.process.wait(60)
    assert "failed: stylecycle train: error:" in jobs.status().text


def test_requests_queue_one_translation_at_a_time(checkpoints, demo_root):
    from stylecycle.serve.app import QUEUE_SIZE, build_app

    app, _ = build_app(ServeConfig(checkpoints=checkpoints, data_root=demo_root))
    assert app._queue.max_size == QUEUE_SIZE and app._queue.default_concurrency_limit == 1
    assert next(fn for fn in app.fns.values() if fn.name == "translate").concurrency_limit == 1


def test_serve_refuses_a_data_root_that_is_not_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="--data-root"):
        ServeConfig(data_root=tmp_path / "nowhere").validate()


def test_an_uploaded_video_is_translated_into_a_video(checkpoints, tmp_path):
    import av
    from test_inference import make_video

    make_video(tmp_path / "clip.mp4", frames=3, fps=5, with_audio=False)
    translator = ModelCache(checkpoints, "cpu").get("tiny", "b2a")
    result = translate_uploads([str(tmp_path / "clip.mp4")], translator, "b2a", LIMITS, tmp_path / "work")
    assert [out.name for _, out in result.pairs] == ["clip-b2a.mp4"]
    with av.open(str(result.pairs[0][1])) as video:
        assert sum(1 for _ in video.decode(video=0)) == 3


def test_a_port_already_taken_is_one_line(checkpoints, demo_root):
    import socket

    from stylecycle.serve.app import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port} .*choose another --port"):
            serve(ServeConfig(checkpoints=checkpoints, data_root=demo_root, port=port), block=False)


@pytest.mark.parametrize("preset", ["fast preview", "colour grade", "standard", "high quality"])
def test_every_training_preset_is_a_valid_time_or_step_limited_train_command(tmp_path, preset):
    from stylecycle.cli import build_parser, given_options
    from stylecycle.config import Config
    from stylecycle.serve.jobs import PRESETS

    flags = PRESETS[preset]
    args = build_parser(flags[flags.index("--recipe") + 1]).parse_args(
        ["train", "--data", str(tmp_path), "--run-dir", str(tmp_path / "run"), *flags]
    )
    config = Config.from_recipe(given_options(args)).validate()
    assert config.train.time_budget or preset == "high quality"
