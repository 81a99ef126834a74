"""The projection heads of CUT's PatchNCE (its ``PatchSampleF``): one small MLP per encoder layer.

The reference creates them on the first batch, once the features' widths are known. Here the
widths are given (:func:`stylecycle.model.ContrastiveTranslation` measures them on a dry run of
the generator when it is built), so the heads exist, are initialised and are in every state dict
from step 0: optimisers, checkpoints, exact resume, DDP and ``torch.compile`` see them like any
other network.
"""

from __future__ import annotations

import torch
from torch import nn

from ..precision import at_least_fp32


def sample_places(features: list[torch.Tensor], count: int, groups: int) -> list[torch.Tensor]:
    """For each feature map (B x C x H x W), ``count`` distinct places (indices into H*W, at most
    all of them) drawn at random for each of ``groups`` equal slices of the batch, as B x P.

    The draws come from the CPU's global generator, layer by layer within each group in turn: the
    order in which the reference draws when it computes PatchNCE once per group.
    """
    batch = features[0].shape[0]
    drawn = [[torch.randperm(f.shape[2] * f.shape[3])[:count] for f in features] for _ in range(groups)]
    return [
        torch.stack([drawn[group][layer] for group in range(groups)]).repeat_interleave(batch // groups, 0).to(f.device)
        for layer, f in enumerate(features)
    ]


class PatchHeads(nn.Module):
    """Two-layer MLPs (Linear, ReLU, Linear to ``width``) that project the features at the
    sampled places of each layer, L2-normalised, so PatchNCE compares directions in a space the
    heads learn, not raw activations."""

    def __init__(self, channels: list[int], width: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, width), nn.ReLU(), nn.Linear(width, width)) for c in channels)

    def forward(self, features: list[torch.Tensor], places: list[torch.Tensor]) -> list[torch.Tensor]:
        """B x P x width for each layer: the projected features at ``places`` (B x P each)."""
        projected = []
        for feature, where, mlp in zip(features, places, self.mlps):
            flat = feature.flatten(2).transpose(1, 2)  # B x HW x C
            picked = flat.gather(1, where.unsqueeze(-1).expand(-1, -1, flat.shape[-1]))
            out = at_least_fp32(mlp(picked))
            # The reference's normalisation, + 1e-7: with its small initial weights the projections
            # start near that size, so the epsilon shapes the first steps (F.normalize's would not).
            projected.append(out / (out.norm(dim=-1, keepdim=True) + 1e-7))
        return projected
