import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import tiny_config
from stylecycle.config import ModelConfig
from stylecycle.errors import StylecycleError
from stylecycle.losses import discriminator_adversarial_loss
from stylecycle.model import CycleGAN, build_model, run_together
from stylecycle.training.checkpoint import load_checkpoint
from stylecycle.training.pool import ImagePool
from stylecycle.training.schedulers import LrFactor, LrSchedule
from stylecycle.training.trainer import Trainer, resume_trainer


def test_training_steps_change_the_weights_and_lower_the_cycle_loss(demo_root, tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=60))
    real_a, real_b = trainer.preview_a[:1], trainer.preview_b[:1]  # one fixed pair: an overfit case
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    cycle = []
    for _ in range(60):
        losses = trainer.train_step(real_a, real_b)
        cycle.append((losses["cycle_a"] + losses["cycle_b"]).item())
    for name, value in trainer.model.state_dict().items():
        if value.is_floating_point():
            assert not torch.equal(before[name], value), f"{name} did not change"
    assert sum(cycle[-10:]) < 0.75 * sum(cycle[:10])


def test_identity_loss_can_be_switched_off(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path / "run", max_steps=1).updated({"loss": {"lambda_identity": 0.0}})
    trainer = Trainer(config)
    losses = trainer.train_step(trainer.preview_a[:1], trainer.preview_b[:1])
    assert set(losses) == {"G_ab", "G_ba", "cycle_a", "cycle_b", "D_a", "D_b"}


def test_networks_with_batch_statistics_are_called_once_per_input():
    torch.manual_seed(0)
    model = CycleGAN(ModelConfig(ngf=4, ndf=4, n_blocks=1, norm="batch"))
    calls = []
    model.G_ab.register_forward_pre_hook(lambda module, inputs: calls.append(inputs[0].shape[0]))
    run_together(model.G_ab, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert calls == [2, 2]  # real A, then real B for the identity term: never mixed in one batch


def test_networks_with_per_sample_statistics_take_several_inputs_in_one_call():
    torch.manual_seed(0)
    model = CycleGAN(ModelConfig(ngf=4, ndf=4, n_blocks=1))
    calls = []
    model.G_ab.register_forward_pre_hook(lambda module, inputs: calls.append(inputs[0].shape[0]))
    x, y = torch.rand(2, 3, 32, 32), torch.rand(1, 3, 32, 32)
    together = run_together(model.G_ab, x, y)
    assert calls == [3]
    torch.testing.assert_close(together[1], model.G_ab(y), rtol=1e-5, atol=1e-6)


def test_discriminator_loss_is_half_the_real_plus_fake_loss():
    torch.manual_seed(0)
    model = CycleGAN(ModelConfig(ngf=4, ndf=4, n_blocks=1))
    real, fake = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    loss = discriminator_adversarial_loss("lsgan", model.D_a(real), model.D_a(fake))
    with torch.no_grad():
        expected = 0.5 * (((model.D_a(real)[0] - 1) ** 2).mean() + (model.D_a(fake)[0] ** 2).mean())
    torch.testing.assert_close(loss.detach(), expected)


def test_image_pool_returns_new_images_until_full_then_mixes_in_old_ones():
    pool = ImagePool(3, seed=0)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)
    later = torch.full((50, 1, 1, 1), 99.0)
    out = pool.query(later)
    returned_old = (out != 99).sum().item()
    assert 0 < returned_old <= 3  # old fakes come back, each at most once before being replaced
    assert len(pool.images) == 3


def test_disabled_image_pool_passes_images_through():
    images = torch.randn(4, 3, 2, 2)
    assert ImagePool(0).query(images) is images


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    schedule = LrFactor("linear", constant_steps=100, total_steps=200)
    assert [schedule(s) for s in (0, 99, 100, 150, 200)] == [1.0, 1.0, 1.0, 0.5, 0.0]


def test_cosine_policy_falls_from_one_to_zero_along_half_a_cosine():
    factor = LrFactor("cosine", constant_steps=100, total_steps=200)
    assert [round(factor(s), 6) for s in (0, 100, 150, 200)] == [1.0, 1.0, 0.5, 0.0]


def test_step_policy_multiplies_by_gamma_at_each_interval():
    factor = LrFactor("step", constant_steps=0, total_steps=100, step_every=10, gamma=0.5)
    assert [factor(s) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]


