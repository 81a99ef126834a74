"""A colour transform the network predicts from a thumbnail and applies to the full photograph:
an image-adaptive 3D look-up table (Zeng et al., "Learning Image-adaptive 3D Lookup Tables for
High Performance Photo Enhancement in Real-time", TPAMI 2020).

Why: many styles are mostly a colour mapping (a grade, a palette, a tone curve). A pixel
generator must learn such a mapping through millions of convolution weights and paints
checkerboards and blur while it does; a table of 17^3 colours learns it from few examples in
few steps, cannot paint any spatial artefact, and costs the same at 24 megapixels as at 96x96
plus one trilinear lookup per pixel.

The table is ``identity + global residual + sum_k w_k(image) * basis_k``: the global residual is
the style's mapping for every image, the weighted bases let it adapt to each image's exposure
and content, and the weights come from a small encoder that looks at a 64x64 thumbnail and its
colour statistics. All residuals start at zero, so a new colour stage is exactly the identity.
Applied as a trilinear ``grid_sample`` on the 3D table (ONNX GridSample, opset 20).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ..precision import at_least_fp32
from .norm import NormLayer, imposed_statistics, instance_norm, record_statistics

THUMBNAIL = 64
# The residual tables are stored divided by this, so that Adam, whose steps have the size of the
# learning rate whatever the gradient, moves a colour by 10x the learning rate per step: a grade
# is a shift of tenths, reached in hundreds of steps instead of thousands.
TABLE_GAIN = 10.0


def identity_table(size: int) -> torch.Tensor:
    """3 x size^3 table that maps every colour to itself. Axes (blue, green, red), as
    ``grid_sample`` reads a grid's (x, y, z) = (r, g, b) against (W, H, D)."""
    levels = torch.linspace(-1.0, 1.0, size)
    blue, green, red = torch.meshgrid(levels, levels, levels, indexing="ij")
    return torch.stack([red, green, blue])


class ColourTable(nn.Module):
    """Per-image 3D colour look-up table: [-1, 1] images in, [-1, 1] images out, any size."""

    if TYPE_CHECKING:  # a buffer
        identity: torch.Tensor

    def __init__(self, size: int = 17, bases: int = 3, width: int = 16, norm: NormLayer | None = None) -> None:
        super().__init__()
        norm = norm or instance_norm()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, width * 2, width * 4, width * 8):  # 64 -> 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.LeakyReLU(0.2, True), norm(out)]
            channels = out
        self.encoder = nn.Sequential(*layers)
        self.thumbnail, self.gain = THUMBNAIL, TABLE_GAIN  # attributes, not globals, so that TorchScript can see them
        # InstanceNorm removes each map's own level, and so the photo's exposure and colour cast,
        # which a grade depends on: the thumbnail's mean and spread per channel join the features.
        self.weights = nn.Linear(channels + 6, bases)
        self.size = size
        self.register_buffer("identity", identity_table(size), persistent=False)
        # Flat, so that a network converted to channels-last (4D tensors only) keeps them as they are.
        self.shared = nn.Parameter(torch.zeros(3 * size**3))
        self.bases = nn.Parameter(torch.zeros(bases, 3 * size**3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = self.table_for(x)
        grid = at_least_fp32(x).permute(0, 2, 3, 1).unsqueeze(1)  # N x 1 x H x W x (r, g, b)
        out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.squeeze(2).clamp(-1.0, 1.0).to(x.dtype)

    @torch.no_grad()
    def start_from(self, table: torch.Tensor) -> None:
        """Make ``table`` (3 x size^3, :func:`identity_table`'s layout) the mapping for every image."""
        self.shared.copy_((table.to(self.identity) - self.identity).flatten() / self.gain)
        self.bases.zero_()

    def table_for(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x size^3: the table this image asks for, or, within a tiled translation, the
        one the whole image asked for (so that no tile is graded differently from the next)."""
        if not torch.jit.is_scripting():
            imposed = self._imposed_table()
            if imposed is not None:
                return imposed
        thumbnail = F.interpolate(at_least_fp32(x), size=(self.thumbnail, self.thumbnail), mode="bilinear", align_corners=False)
        features = [self.encoder(thumbnail).mean((2, 3)), thumbnail.mean((2, 3)), thumbnail.std((2, 3))]
        weights = at_least_fp32(self.weights(torch.cat(features, 1)))
        # A weighted sum rather than a matrix product, which autocast would compute in bf16.
        residual = self.gain * (self.shared + (weights[:, :, None] * self.bases).sum(1))
        table = self.identity + residual.view(-1, 3, self.size, self.size, self.size)
        if not torch.jit.is_scripting():
            self._record(table)
        return table

    @torch.jit.unused
    def _imposed_table(self) -> torch.Tensor | None:
        imposed = imposed_statistics(self)
        return None if imposed is None else imposed[0]

    @torch.jit.unused
    def _record(self, table: torch.Tensor) -> None:
        record_statistics(self, table)
