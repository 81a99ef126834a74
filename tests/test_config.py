import dataclasses
from pathlib import Path

import pytest

from stylecycle.cli import build_parser
from stylecycle.config import Config, TranslateConfig, flag_name
from stylecycle.errors import ConfigError


def test_config_survives_the_round_trip_through_plain_data():
    config = Config()
    config.data.root, config.train.run_dir, config.model.n_blocks, config.train.max_steps = Path("d"), Path("r"), 6, 12
    again = Config.from_dict(config.to_dict())
    assert again == config
    assert all(type(v) in (str, int, float, bool, type(None)) for s in config.to_dict().values() for v in s.values())


def test_unknown_keys_in_a_stored_config_are_refused():
    raw = Config().to_dict()
    raw["model"]["wings"] = 2
    with pytest.raises(ConfigError, match="wings"):
        Config.from_dict(raw)


def test_every_config_field_has_exactly_one_flag():
    help_text = {action.dest: action.option_strings for action in build_parser()._subparsers._group_actions[0].choices["train"]._actions}
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(section.default_factory):
            assert help_text[f"{section.name}.{f.name}"][0] == flag_name(f)
    translate = build_parser()._subparsers._group_actions[0].choices["translate"]
    assert {a.dest for a in translate._actions} >= {f"translate.{f.name}" for f in dataclasses.fields(TranslateConfig)}


def test_defaults_are_the_cyclegan_papers():
    config = Config()
    assert (config.loss.gan_loss, config.loss.cycle_loss, config.loss.lambda_cycle, config.loss.lambda_identity) == ("lsgan", "l1", 10.0, 0.5)
    assert (config.optim.lr, config.optim.beta1, config.optim.beta2, config.optim.pool_size) == (2e-4, 0.5, 0.999, 50)
    assert (config.model.generator, config.model.ngf, config.model.ndf, config.model.n_layers_d) == ("resnet_9blocks", 64, 64, 3)
    assert (config.model.norm, config.model.discriminator, config.optim.lr_policy, config.optim.d_first) == ("instance", "patch", "linear", False)
