"""The image pool of Shrivastava et al.: discriminators also see fakes from earlier steps.

Showing a discriminator only the newest fakes lets the two players chase each other in
circles; a memory of past generator outputs damps that oscillation.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """Keeps up to ``size`` past fakes. Each query returns, per image, either the new image or
    (with probability 1/2, once the pool is full) a stored one that the new image replaces."""

    def __init__(self, size: int, *, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[slot])
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.size = int(state["size"])
        self.images = [image.to(device) for image in state["images"]]
        self.generator.set_state(state["generator"])