def test_plateau_policy_lowers_the_rate_only_after_epochs_without_improvement():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = LrSchedule(optimizer, LrFactor("plateau", 0, 100, gamma=0.1), patience=2)
    for loss in (5.0, 4.0, 3.0):  # improving
        schedule.step()
        schedule.epoch_end(loss)
    assert schedule.last_lr() == 1.0
    for loss in (3.0, 3.0, 3.0):  # stalled for more than 2 epochs
        schedule.epoch_end(loss)
    assert schedule.last_lr() == pytest.approx(0.1)


def test_max_steps_stops_training_and_the_schedule_spans_them(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=8, epochs=1, decay_epochs=1))
    trainer.run()
    assert trainer.step == 8
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(0.0)
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(0.0)


def test_a_run_writes_checkpoints_and_sample_grids(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path / "run", max_steps=4)
    config.train.sample_every = 2
    final = Trainer(config).run()
    assert final.name == "step_00000004.pt" and final.exists()
    samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert samples == ["step_00000002.png", "step_00000004.png"]
    assert (tmp_path / "run" / "train.log").read_text().count("finished after 4 steps") == 1


def test_an_epoch_covers_every_image_of_the_larger_domain(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=1))
    trainer.sampler.set_epoch(3)
    indices = list(trainer.sampler)
    assert sorted(i_a for i_a, _, _ in indices) == list(range(6))
    assert indices == list(trainer.sampler)  # replayable
    trainer.sampler.set_epoch(4)
    assert indices != list(trainer.sampler)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_the_cpu(demo_root, tmp_path, precision):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=20, precision=precision))
    before = trainer.model.G_ab.model[1].weight.detach().clone()
    # fp16 skips the first steps while the loss scale falls to a value whose gradients fit
    losses = [trainer.train_step(trainer.preview_a[:1], trainer.preview_b[:1]) for _ in range(20)]
    assert all(torch.isfinite(v).all() for step in losses for v in step.values())
    assert not torch.equal(before, trainer.model.G_ab.model[1].weight)
    assert trainer.model.G_ab.model[1].weight.dtype == torch.float32  # weights stay fp32; only the arithmetic is cast
    assert trainer.scaler.is_enabled() == (precision == "fp16")


def test_batches_are_the_same_whichever_process_loads_them(demo_root, tmp_path):
    """Pairing and augmentation depend on the seed and the step only, not on worker processes."""

    def first_batches(workers: int) -> list[torch.Tensor]:
        config = tiny_config(demo_root, tmp_path / f"run{workers}", max_steps=1)
        config.data.workers = workers
        loader = iter(Trainer(config).loader)
        return [torch.cat([batch["a"], batch["b"]]) for batch, _ in zip(loader, range(4))]

    for in_process, in_workers in zip(first_batches(0), first_batches(2)):
        torch.testing.assert_close(in_process, in_workers, rtol=0, atol=0)


def poison(trainer: Trainer, at_steps: set[int]) -> None:
    """Make G_ba's translations (so every loss they enter) NaN on the given (1-based) steps."""
    trainer.model.G_ba.register_forward_hook(lambda module, inputs, out: out * float("nan") if trainer.step + 1 in at_steps else None)


def test_a_nan_loss_skips_the_update_and_is_counted(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=4))
    poison(trainer, {2})
    weights = {}
    original_step = trainer.train_step

    def watched_step(real_a, real_b):
        weights[trainer.step + 1] = trainer.model.G_ab.model[1].weight.detach().clone()
        return original_step(real_a, real_b)

    trainer.train_step = watched_step
    trainer.run()
    assert trainer.bad_steps == 1 and trainer.step == 4
    assert torch.equal(weights[2], weights[3])  # step 2 left the generator as it was
    assert not torch.equal(weights[3], trainer.model.G_ab.model[1].weight)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_an_fp16_step_that_skips_both_updates_is_counted_like_any_other(demo_root, tmp_path):
    """Neither optimiser step ran, so the loss scaler saw no gradients: it must be left alone
    (GradScaler.update() would raise "No inf checks were recorded")."""
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=3, precision="fp16"))
    poison(trainer, {2})  # both the generators' and D_a's losses are NaN
    trainer.run()
    assert trainer.bad_steps == 1 and trainer.step == 3


def test_too_many_nan_steps_in_a_row_stop_with_advice(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=50, max_bad_steps=3))
    poison(trainer, set(range(1, 51)))
    with pytest.raises(StylecycleError, match="3 steps in a row had NaN or infinite losses.*--lr"):
        trainer.run()


