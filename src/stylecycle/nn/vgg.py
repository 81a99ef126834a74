"""Frozen VGG features for the perceptual and style losses, with torchvision's ImageNet weights."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..pretrained import weights_file

Vgg = Literal["vgg16", "vgg19"]
# torchvision's ImageNet weights of each VGG (torchvision.models.VGG16_Weights.IMAGENET1K_V1 and
# VGG19's, whose file names are what the torch hub cache holds), spelled out so that naming
# them does not import torchvision's models.
WEIGHTS_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def layer_names(features: nn.Sequential) -> dict[str, int]:
    """``relu{block}_{n}`` → index in ``features``: the names the style-transfer papers use."""
    names, block, n = {}, 1, 0
    for index, layer in enumerate(features):
        if isinstance(layer, nn.Conv2d):
            n += 1
        elif isinstance(layer, nn.ReLU):
            names[f"relu{block}_{n}"] = index
        elif isinstance(layer, nn.MaxPool2d):
            block, n = block + 1, 0
    return names


def load_vgg_state(arch: Vgg, path: Path | None) -> dict[str, torch.Tensor]:
    """The weights file's state dict (``path``, else torch's hub cache, downloaded there if
    missing); missing or unreadable files name themselves and the fix."""
    path = weights_file(WEIGHTS_URLS[arch], path, needed_for="the perceptual and style losses", flag="--vgg-weights", hash_in_name=True)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise ConfigError(
            f"{path} is not a readable {arch} weights file ({type(exc).__name__}); pass torchvision's {Path(WEIGHTS_URLS[arch]).name}"
        ) from exc


class VggFeatures(nn.Module):
    """The activations of chosen layers of a frozen, ImageNet-trained VGG, for images in [-1, 1].

    The network is cut after the deepest layer asked for, so unused layers cost nothing.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, arch: Vgg, layers: list[str], state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        import torchvision  # its models take a second to import; only these losses need them

        features = getattr(torchvision.models, arch)(weights=None).features
        names = layer_names(features)
        unknown = [layer for layer in layers if layer not in names]
        if unknown:
            raise ConfigError(f"{arch} has no layer {', '.join(unknown)}; its layers are {', '.join(names)}")
        try:
            features.load_state_dict({k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")})
        except RuntimeError as exc:
            raise ConfigError(f"the --vgg-weights file does not hold {arch} weights: {str(exc).splitlines()[0]}") from exc
        self.layers = {names[layer]: layer for layer in layers}
        self.features = features[: max(self.layers) + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VggFeatures:
        return super().train(False)  # always the frozen, evaluation-mode network

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.layers:
                out[self.layers[index]] = x
        return out


def build_vgg_features(arch: Vgg, layers: list[str], weights: Path | None) -> VggFeatures:
    return VggFeatures(arch, layers, load_vgg_state(arch, weights))
