import subprocess
import sys

import pytest
from PIL import Image

from conftest import TINY_FLAGS
from stylecycle.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one line a failing command prints (progress bars and log lines aside)."""
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def tiny_flags(tmp_path):
    return [
        *TINY_FLAGS,
        "--run-dir",
        tmp_path / "run",
    ]


def test_train_then_translate_from_the_command_line(capsys, demo_root, tmp_path, tiny_flags):
    code, out, _ = run_cli(capsys, "train", "--data", demo_root, "--max-steps", "2", "--sample-every", "1", *tiny_flags)
    assert code == 0 and "step_00000002.pt" in out
    code, out, _ = run_cli(
        capsys,
        "translate",
        "--checkpoint",
        tmp_path / "run",
        "--input",
        demo_root / "testA",
        "--output",
        tmp_path / "out",
        "--direction",
        "b2a",
        "--device",
        "cpu",
    )
    assert code == 0
    inputs = sorted((demo_root / "testA").iterdir())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.stem + ".png" for p in inputs]
    for src in inputs:
        assert Image.open(tmp_path / "out" / (src.stem + ".png")).size == Image.open(src).size


def test_data_a_and_data_b_folders_replace_the_dataset_layout(capsys, demo_root, tiny_flags):
    code, _, _ = run_cli(
        capsys,
        "train",
        "--data-a",
        demo_root / "trainA",
        "--data-b",
        demo_root / "trainB",
        "--max-steps",
        "1",
        "--sample-every",
        "0",
        *tiny_flags,
    )
    assert code == 0


def test_translating_a_folder_skips_and_reports_a_corrupt_file(capsys, caplog, demo_root, tmp_path, tiny_flags):
    run_cli(capsys, "train", "--data", demo_root, "--max-steps", "1", *tiny_flags)
    photos = tmp_path / "photos"
    (photos / "nested").mkdir(parents=True)
    Image.open(demo_root / "testA" / "chelsea.png").save(photos / "nested" / "cat.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff truncated")
    code, out, err = run_cli(
        capsys, "translate", "--checkpoint", tmp_path / "run", "--input", photos, "--output", tmp_path / "out", "--device", "cpu"
    )
    assert code == 0 and "skipped 1" in out and "broken.jpg" in caplog.text
    assert (tmp_path / "out" / "nested" / "cat.jpg").exists()  # JPEG stays JPEG (--format auto)


@pytest.mark.parametrize(
    "argv,named",
    [
        (["train", "--data", "{tmp}/nowhere"], "nowhere/trainA"),
        (["train", "--data", "{tmp}/empty"], "holds no images"),
        (["train", "--data", "{demo}", "--gan-loss", "wasserstein"], "--gan-loss"),
        (["train", "--data", "{demo}", "--size", "big"], "--size"),
        (["train", "--data", "{demo}", "--size", "64", "--load-size", "32"], "--load-size"),
        (["train", "--data", "{demo}", "--lr", "-1"], "--lr"),
        (["train", "--data", "{demo}", "--device", "cuda:7"], "--device"),
        (["train", "--data", "{demo}", "--data-a", "{demo}/trainA"], "--data-b"),
        (["train", "--data", "{demo}", "--unknown-flag"], "--unknown-flag"),
        (["translate", "--checkpoint", "{tmp}/broken.pt", "--input", "{demo}/testA", "--output", "{tmp}/o"], "broken.pt"),
        (["translate", "--checkpoint", "{tmp}/missing.pt", "--input", "{demo}/testA", "--output", "{tmp}/o"], "missing.pt"),
        (["translate", "--checkpoint", "{tmp}", "--input", "{demo}/testA", "--output", "{tmp}/o"], "holds no checkpoints"),
        (["translate", "--checkpoint", "{tmp}/broken.pt", "--output", "{tmp}/o"], "--input"),
        (["translate", "--checkpoint", "{tmp}/broken.pt", "--input", "{tmp}", "--output", "{tmp}/o", "--direction", "up"], "--direction"),
    ],
)
def test_user_errors_exit_2_with_one_line_naming_the_culprit(capsys, demo_root, tmp_path, argv, named):
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    (tmp_path / "empty" / "trainB").mkdir(parents=True)
    (tmp_path / "broken.pt").write_bytes(b"garbage")
    argv = [a.format(tmp=tmp_path, demo=demo_root) for a in argv]
    if argv[0] == "train":
        argv += ["--run-dir", str(tmp_path / "run"), "--device", "cpu"] if "--device" not in argv else ["--run-dir", str(tmp_path / "run")]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert named in error_line(err)


def test_the_installed_command_prints_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stylecycle.cli", "train", "--data", str(tmp_path / "none"), "--run-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"stylecycle train: error: image folder {tmp_path / 'none' / 'trainA'} does not exist (or is not a folder)"
    ]


def help_text(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit):
        main(argv)
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("recipe, lambda_cycle, identity", [(None, "10.0", "0.0"), ("paper", "10.0", "0.5"), ("seed", "1.0", "0.0")])
def test_help_shows_the_defaults_of_the_recipe_asked_for(capsys, recipe, lambda_cycle, identity):
    text = help_text(capsys, ["train", *(["--recipe", recipe] if recipe else []), "--help"])
    assert f"weight of the cycle-consistency loss (both directions) (default: {lambda_cycle})" in text
    assert f"as a fraction of the cycle weight (default: {identity})" in text


def test_the_generator_choices_are_the_registered_generators(capsys):
    text = help_text(capsys, ["translate", "--help"])
    assert "--generator {lut,mobile_resnet_6blocks,mobile_resnet_9blocks,resnet_6blocks,resnet_9blocks,unet_128,unet_256}" in text