def test_a_run_leaves_statistics_a_loss_plot_tensorboard_logs_and_a_page(demo_root, tmp_path):
    config = tiny_config(demo_root, tmp_path / "run", max_steps=20, sample_every=10)
    Trainer(config).run()
    run = tmp_path / "run"
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in stats] == [10, 20]
    assert {"loss/cycle_a", "loss/D_b", "lr", "images_per_s"} <= set(stats[0])
    assert Image.open(run / "losses.png").size[0] > 100
    assert any((run / "tb").glob("events.out.tfevents.*"))
    page = (run / "index.html").read_text()
    assert page.index("step_00000020.png") < page.index("step_00000010.png") and "losses.png" in page


def test_channels_last_computes_the_same_step(demo_root, tmp_path):
    def first_losses(channels_last: bool) -> dict[str, float]:
        trainer = Trainer(tiny_config(demo_root, tmp_path / f"run{channels_last}", max_steps=1, channels_last=channels_last))
        layout = torch.channels_last if channels_last else torch.contiguous_format
        a, b = (x[:1].contiguous(memory_format=layout) for x in (trainer.preview_a, trainer.preview_b))
        return {k: v.item() for k, v in trainer.train_step(a, b).items()}

    assert first_losses(True) == pytest.approx(first_losses(False), rel=1e-4)


@pytest.mark.parametrize("method", ["cyclegan", "cut"])
def test_compiled_networks_train_and_save_interchangeable_checkpoints(demo_root, tmp_path, method):
    config = tiny_config(demo_root, tmp_path / "run", max_steps=2, compile=True).updated({"model": {"method": method}})
    final = Trainer(config).run()
    eager = build_model(config.model, config.loss)
    state = torch.load(final, weights_only=True)
    assert set(state["networks"]) == set(eager.network_names)  # CUT's patch heads too
    for name in eager.network_names:
        getattr(eager, name).load_state_dict(state["networks"][name])  # same names as uncompiled


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("20m", 1200), ("1h30m", 5400), ("1.5h", 5400), ("45", 45), ("2m30s", 150)])
def test_a_time_budget_is_written_the_way_people_say_it(text, seconds):
    from stylecycle.config.options import parse_duration

    assert parse_duration(text, "--time-budget") == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-3m", "0s", "1d"])
def test_a_time_budget_that_is_not_a_duration_gets_one_line(text):
    with pytest.raises(StylecycleError, match="--time-budget"):
        tiny_config(Path("."), Path("run"), time_budget=text).train.validate()


def run_on_a_clock(trainer: Trainer, seconds_per_step: float) -> None:
    """Run ``trainer`` with a clock on which every step takes ``seconds_per_step``."""
    now = [0.0]

    def clock() -> float:
        return now[0]

    step = trainer.train_step

    def timed_step(real_a, real_b):
        now[0] += seconds_per_step
        return step(real_a, real_b)

    trainer.clock, trainer.train_step = clock, timed_step
    trainer.run()


def test_a_time_budget_stops_the_run_when_spent_with_the_learning_rate_spread_over_it(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", time_budget="6s", max_steps=5))
    run_on_a_clock(trainer, 0.125)  # 48 steps fit the budget; --max-steps does not cut it short
    assert trainer.step == 48 and trainer.elapsed_s == 6.0
    assert trainer.opt_g.param_groups[0]["lr"] < 0.05 * trainer.config.optim.lr  # decayed to about 0 at the end
    assert load_checkpoint(tmp_path / "run")["elapsed_s"] == pytest.approx(6.0)


def test_a_run_resumed_with_a_larger_budget_continues_for_the_difference(demo_root, tmp_path):
    run_on_a_clock(Trainer(tiny_config(demo_root, tmp_path / "run", time_budget="3s")), 0.125)
    more = resume_trainer(tmp_path / "run", {"train": {"time_budget": "5s"}})
    assert more.step == 24 and more.elapsed_s == 3.0
    run_on_a_clock(more, 0.125)
    assert more.step == 40 and more.elapsed_s == 5.0


def test_a_run_resumed_with_a_length_in_steps_drops_its_time_budget(demo_root, tmp_path):
    run_on_a_clock(Trainer(tiny_config(demo_root, tmp_path / "run", time_budget="3s")), 0.125)
    more = resume_trainer(tmp_path / "run", {"train": {"max_steps": 30}})
    assert more.config.train.time_budget is None and more.budget_s is None
    run_on_a_clock(more, 0.125)
    assert more.step == 30
