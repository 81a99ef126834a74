"""stylecycle tune: searches that finish, stop bad trials, survive interruption and hand over a
config that `train --config` accepts."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import optuna
import pytest
import torch

from stylecycle.cli import main
from stylecycle.errors import ConfigError
from stylecycle.training.trainer import Trainer
from stylecycle.tune import STUDY_FILE, STUDY_NAME, Param, Search, parse_param, read_space, with_params

TINY = [
    "--size",
    "24",
    "--load-size",
    "28",
    "--workers",
    "0",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--n-blocks",
    "1",
    "--n-layers-d",
    "2",
    "--device",
    "cpu",
    "--precision",
    "fp32",
    "--sample-every",
    "0",
    "--trial-steps",
    "2",
    "--eval-every",
    "1",
]


def tune_cli(data: Path, study: Path, *args: str) -> int:
    return main(["tune", "--data", str(data), "--run-dir", str(study), *TINY, *args])


def load(study: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{study / STUDY_FILE}")


@pytest.mark.parametrize(
    ("text", "param"),
    [
        ("lr=1e-4:1e-3:log", Param("optim", "lr", low=1e-4, high=1e-3, log=True)),
        ("n_blocks=1:3", Param("model", "n_blocks", low=1, high=3)),
        ("generator=resnet_6blocks,unet_128", Param("model", "generator", choices=("resnet_6blocks", "unet_128"))),
        ("loss.lambda_cycle=5,10", Param("loss", "lambda_cycle", choices=(5.0, 10.0))),
        ("flip=true,false", Param("data", "flip", choices=(True, False))),
    ],
)
def test_search_parameters_are_written_as_choices_or_ranges_of_any_training_option(text, param):
    assert parse_param(text) == param
    assert parse_param("n_blocks=1:3").is_int() and not parse_param("lr=0.1:0.2").is_int()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wings=1,2", "'wings' is not a training option"),
        ("generator=1:2", "generator is not numeric"),
        ("lr=3e-4:1e-4", "needs low < high"),
        ("lr=0:1:log", "low > 0"),
        ("size=big,small", "could not convert|invalid literal"),
        ("generator=resnet_6blocks,resnet_99", "'resnet_99' is not one of"),
        ("run_dir=a,b", "cannot be searched"),
        ("lr", "write NAME=V1,V2"),
    ],
)
def test_a_bad_search_parameter_is_refused_with_its_reason(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_param(text)


def test_a_search_space_file_holds_the_same_parameters(tmp_path):
    (tmp_path / "space.yaml").write_text("lr: {low: 1.0e-4, high: 1.0e-3, log: true}\ngenerator: [resnet_6blocks, unet_128]\n")
    assert read_space(tmp_path / "space.yaml") == [parse_param("lr=1e-4:1e-3:log"), parse_param("generator=resnet_6blocks,unet_128")]
    (tmp_path / "bad.yaml").write_text("lr: {low: 1, top: 2}\n")
    with pytest.raises(ConfigError, match="lr must be a list of values or"):
        read_space(tmp_path / "bad.yaml")


def test_a_two_trial_random_search_writes_a_best_config_that_train_accepts(demo_root, tmp_path, capsys):
    assert tune_cli(demo_root, tmp_path / "study", "--param", "lr=1e-4:1e-3:log", "--sampler", "random", "--trials", "2") == 0
    study = load(tmp_path / "study")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert all(5 < t.value < 40 for t in study.trials)  # PSNR in dB of the validation strips
    assert all(set(t.intermediate_values) == {1} for t in study.trials)  # scored every --eval-every step before the last
    for name in ("summary.md", "best.yaml", "history.png", "importances.png"):
        assert (tmp_path / "study" / name).stat().st_size > 0
    out = capsys.readouterr().out
    assert "| 1 | complete |" in out and "(identity baseline): " in out

    assert main(["train", "--config", str(tmp_path / "study" / "best.yaml"), "--run-dir", str(tmp_path / "best"), "--max-steps", "1"]) == 0
    stored = torch.load(tmp_path / "best" / "checkpoints" / "step_00000001.pt", weights_only=True)["config"]
    assert stored["optim"]["lr"] == pytest.approx(study.best_params["optim.lr"])
    assert stored["model"]["ngf"] == 4 and stored["data"]["root"] == str(demo_root)


def test_a_trial_of_a_searched_model_or_recipe_gets_its_defaults_as_train_would_give_them():
    fastcut = with_params({"train": {"recipe": "fast"}}, {"model.method": "fastcut"}, max_steps=2)
    assert (fastcut.loss.lambda_nce, fastcut.loss.nce_idt, fastcut.loss.flip_equivariance) == (10.0, False, True)
    assert fastcut.model.colour_lut and fastcut.train.max_steps == 2  # the recipe's, and the train option set
    typed = with_params({"loss": {"lambda_nce": 3.0}}, {"model.method": "fastcut"})
    assert typed.loss.lambda_nce == 3.0  # an option typed still wins over the method's default
    paper = with_params({"model": {"ngf": 8}}, {"train.recipe": "paper"})
    assert (paper.model.ngf, paper.model.global_skip, paper.data.size) == (8, False, 256)


def test_a_grid_search_runs_every_point_once(demo_root, tmp_path):
    assert tune_cli(demo_root, tmp_path / "study", "--param", "lambda_cycle=5,10", "--sampler", "grid") == 0
    study = load(tmp_path / "study")
    assert sorted(t.params["loss.lambda_cycle"] for t in study.trials) == [5.0, 10.0]


def test_an_interrupted_search_continues_from_its_study_and_reruns_the_cut_trial(demo_root, tmp_path, monkeypatch, capsys):
    train_step = Trainer.train_step

    def interrupted_in_trial_1(self, real_a, real_b):
        losses = train_step(self, real_a, real_b)
        if self.run_dir.name == "trial_0001":
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl+C would; the trainer saves and stops
        return losses

    args = ("--param", "lr=1e-4:1e-3:log", "--sampler", "random", "--trials", "2")
    monkeypatch.setattr(Trainer, "train_step", interrupted_in_trial_1)
    assert tune_cli(demo_root, tmp_path / "study", *args) == 130
    assert "run the same command again to continue the search" in capsys.readouterr().err
    monkeypatch.setattr(Trainer, "train_step", train_step)

    assert tune_cli(demo_root, tmp_path / "study", *args) == 0
    trials = load(tmp_path / "study").trials
    states = [t.state.name for t in trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE"]
    assert trials[2].params == trials[1].params  # the cut trial again, not a new draw


def test_trials_scoring_below_the_median_of_earlier_ones_are_stopped_early(demo_root, tmp_path, monkeypatch):
    monkeypatch.setattr(Search, "score", lambda self, trainer: 1.0 if trainer.run_dir.name == "trial_0002" else 10.0)
    assert (
        tune_cli(demo_root, tmp_path / "study", "--param", "lr=1e-4:1e-3", "--sampler", "random", "--trials", "3", "--trial-steps", "3")
        == 0
    )
    trials = load(tmp_path / "study").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert not (tmp_path / "study" / "trials" / "trial_0002" / "checkpoints" / "step_00000003.pt").exists()


def test_a_study_folder_is_not_reused_for_a_different_search(demo_root, tmp_path, capsys):
    assert tune_cli(demo_root, tmp_path / "study", "--param", "lambda_cycle=5,10", "--sampler", "grid", "--trials", "1") == 0
    assert tune_cli(demo_root, tmp_path / "study", "--param", "lr=1e-4:1e-3", "--trials", "1") == 2
    assert "holds a different search" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--param", "lr=1e-4:1e-3", "--sampler", "grid"), "--sampler grid needs a list of values"),
        (("--sampler", "random"), "nothing to search"),
        (
            ("--param", "lr=1e-4,2e-4", "--objective", "fid", "--inception-weights", "/nowhere.pth"),
            "--objective fid: --inception-weights /nowhere.pth does not exist",
        ),
        (("--param", "lr=1e-4,2e-4", "--param", "optim.lr=1e-3,2e-3"), "given twice: optim.lr"),
    ],
)
def test_searches_that_cannot_work_get_one_line(demo_root, tmp_path, capsys, args, message):
    assert tune_cli(demo_root, tmp_path / "study", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0


def test_a_trial_whose_parameters_do_not_go_together_fails_and_the_search_goes_on(demo_root, tmp_path):
    """--n-blocks applies to resnet generators only: that grid point fails, once, and the other runs."""
    args = ("--param", "generator=resnet_6blocks,unet_128", "--sampler", "grid")
    assert tune_cli(demo_root, tmp_path / "study", *args) == 0
    assert tune_cli(demo_root, tmp_path / "study", *args) == 0  # continuing does not retry the failed point
    trials = load(tmp_path / "study").trials
    assert sorted((t.params["model.generator"], t.state.name) for t in trials) == [("resnet_6blocks", "COMPLETE"), ("unet_128", "FAIL")]
