"""--ema: a moving average of the generators' weights, used for samples, translation and export."""

from __future__ import annotations

import torch

from conftest import tiny_config
from stylecycle.generator_files import load_generator
from stylecycle.training.checkpoint import load_checkpoint
from stylecycle.training.trainer import Trainer, resume_trainer


def ema_config(demo_root, run_dir, **train):
    return tiny_config(demo_root, run_dir, **train).updated({"optim": {"ema": 0.8}})


def test_the_average_follows_the_weights_by_the_decay_each_step(demo_root, tmp_path):
    trainer = Trainer(ema_config(demo_root, tmp_path / "run", max_steps=6))
    real_a, real_b = trainer.preview_a[:1], trainer.preview_b[:1]
    expected = None
    for _ in range(6):
        trainer.train_step(real_a, real_b)
        weights = {k: v.detach().clone() for k, v in trainer.model.G_ab.state_dict().items()}
        # the first update copies, each later one moves 1 - decay of the way
        expected = weights if expected is None else {k: 0.8 * expected[k] + 0.2 * weights[k] for k in weights}
    averaged = trainer.ema.translators()["G_ab"].state_dict()
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name], value, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(averaged["model.1.weight"], trainer.model.G_ab.state_dict()["model.1.weight"])


def test_translation_and_export_use_the_average_and_resuming_continues_it_exactly(demo_root, tmp_path):
    straight = Trainer(ema_config(demo_root, tmp_path / "straight", max_steps=6))
    straight.run()
    halves = Trainer(ema_config(demo_root, tmp_path / "halves", max_steps=6))
    halves.total_steps = 3
    halves.run()
    resumed = resume_trainer(tmp_path / "halves")
    resumed.run()
    for name in ("G_ab_ema", "G_ba_ema"):
        for key, value in straight.ema.state_dict()[name].items():
            assert torch.equal(value, resumed.ema.state_dict()[name][key]), f"{name}.{key}"
    assert int(load_checkpoint(tmp_path / "halves")["ema"]["updates"]) == 6

    generator, _ = load_generator(tmp_path / "straight", "b2a")
    for key, value in generator.state_dict().items():
        assert torch.equal(value, straight.ema.translators()["G_ba"].state_dict()[key]), key
