import pytest
import torch

from conftest import tiny_config
from stylecycle.data.io import read_image
from stylecycle.errors import CheckpointError
from stylecycle.inference import Translator
from stylecycle.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from stylecycle.training.trainer import Trainer


@pytest.fixture()
def trained(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=3))
    return trainer, trainer.run()


@pytest.mark.parametrize("direction,network", [("a2b", "G_ab"), ("b2a", "G_ba")])
def test_translating_from_the_saved_file_matches_the_in_memory_model(trained, demo_root, direction, network):
    trainer, path = trained
    image = read_image(demo_root / "testA" / "chelsea.png")  # full size, never seen in training
    translator = Translator.from_checkpoint(path, direction, device="cpu", precision="fp32")
    with torch.no_grad():
        expected = getattr(trainer.model, network).eval()(image.unsqueeze(0))[0]
    torch.testing.assert_close(translator.translate(image), expected, rtol=0, atol=0)


def test_a_run_folder_resolves_to_its_newest_checkpoint(trained):
    trainer, path = trained
    assert Translator.from_checkpoint(trainer.run_dir, device="cpu") is not None
    assert list_checkpoints(trainer.run_dir)[-1] == path


@pytest.mark.parametrize("given", ["checkpoints", "checkpoints/latest"])
def test_the_checkpoints_folder_and_its_latest_pointer_resolve_to_the_newest_checkpoint(trained, given):
    trainer, path = trained
    assert load_checkpoint(trainer.run_dir / given)["step"] == load_checkpoint(path)["step"]
    assert Translator.from_checkpoint(trainer.run_dir / given, device="cpu") is not None


def test_checkpoint_holds_everything_to_continue_the_run(trained):
    _, path = trained
    state = load_checkpoint(path)
    assert set(state) >= {"format_version", "config", "step", "epoch", "networks", "optimizers", "schedulers", "per_rank", "rng"}
    assert set(state["networks"]) == {"G_ab", "G_ba", "D_a", "D_b"}
    assert state["step"] == 3 and state["config"]["model"]["ngf"] == 4


def test_old_checkpoints_are_pruned_to_keep_last(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=5, save_every=1, keep_last=2))
    trainer.run()
    assert [p.name for p in list_checkpoints(trainer.run_dir)] == ["step_00000004.pt", "step_00000005.pt"]


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"step": 1}, path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint({"step": 2}, path)
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "latest"]  # no temporary file left behind


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"step_00000200.pt\n", b"PK\x03\x04truncated zip"])
def test_unreadable_checkpoints_raise_a_one_line_error(tmp_path, content):
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="broken.pt") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_a_checkpoint_that_would_need_unpickling_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "payload": object()}, path)
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(path)


def test_a_newer_checkpoint_format_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({"format_version": 99}, path)
    with pytest.raises(CheckpointError, match="upgrade stylecycle"):
        load_checkpoint(path)


def test_bf16_translation_stays_close_to_fp32(trained, demo_root):
    _, path = trained
    image = read_image(demo_root / "testA" / "coffee_right.png")
    fp32 = Translator.from_checkpoint(path, device="cpu", precision="fp32").translate(image)
    bf16 = Translator.from_checkpoint(path, device="cpu", precision="bf16").translate(image)
    assert bf16.dtype == torch.float32
    assert (bf16 - fp32).abs().mean() < 0.02


def test_the_latest_pointer_names_the_newest_complete_checkpoint(trained):
    trainer, path = trained
    pointer = trainer.run_dir / "checkpoints" / "latest"
    assert pointer.read_text().strip() == path.name
    older = trainer.run_dir / "checkpoints" / "step_00000001.pt"
    save_checkpoint(load_checkpoint(path), older)  # a save moves the pointer
    assert load_checkpoint(trainer.run_dir)["step"] == 3 and pointer.read_text().strip() == older.name


def test_an_unwritable_run_folder_is_a_clear_error_and_the_last_checkpoint_survives(demo_root, tmp_path):
    trainer = Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=2))
    good = trainer.run()
    (tmp_path / "elsewhere").write_text("a file where a folder should be")
    trainer.run_dir = tmp_path / "elsewhere"
    with pytest.raises(CheckpointError, match="cannot write checkpoint .*elsewhere.*earlier checkpoints are intact"):
        trainer.save()
    assert load_checkpoint(good)["step"] == 2
