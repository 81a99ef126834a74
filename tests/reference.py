"""The listings of the original CycleGAN code's generator state dicts (tests/data/reference)."""

from __future__ import annotations

from pathlib import Path

LISTINGS = Path(__file__).parent / "data" / "reference"


def reference_layout(name: str) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of the original code's ``name`` generator."""
    layout = {}
    for line in (LISTINGS / f"{name}_state_dict.txt").read_text().splitlines():
        key, shape = line.split(" ", 1)
        layout[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return layout
