"""`stylecycle distill`: a small student learns a trained teacher's translation, and is then an
ordinary model (translate, export, serve)."""

from __future__ import annotations

import pytest
import torch
from test_cli import error_line, run_cli
from test_resume import assert_resume_continues_identically

from conftest import TINY_FLAGS, tiny_config
from stylecycle.errors import ConfigError
from stylecycle.inference import Translator
from stylecycle.training.checkpoint import load_checkpoint
from stylecycle.training.trainer import Trainer

STUDENT = ["--student", "mobile_resnet_6blocks", "--width", "4", "--n-blocks", "1"]


@pytest.fixture(scope="module")
def teacher(demo_root, tmp_path_factory):
    """A tiny CycleGAN after a few steps: its translation is far from the identity."""
    run = tmp_path_factory.mktemp("teacher") / "run"
    Trainer(tiny_config(demo_root, run, max_steps=3)).run()
    return run


def test_the_student_learns_the_teachers_translation(demo_root, tmp_path, teacher):
    config = tiny_config(demo_root, tmp_path / "student", max_steps=60).updated(
        {"model": {"method": "distill", "teacher": teacher, "generator": "mobile_resnet_6blocks", "ngf": 8}, "optim": {"lr": 1e-3}}
    )
    trainer = Trainer(config)
    teacher_translator = Translator.from_checkpoint(teacher, device="cpu", precision="fp32")
    photos = trainer.preview_a

    def distance() -> float:
        with torch.no_grad():
            return float((trainer.model.G_ab(photos) - teacher_translator.translate(photos)).abs().mean())

    before = distance()
    trainer.run()
    assert distance() < 0.5 * before
    assert set(trainer.state_dict()["networks"]) == {"G_ab"}  # the teacher is not stored


def test_a_distilled_student_is_an_ordinary_model_for_its_direction(capsys, demo_root, tmp_path, teacher):
    run = tmp_path / "student"
    code, out, _ = run_cli(
        capsys, "distill", "--checkpoint", teacher, "--data", demo_root, "--run-dir", run, *STUDENT, "--max-steps", "2", *TINY_FLAGS
    )
    assert code == 0, out
    state = load_checkpoint(run)
    assert state["config"]["model"]["generator"] == "mobile_resnet_6blocks" and state["config"]["data"]["size"] == 24  # the teacher's crops
    translate = ["translate", "--checkpoint", run, "--input", demo_root / "testA", "--output", tmp_path / "out", "--device", "cpu"]
    assert run_cli(capsys, *translate)[0] == 0
    code, _, err = run_cli(capsys, *translate, "--direction", "b2a")
    assert code != 0 and "a student distilled for a2b: it translates A to B only (--direction a2b)" in error_line(err)
    assert run_cli(capsys, "export", "--checkpoint", run, "--format", "onnx", "--output", tmp_path / "student.onnx")[0] == 0

    report = tmp_path / "report"
    evaluate = ["evaluate", "--checkpoint", run, "--teacher", teacher, "--inputs", demo_root / "testA", "--references", demo_root / "testB"]
    code, out, _ = run_cli(capsys, *evaluate, "--report", report, "--device", "cpu")
    assert code == 0 and "| agreement with the teacher |" in out and "| agreement with the teacher |" in (report / "metrics.md").read_text()
    assert len(list((report / "teacher").iterdir())) == len(list((demo_root / "testA").iterdir()))


def test_both_directions_make_two_students_and_a_resume_continues_exactly(demo_root, tmp_path, teacher):
    options = {"model": {"method": "distill", "teacher": teacher, "distill_direction": "both", "generator": "mobile_resnet_6blocks"}}
    assert_resume_continues_identically(demo_root, tmp_path, options)
    assert set(load_checkpoint(tmp_path / "straight")["networks"]) == {"G_ab", "G_ba"}


def test_distilling_without_a_teacher_is_one_line(capsys, demo_root, tmp_path):
    code, _, err = run_cli(capsys, "distill", "--data", demo_root, "--run-dir", tmp_path / "s", *TINY_FLAGS)
    assert code != 0 and "--checkpoint is required" in error_line(err)
    with pytest.raises(ConfigError, match="distilling needs the teacher"):
        tiny_config(demo_root, tmp_path).updated({"model": {"method": "distill"}}).validate()
