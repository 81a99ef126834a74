"""The shared listings of the original CycleGAN code's generator state dicts (../shared/reference)."""

from __future__ import annotations

import pytest


def reference_layout(request: pytest.FixtureRequest, name: str) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of the original code's ``name`` generator; skips the test when the
    listings are not beside this checkout."""
    listing = request.config.rootpath.parent / "shared" / "reference" / f"{name}_state_dict.txt"
    if not listing.exists():
        pytest.skip(f"{listing} is not beside this checkout")
    layout = {}
    for line in listing.read_text().splitlines():
        key, shape = line.split(" ", 1)
        layout[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    return layout
