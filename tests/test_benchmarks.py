"""The benchmark scripts load: their imports hold (running them takes minutes to hours)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_every_benchmark_script_imports(script):
    command = [sys.executable, "-c", f"import {script}"]  # each runs its benchmark only as __main__
    result = subprocess.run(command, cwd=BENCHMARKS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
