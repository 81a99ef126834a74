"""stylecycle evaluate: PSNR/SSIM against paired references, FID/KID against a target folder,
reports a user can read, and scores over a run's checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter, ImageOps
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from conftest import tiny_config
from stylecycle.cli import main
from stylecycle.config import EvaluateConfig
from stylecycle.errors import ConfigError
from stylecycle.evaluation import SHEET_GAP, SHEET_HEIGHT, SHEET_LABEL, comparison_sheet, distribution_scores, feature_matrix, paired_scores


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's Inception v3 with random weights, saved where --inception-weights reads
    it: the real network and loading path, without the real weights (which are not here)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    folder = tmp_path_factory.mktemp("inception")
    torch.save({}, folder / "empty.pth")
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(folder / "empty.pth"))
    for module in network.modules():  # PyTorch's default init shrinks the features to ~1e-8 over 40 layers
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(network.state_dict(), folder / "random_inception.pth")
    return folder / "random_inception.pth"


@pytest.fixture
def no_torch_cache(tmp_path, monkeypatch):
    """A torch hub cache without the Inception weights."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def test_psnr_and_ssim_agree_with_scikit_image_on_real_images(demo_root):
    for photo in sorted((demo_root / "testA").iterdir()):
        output, truth = Image.open(photo).convert("RGB"), Image.open(demo_root / "testB" / photo.name).convert("RGB")
        ours = paired_scores(output, truth)
        a, b = np.asarray(output), np.asarray(truth)
        assert ours["psnr"] == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255), abs=1e-3)
        reference_ssim = structural_similarity(
            b, a, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert ours["ssim"] == pytest.approx(reference_ssim, abs=1e-3)


def evaluate_cli(*args: object) -> int:
    return main(["evaluate", *map(str, args)])


class ColourStatistics(torch.nn.Module):
    """A tiny feature extractor: each channel's mean and standard deviation of uint8 images."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.float().div(255).flatten(2)
        return torch.cat([pixels.mean(2), pixels.std(2)], dim=1)


def test_fid_and_kid_are_near_zero_for_identical_sets_and_larger_for_different_ones(demo_root):
    posters = [Image.open(p).convert("RGB") for p in sorted((demo_root / "trainB").iterdir())]
    negatives = [ImageOps.invert(poster) for poster in posters]
    features = ColourStatistics()
    poster_features, negative_features = feature_matrix(posters, features), feature_matrix(negatives, features)
    same, different = distribution_scores(poster_features, poster_features), distribution_scores(negative_features, poster_features)
    assert abs(same["fid"]) < 1e-6 * different["fid"]
    # KID's unbiased estimator is slightly negative for identical finite sets: -(2/n)(mean k(x, x) - mean k(x, y)).
    assert abs(same["kid"]) < 0.1 * different["kid"]


def test_fid_and_kid_run_end_to_end_through_a_randomly_initialised_inception(demo_root, random_inception, tmp_path):
    """Translations equal to the target set score FID 0; their inputs (photos, paired by name) do not."""
    code = evaluate_cli(
        "--outputs",
        demo_root / "trainB",
        "--inputs",
        demo_root / "trainA",
        "--target",
        demo_root / "trainB",
        "--inception-weights",
        random_inception,
        "--report",
        tmp_path / "r",
    )
    assert code == 0
    report = json.loads((tmp_path / "r" / "metrics.json").read_text())
    translated, identity = report["summary"]["translated"], report["summary"]["identity (input unchanged)"]
    assert abs(translated["fid"]) < 1e-3 * identity["fid"] and identity["fid"] > 0
    assert all(np.isfinite([translated["kid"], translated["kid_std"], identity["kid"]])) and not report["unavailable"]


def test_without_inception_weights_fid_and_kid_are_unavailable_with_the_reason_and_psnr_still_runs(
    demo_root, tmp_path, no_torch_cache, capsys
):
    assert (
        evaluate_cli(
            "--outputs",
            demo_root / "testA",
            "--references",
            demo_root / "testB",
            "--target",
            demo_root / "trainB",
            "--report",
            tmp_path / "r",
        )
        == 0
    )
    report = json.loads((tmp_path / "r" / "metrics.json").read_text())
    reason = report["unavailable"]["fid"]
    assert (
        reason.startswith("weights-inception-2015-12-05-6726825d.pth (for FID and KID) is not in the torch hub cache")
        and "--inception-weights" in reason
    )
    assert report["summary"]["translated"]["psnr"] > 10
    assert "FID and KID unavailable: weights-inception-2015-12-05-6726825d.pth (for FID and KID)" in capsys.readouterr().out


def test_a_file_that_is_not_inception_weights_is_reported_not_loaded(demo_root, tmp_path):
    (tmp_path / "inception.pth").write_text("not weights")
    evaluate_cli(
        "--outputs",
        demo_root / "testA",
        "--target",
        demo_root / "trainB",
        "--inception-weights",
        tmp_path / "inception.pth",
        "--report",
        tmp_path / "r",
    )
    assert "cannot read Inception weights" in json.loads((tmp_path / "r" / "metrics.json").read_text())["unavailable"]["kid"]


def test_the_identity_baseline_scores_the_inputs_and_bad_outputs_are_skipped_and_listed(demo_root, tmp_path):
    outputs = tmp_path / "outputs"
    shutil.copytree(demo_root / "testB", outputs)  # perfect translations...
    (outputs / "chelsea.png").write_bytes(b"\x89PNG broken")  # ...one unreadable,
    Image.new("RGB", (8, 8)).save(outputs / "coffee_right.png")  # one of the wrong size,
    Image.new("RGB", (8, 8)).save(outputs / "stray.png")  # one with no reference
    assert (
        evaluate_cli("--outputs", outputs, "--references", demo_root / "testB", "--inputs", demo_root / "testA", "--report", tmp_path / "r")
        == 0
    )
    report = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert [row["image"] for row in report["per_image"]] == ["astronaut_right", "hubble_deep_field_right", "rocket_right"]
    assert report["summary"]["translated"]["psnr"] == float("inf") and report["summary"]["translated"]["ssim"] == pytest.approx(1.0)
    assert 10 < report["summary"]["identity (input unchanged)"]["psnr"] < 25
    skipped = " ".join(report["skipped"])
    assert "chelsea.png" in skipped and "coffee_right: is 8x8 but its reference is" in skipped and "no reference named stray" in skipped
    markdown = (tmp_path / "r" / "metrics.md").read_text()
    assert "| identity (input unchanged) | 3 |" in markdown and "| rocket_right | ∞ | 1.000 |" in markdown


def test_the_comparison_sheet_shows_input_translation_and_reference_per_row(demo_root, tmp_path):
    assert (
        evaluate_cli(
            "--outputs",
            demo_root / "testB",
            "--references",
            demo_root / "testB",
            "--inputs",
            demo_root / "testA",
            "--report",
            tmp_path / "r",
            "--sheet-images",
            2,
        )
        == 0
    )
    sheet = Image.open(tmp_path / "r" / "comparison.png")
    assert sheet.height == SHEET_LABEL + 2 * (SHEET_HEIGHT + SHEET_GAP)
    rows = [[("input", Image.new("RGB", (50, 100), "red")), ("translation", Image.new("RGB", (100, 100), "green"))]]
    drawn = np.asarray(comparison_sheet(rows))
    assert drawn.shape == (SHEET_LABEL + SHEET_HEIGHT + SHEET_GAP, SHEET_HEIGHT // 2 + SHEET_GAP + SHEET_HEIGHT, 3)
    assert tuple(drawn[SHEET_LABEL + 5, 5]) == (255, 0, 0) and tuple(drawn[SHEET_LABEL + 5, -5]) == (0, 128, 0)


def test_every_checkpoint_of_a_run_is_translated_and_scored_over_training(demo_root, tmp_path):
    from stylecycle.training.trainer import Trainer

    Trainer(tiny_config(demo_root, tmp_path / "run", max_steps=4, save_every=2, keep_last=0)).run()
    code = evaluate_cli(
        "--checkpoint",
        tmp_path / "run",
        "--all-checkpoints",
        "--inputs",
        demo_root / "testA",
        "--references",
        demo_root / "testB",
        "--precision",
        "fp32",
    )
    assert code == 0
    folder = tmp_path / "run" / "evaluation"
    rows = json.loads((folder / "over_training.json").read_text())
    assert [row["step"] for row in rows] == [2, 4] and all(row["images"] == 5 and row["psnr"] > 5 for row in rows)
    assert (folder / "over_training.png").stat().st_size > 0 and (folder / "step_00000004" / "comparison.png").exists()
    assert sorted(p.name for p in (folder / "step_00000002" / "translated").iterdir()) == sorted(
        p.name for p in (demo_root / "testA").iterdir()
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"references": Path("r")}, "give either --outputs"),
        ({"outputs": Path("o"), "checkpoint": Path("c"), "references": Path("r")}, "give either --outputs"),
        ({"checkpoint": Path("c"), "references": Path("r")}, "--checkpoint needs --inputs"),
        ({"outputs": Path("o")}, "nothing to compare with"),
        ({"outputs": Path("o"), "references": Path("r"), "all_checkpoints": True}, "--all-checkpoints needs --checkpoint"),
    ],
)
def test_evaluate_options_that_cannot_work_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        EvaluateConfig(**options).validate()


def test_a_missing_output_folder_is_one_line(tmp_path, capsys):
    assert evaluate_cli("--outputs", tmp_path / "nowhere", "--references", tmp_path) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def smooth_photo(side: int = 96) -> Image.Image:
    return Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(2))


def test_a_checkerboard_laid_over_a_translation_is_scored_against_the_references_own():
    reference = smooth_photo()
    pixels = np.asarray(reference).astype(np.int16)
    board = (np.indices(pixels.shape[:2]).sum(0) % 2 * 2 - 1)[..., None] * 6  # +-6 levels, period 2
    checkered = Image.fromarray(np.clip(pixels + board, 0, 255).astype(np.uint8))
    assert paired_scores(reference, reference)["checkerboard"] == pytest.approx(1.0)
    assert paired_scores(checkered, reference)["checkerboard"] > 5  # +-6 grey levels: about 11x the photo's own


def test_a_band_along_the_top_edge_is_caught_by_the_border_score():
    reference = smooth_photo()
    pixels = np.asarray(reference).astype(np.int16)
    everywhere = Image.fromarray(np.clip(pixels + 8, 0, 255).astype(np.uint8))
    banded = pixels.copy()
    banded[:3] += 40
    banded = Image.fromarray(np.clip(banded, 0, 255).astype(np.uint8))
    assert paired_scores(everywhere, reference)["border"] == pytest.approx(1.0, abs=0.1)
    assert paired_scores(banded, reference)["border"] > 10


def test_a_blob_in_one_corner_is_scored_in_full_not_diluted_by_the_rest_of_the_frame():
    reference = smooth_photo()
    pixels = np.asarray(reference).astype(np.int16) + 8  # off by 8 grey levels everywhere...
    pixels[:4, -16:] += 40  # ...and by 48 in a 4 x 16 blob at the top-right corner: 1 / 23 of the frame
    blob = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    assert paired_scores(blob, reference)["border"] > 3  # its stretch of the top edge: half blob, half the rest
