import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import TINY_FLAGS, tiny_config
from stylecycle.data.demo import build_demo_dataset
from stylecycle.training.checkpoint import list_checkpoints, load_checkpoint
from stylecycle.training.trainer import Trainer, resume_trainer


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"model": {"colour_lut": True}, "optim": {"diffaugment": "colour,translation,cutout", "colour_first": 0.5}},
        {"model": {"method": "cut"}},
        {"model": {"method": "fastcut"}, "loss": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True}},
    ],
    ids=["plain", "diffaugment+colour-first", "cut", "fastcut"],
)
def test_resume_continues_identically(demo_root, tmp_path, options):
    """8 steps straight == 4 steps, stop, resume, 4 more: weights, optimisers, pools and the lr
    schedule all bit-identical (6 images per domain, so the stop falls mid-epoch); with the
    augmentation's random stream, and the colour stage's phase ending where the run resumes."""
    assert_resume_continues_identically(demo_root, tmp_path, options)


def assert_resume_continues_identically(demo_root, tmp_path, options: dict) -> None:
    straight = Trainer(tiny_config(demo_root, tmp_path / "straight", max_steps=8).updated(options))
    straight.run()

    first_half = Trainer(tiny_config(demo_root, tmp_path / "halves", max_steps=8).updated(options))
    first_half.length_reached = lambda: first_half.step >= 4  # stop early, as Ctrl-C would; the run still plans 8 steps
    first_half.run()
    second_half = resume_trainer(tmp_path / "halves")
    assert (second_half.step, second_half.epoch) == (4, 0)
    second_half.run()

    a, b = straight.state_dict(), second_half.state_dict()
    for name in a["networks"]:
        for key, value in a["networks"][name].items():
            assert torch.equal(value, b["networks"][name][key]), f"{name}.{key}"
    for name in ("a", "b"):
        assert torch.equal(a["per_rank"][0]["pools"][name]["images"], b["per_rank"][0]["pools"][name]["images"])
    assert a["schedulers"] == b["schedulers"] and (a["step"], a["epoch"]) == (b["step"], b["epoch"]) == (8, 1)
    moments = zip(a["optimizers"]["G"]["state"].values(), b["optimizers"]["G"]["state"].values())
    assert all(torch.equal(x["exp_avg"], y["exp_avg"]) for x, y in moments)


def test_flags_given_with_resume_override_the_stored_ones(demo_root, tmp_path):
    first = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=2))
    first.run()
    more = resume_trainer(tmp_path / "run", {"train": {"max_steps": 5}})
    assert more.total_steps == 5 and more.step == 2 and more.config.model.ngf == 4
    assert more.run().name == "step_00000005.pt"


def test_sigint_saves_a_checkpoint_that_resumes_and_exits_130(demo_root, tmp_path):
    run = tmp_path / "run"
    flags = [
        "--data",
        str(demo_root),
        "--run-dir",
        str(run),
        *TINY_FLAGS,
        "--sample-every",
        "0",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "stylecycle.cli", "train", *flags, "--max-steps", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = run / "train.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "training on" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # some steps
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "stopped; saved" in err and "Traceback" not in err
    saved = list_checkpoints(run)  # epoch ends saved too; the newest is the stop's
    assert not [p for p in run.rglob("*.tmp")]
    stopped_at = load_checkpoint(saved[-1])["step"]
    assert f"step_{stopped_at:08d}.pt" in err
    assert 0 < stopped_at < 100000

    resumed = subprocess.run(
        [sys.executable, "-m", "stylecycle.cli", "train", "--resume", str(run), "--max-steps", str(stopped_at + 2)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(run)["step"] == stopped_at + 2


def test_deterministic_runs_repeat_bit_for_bit(demo_root, tmp_path):
    def weights(name: str) -> dict[str, torch.Tensor]:
        trainer = Trainer(tiny_config(demo_root, tmp_path / name, max_steps=3, deterministic=True, threads=1))
        trainer.run()
        return trainer.model.state_dict()

    threads = torch.get_num_threads()
    try:
        first, second = weights("one"), weights("two")
    finally:  # both settings are process-wide: give the other tests theirs back
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_every_random_number_generator_is_restored_on_resume(demo_root, tmp_path):
    import random

    import numpy as np

    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=1))
    path = trainer.run()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    resume_trainer(path)  # puts every generator back where the checkpoint found it
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_a_checkpoint_records_the_precision_that_ran_and_a_resume_that_changes_it_says_so(demo_root, tmp_path, caplog):
    from stylecycle.precision import resolve_precision

    ran = resolve_precision("auto", torch.device("cpu"))
    final = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=1, precision="auto")).run()
    assert load_checkpoint(final)["config"]["train"]["precision"] == ran
    other = "fp16" if ran != "fp16" else "fp32"
    with caplog.at_level("WARNING", logger="stylecycle"):
        resumed = resume_trainer(tmp_path / "run", {"train": {"precision": other, "max_steps": 2}})
    assert resumed.precision == other
    assert f"computed in {ran} and continues in {other}" in caplog.text


def test_a_run_saved_before_the_stage_had_its_bilateral_filter_resumes_with_fresh_moments_for_its_mixing_weights(tmp_path):
    """The mixing weights gained an entry; their stored Adam moments are one entry short. They are
    dropped (Adam starts them afresh) rather than handed to the fused kernel, which would not notice."""
    config = tiny_config(build_demo_dataset(tmp_path / "data", train_per_domain=2, side=32), tmp_path / "run", max_steps=2)
    config.model.abstraction = True
    trainer = Trainer(config)
    trainer.run()
    state = load_checkpoint(tmp_path / "run")
    mixing = trainer.model.G_ab.abstraction.mixing
    index = next(i for i, p in enumerate(p for group in trainer.opt_g.param_groups for p in group["params"]) if p is mixing)
    state["networks"]["G_ab"]["abstraction.mixing"] = state["networks"]["G_ab"]["abstraction.mixing"][:-1]
    moments = state["optimizers"]["G"]["state"][index]
    moments["exp_avg"], moments["exp_avg_sq"] = moments["exp_avg"][:-1], moments["exp_avg_sq"][:-1]
    config.train.max_steps = 3
    resumed = Trainer(config)
    resumed.load_state_dict(state)
    assert resumed.model.G_ab.abstraction.mixing not in resumed.opt_g.state
    resumed.run()  # one more step
    assert resumed.opt_g.state[resumed.model.G_ab.abstraction.mixing]["exp_avg"].shape == (5,)
