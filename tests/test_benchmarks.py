"""The benchmark scripts load: their imports hold (running them takes minutes to hours); the
headroom script's decomposition of a trained run works on a real one."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import trained_tiny_model
from stylecycle.data.demo import load_photo
from stylecycle.data.io import read_pil
from stylecycle.data.styles import to_array

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_every_benchmark_script_imports(script):
    command = [sys.executable, "-c", f"import {script}"]  # each runs its benchmark only as __main__
    result = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture
def headroom(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import headroom

    return headroom


def test_headroom_scores_a_trained_runs_parts_apart(headroom, tmp_path):
    checkpoint, _ = trained_tiny_model(tmp_path, colour_lut=True, abstraction=True)
    names = sorted(p.name for p in (tmp_path / "data" / "testA").glob("*.png"))
    photos, truths = [read_pil(tmp_path / "data" / "testA" / n) for n in names], [read_pil(tmp_path / "data" / "testB" / n) for n in names]
    rows = headroom.decomposed("poster", checkpoint, photos, truths)
    assert list(rows) == [
        "trained model",
        "its stage + best colour mapping",
        "its stage and colour table, no network",
        "its colour table alone",
        "spatial steps + its colour table",
    ]
    assert all(math.isfinite(row["psnr"]) and 0 < row["ssim"] <= 1 for row in rows.values())


def test_headroom_takes_the_photo_as_the_stage_of_a_generator_without_one(headroom, tmp_path):
    """Without stages, the stage's row is the best colour mapping of the photo itself."""
    checkpoint, _ = trained_tiny_model(tmp_path)
    names = sorted(p.name for p in (tmp_path / "data" / "testA").glob("*.png"))
    photos, truths = [read_pil(tmp_path / "data" / "testA" / n) for n in names], [read_pil(tmp_path / "data" / "testB" / n) for n in names]
    rows = headroom.decomposed("poster", checkpoint, photos, truths)
    fitted = headroom.best_colour_mapping([to_array(p) for p in photos], [to_array(t) for t in truths])
    assert list(rows) == ["trained model", "its stage + best colour mapping"]
    assert rows["its stage + best colour mapping"] == headroom.scored(fitted, truths)


def test_headroom_sets_the_stage_by_hand_to_one_operator_and_its_lines(headroom):
    """Set to one operator with faint lines, the stage is that operator's patches; strong lines
    darken the edges of those patches and nothing else."""
    photo = to_array(load_photo("chelsea"))[:64, :64]
    operated = headroom.stage_patches(photo)
    assert list(operated) == ["photo", "radius 2", "radius 4", "radius 6", "bilateral"]
    assert np.allclose(operated["photo"], photo, atol=1e-6)
    patches = operated["radius 4"]
    faint, strong = headroom.stage_lines(1e-4, 0.1)(patches), headroom.stage_lines(0.95, 0.1)(patches)
    assert abs(faint - patches).max() < 1e-3
    darkened = (strong < patches - 0.01).any(-1)
    assert 0 < darkened.mean() < 0.5
    assert (strong <= patches + 1e-3).all()
