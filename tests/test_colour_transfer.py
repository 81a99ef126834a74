"""--colour-init transfer: the colour stages start from the optimal-transport colour transfer
between the two training folders."""

from __future__ import annotations

import statistics

import pytest
import torch

from conftest import tiny_config
from stylecycle.colour_transfer import sample_colours, transfer_table
from stylecycle.data.demo import build_demo_dataset
from stylecycle.data.io import read_image_uint8, read_pil, tensor_to_pil
from stylecycle.errors import ConfigError, DataError
from stylecycle.evaluation import paired_scores
from stylecycle.nn.colour import ColourTable, identity_table
from stylecycle.training.trainer import Trainer, resume_trainer


def apply(table: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """N x 3 colours through a table, as the colour stage applies it."""
    stage = ColourTable(size=table.shape[-1])
    stage.start_from(table)
    with torch.no_grad():
        return stage(colours.T.reshape(1, 3, 1, -1))[0, :, 0].T


def test_the_transfer_carries_one_colour_distribution_onto_the_other():
    generator = torch.Generator().manual_seed(0)
    source = torch.rand(50_000, 3, generator=generator) * 1.6 - 0.8
    # the target: the same colours, red darkened, blue brightened and green compressed
    target = (torch.rand(50_000, 3, generator=generator) * 1.6 - 0.8) * torch.tensor([0.5, 0.3, 0.8]) + torch.tensor([-0.3, 0.1, 0.15])
    moved = apply(transfer_table(source, target, size=9), source)
    for statistic in (lambda x: x.mean(0), lambda x: x.std(0)):
        assert torch.allclose(statistic(moved), statistic(target), atol=0.03)


def test_colours_distributed_alike_map_to_themselves():
    generator = torch.Generator().manual_seed(0)
    colours = torch.rand(100_000, 3, generator=generator) * 2 - 1
    table = transfer_table(colours, colours.flip(0), size=9)  # the same distribution, another order
    assert (table - identity_table(9)).abs().max() < 0.05


def test_on_the_colour_grade_the_transferred_table_alone_is_far_better_than_the_untouched_photo(tmp_path):
    """What makes it worth a flag: from the unpaired folders alone, in a second, the table gets
    most of a colour grade right on held-out photographs (12 dB above the untouched photo)."""
    root = build_demo_dataset(tmp_path, style="grade", train_per_domain=40)
    generator = torch.Generator().manual_seed(0)
    colours = [sample_colours([read_image_uint8(p) for p in sorted((root / f"train{d}").glob("*.png"))], 100_000, generator) for d in "AB"]
    table = transfer_table(*colours, size=17)
    untouched, transferred = [], []
    for photo in sorted((root / "testA").glob("*.png")):
        source, truth = read_image_uint8(photo).float() / 127.5 - 1, read_pil(root / "testB" / photo.name)
        untouched.append(paired_scores(read_pil(photo), truth)["psnr"])
        moved = apply(table, source.reshape(3, -1).T).T.reshape(source.shape)
        transferred.append(paired_scores(tensor_to_pil(moved), truth)["psnr"])
    assert statistics.mean(transferred) > statistics.mean(untouched) + 8


def test_training_starts_from_the_transfer_and_a_resumed_run_keeps_what_it_learned(tmp_path):
    data = build_demo_dataset(tmp_path / "data", train_per_domain=4, side=32)
    config = tiny_config(data, tmp_path / "run", max_steps=2).updated({"model": {"colour_lut": True, "colour_init": "transfer"}})
    trainer = Trainer(config)
    colours = {d: sample_colours(trainer.dataset.prepared_images(d, 4), 10_000, torch.Generator()) for d in "ab"}

    def warmth(x: torch.Tensor) -> float:  # red over blue: the poster's palette is warmer than the photos
        return (x[:, 0] - x[:, 2]).mean().item()

    for name, source, target in (("G_ab", "a", "b"), ("G_ba", "b", "a")):
        table = getattr(trainer.model, name).colour.table_for(torch.zeros(1, 3, 8, 8))[0].detach()
        before, after = (abs(warmth(x) - warmth(colours[target])) for x in (colours[source], apply(table, colours[source])))
        assert after < before / 3
    trainer.run()
    learned = trainer.model.G_ab.colour.shared.detach().clone()
    resumed = resume_trainer(tmp_path / "run")
    assert torch.equal(resumed.model.G_ab.colour.shared, learned)


def test_a_colour_rate_of_zero_holds_the_tables_at_the_transfer_while_the_networks_learn(tmp_path):
    data = build_demo_dataset(tmp_path / "data", train_per_domain=4, side=32)
    config = tiny_config(data, tmp_path / "run", max_steps=3).updated(
        {"model": {"colour_lut": True, "colour_init": "transfer"}, "optim": {"colour_lr": 0.0}}
    )
    trainer = Trainer(config)
    transferred = {name: p.detach().clone() for name, p in trainer.model.G_ab.colour.named_parameters()}
    network = trainer.model.G_ab.model.state_dict()
    network = {name: value.clone() for name, value in network.items()}
    trainer.run()
    assert all(torch.equal(p, transferred[name]) for name, p in trainer.model.G_ab.colour.named_parameters())
    assert not all(torch.equal(value, network[name]) for name, value in trainer.model.G_ab.model.state_dict().items())
    resumed = resume_trainer(tmp_path / "run")  # the colour stages keep their own rate
    assert [group["initial_lr"] for group in resumed.opt_g.param_groups] == [config.optim.lr, 0.0]


@pytest.mark.parametrize("option, value", [("colour_lr", 0.0), ("colour_content", 0.5)])
def test_the_colour_stages_own_options_need_a_colour_stage(tmp_path, option, value):
    config = tiny_config(tmp_path, tmp_path / "run").updated({"optim": {option: value}})
    with pytest.raises(ConfigError, match=f"--{option.replace('_', '-')} .* needs --colour-lut"):
        config.validate()


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_the_colour_stages_share_of_the_content_terms_is_a_fraction(tmp_path, share):
    config = tiny_config(tmp_path, tmp_path / "run").updated({"model": {"colour_lut": True}, "optim": {"colour_content": share}})
    with pytest.raises(ConfigError, match=r"--colour-content must be in \[0, 1\]"):
        config.validate()


def test_a_folder_with_nothing_readable_left_is_a_one_line_error():
    with pytest.raises(DataError, match="none of a folder's images can be read"):
        sample_colours([], 1000, torch.Generator())


def test_colour_init_needs_a_colour_stage(tmp_path):
    config = tiny_config(tmp_path, tmp_path / "run").updated({"model": {"colour_init": "transfer"}})
    with pytest.raises(ConfigError, match="--colour-init transfer .* needs --colour-lut"):
        config.validate()
