import dataclasses
from pathlib import Path

import pytest

from stylecycle.cli import build_parser
from stylecycle.config import Config, TranslateConfig, config_from_dict, config_to_dict, flag_name, read_config_file, write_config_file
from stylecycle.errors import ConfigError


def test_config_survives_the_round_trip_through_plain_data():
    config = Config()
    config.data.root, config.train.run_dir, config.model.n_blocks, config.train.max_steps = Path("d"), Path("r"), 6, 12
    again = config_from_dict(config_to_dict(config))
    assert again == config
    assert all(type(v) in (str, int, float, bool, type(None)) for s in config_to_dict(config).values() for v in s.values())


def test_unknown_keys_in_a_stored_config_are_refused():
    raw = config_to_dict(Config())
    raw["model"]["wings"] = 2
    with pytest.raises(ConfigError, match="wings"):
        config_from_dict(raw)


def test_every_config_field_has_exactly_one_flag():
    help_text = {action.dest: action.option_strings for action in build_parser()._subparsers._group_actions[0].choices["train"]._actions}
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(section.default_factory):
            assert help_text[f"{section.name}.{f.name}"][0] == flag_name(f)
    translate = build_parser()._subparsers._group_actions[0].choices["translate"]
    assert {a.dest for a in translate._actions} >= {f"translate.{f.name}" for f in dataclasses.fields(TranslateConfig)}


def test_the_paper_recipe_is_the_cyclegan_papers_settings_under_its_new_and_old_name():
    paper = Config.from_recipe({"train": {"recipe": "paper"}})
    assert Config.from_recipe({"train": {"recipe": "cyclegan"}}).updated({"train": {"recipe": "paper"}}) == paper
    config = paper.updated({})
    assert (config.loss.gan_loss, config.loss.cycle_loss, config.loss.lambda_cycle, config.loss.lambda_identity) == (
        "lsgan",
        "l1",
        10.0,
        0.5,
    )
    assert (config.optim.lr, config.optim.beta1, config.optim.beta2, config.optim.pool_size) == (2e-4, 0.5, 0.999, 50)
    assert (config.model.generator, config.model.ngf, config.model.ndf, config.model.n_layers_d) == ("resnet_9blocks", 64, 64, 3)
    assert (config.model.norm, config.model.discriminator, config.optim.lr_policy, config.optim.d_first) == (
        "instance",
        "patch",
        "linear",
        False,
    )


def test_a_config_written_as_yaml_reads_back_equal(tmp_path):
    config = Config()
    config.data.root, config.model.generator, config.optim.lr, config.model.n_blocks = Path("d"), "unet_128", 3e-4, None
    write_config_file(config, tmp_path / "c.yaml", header="written by a test")
    assert (tmp_path / "c.yaml").read_text().startswith("# written by a test\n")
    assert Config().updated(read_config_file(tmp_path / "c.yaml")) == config


def test_a_config_file_may_set_some_options_in_yaml_spellings(tmp_path):
    (tmp_path / "c.yaml").write_text("optim:\n  lr: 1e-4\ndata:\n  flip: 'false'\n  size: 128.0\n")
    assert read_config_file(tmp_path / "c.yaml") == {
        "data": {"flip": False, "size": 128},
        "model": {},
        "loss": {},
        "optim": {"lr": 1e-4},
        "train": {},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  wings: 2\n", "unknown config keys in section 'model'.*wings"),
        ("engine:\n  lr: 1\n", "unknown sections.*engine"),
        ("model:\n  generator: resnet_99\n", "'resnet_99' is not one of lut, mobile_resnet_6blocks, mobile_resnet_9blocks, resnet_6blocks"),
        ("data:\n  size: 1.5\n", "section 'data': 1.5 is not a whole number"),
        ("data:\n  flip: maybe\n", "'maybe' is not true or false"),
        ("- just\n- a list\n", "must map sections"),
        ("model: [unclosed\n", "is not valid YAML"),
    ],
)
def test_a_bad_config_file_gets_one_line_naming_the_problem(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        read_config_file(tmp_path / "c.yaml")
    assert "c.yaml" in str(caught.value) and "\n" not in str(caught.value)


def test_train_flags_override_the_config_file(tmp_path):
    from stylecycle.cli import given_options

    (tmp_path / "c.yaml").write_text("optim:\n  lr: 1.0e-4\n  beta1: 0.9\n")
    args = build_parser().parse_args(["train", "--config", str(tmp_path / "c.yaml"), "--lr", "5e-4"])
    assert given_options(args)["optim"] == {"lr": 5e-4, "beta1": 0.9}
