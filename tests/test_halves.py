"""The two halves of an update: side by side on the CPU's cores, or in turn, to the same result."""

import logging
import threading

import pytest
import torch

from conftest import tiny_config
from stylecycle.training.halves import Halves
from stylecycle.training.trainer import Trainer


@pytest.fixture
def two_threads():
    """Two compute threads, whatever this machine has, so that halves can run side by side."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_halves_side_by_side_run_at_the_same_time_on_one_thread_each(two_threads):
    both_started = threading.Barrier(2, timeout=30)  # in turn, the first half would wait alone and fail

    def half(name: str) -> tuple[str, int]:
        both_started.wait()
        return name, torch.get_num_threads()

    assert Halves(side_by_side=True).run(lambda: half("first"), lambda: half("second")) == (("first", 1), ("second", 1))
    assert torch.get_num_threads() == 2  # the caller's own setting is untouched


def test_halves_in_turn_run_first_then_second_on_the_callers_threads(two_threads):
    order = []
    halves = Halves(side_by_side=False)
    assert halves.run(lambda: order.append("first") or torch.get_num_threads(), lambda: order.append("second") or 0) == (2, 0)
    assert order == ["first", "second"]


def test_a_failing_half_raises_only_once_the_other_has_finished(two_threads):
    finished = threading.Event()

    def slow_half() -> None:
        finished.wait(0.2)
        finished.set()

    def failing_half() -> None:
        raise ValueError("half failed")

    with pytest.raises(ValueError, match="half failed"):
        Halves(side_by_side=True).run(failing_half, slow_half)
    assert finished.is_set()


def one_step(demo_root, run_dir, parallel_halves: bool) -> tuple[dict, dict]:
    """The losses of one training step and the gradients it left, its update made negligible
    (Adam would turn the rounding noise in the gradients of biases before a norm, which are
    zero in exact arithmetic, into whole steps of either sign)."""
    torch.manual_seed(0)
    config = tiny_config(demo_root, run_dir, max_steps=1, parallel_halves=parallel_halves)
    config.optim.lr = 1e-30
    trainer = Trainer(config)
    losses = trainer.train_step(trainer.preview_a[:2], trainer.preview_b[:2])
    return losses, {name: p.grad for name, p in trainer.model.named_parameters()}


def test_an_update_side_by_side_is_the_update_in_turn(demo_root, tmp_path, two_threads):
    side_by_side_losses, side_by_side_grads = one_step(demo_root, tmp_path / "side", parallel_halves=True)
    in_turn_losses, in_turn_grads = one_step(demo_root, tmp_path / "turn", parallel_halves=False)
    # Equal up to the order of floating-point sums, which depends on the number of threads
    # (gradients are of order 1; their rounding differs by about 1e-5).
    assert side_by_side_losses.keys() == in_turn_losses.keys()
    for name, loss in side_by_side_losses.items():
        torch.testing.assert_close(loss, in_turn_losses[name], rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")
    for name, grad in side_by_side_grads.items():
        torch.testing.assert_close(grad, in_turn_grads[name], rtol=1e-4, atol=1e-4, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize(
    "model, loss, blocker",
    [({"norm": "batch"}, {}, "--norm batch"), ({"dropout": 0.5}, {}, "--dropout"), ({}, {"gan_loss": "wgangp"}, "--gan-loss wgangp")],
)
def test_halves_stay_in_turn_where_running_them_side_by_side_would_race(demo_root, tmp_path, two_threads, caplog, model, loss, blocker):
    """Both round trips call both generators: state changed by a call, or random numbers drawn
    during it, would depend on which half got there first."""
    config = tiny_config(demo_root, tmp_path, parallel_halves=True)
    config = config.updated({"model": model, "loss": loss})
    with caplog.at_level(logging.WARNING, logger="stylecycle"):
        trainer = Trainer(config)
    assert not trainer.update.halves.side_by_side
    assert blocker in caplog.text


def test_halves_run_side_by_side_by_default_on_the_cpu(demo_root, tmp_path, two_threads):
    assert Trainer(tiny_config(demo_root, tmp_path)).update.halves.side_by_side
