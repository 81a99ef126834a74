"""An abstraction stage: edge-preserving smoothing into flat patches, and dark lines along the
edges, each with a few learnable parameters (``--abstraction``).

Why: painted, drawn and printed styles share two spatial traits that a photograph lacks — texture
flattened into patches whose borders follow the edges, and outlines — and they are the classical
pipeline of non-photorealistic rendering (Winnemöller, Olsen and Gooch, "Real-time video
abstraction", SIGGRAPH 2006: edge-preserving abstraction, then edge lines; White-box
Cartoonization, Wang and Yu, CVPR 2020, builds its surface and structure representations the same
way). A pixel generator can learn both, but under the cycle loss and a few minutes of training it
does not: flattening and inking destroy what the cycle asks it to keep, and the benchmark's pixel
networks stay at the photo plus a colour change. This stage has them built in, as operators with a
handful of parameters, and it starts as (nearly) the identity. Training sets them from the
discriminator's verdict alone (:meth:`stylecycle.training.step.Update.adversarial_shares`): the
content terms would turn the stage off on every style, the discriminator turns it on as far as the
target folder has patches, smoothing and lines (for a colour grade: its bilateral smoothing alone).

- Smoothing: a mixture of the photo, Kuwahara filters (each pixel takes the mean of whichever of
  its four corner windows varies least: flat patches with sharp borders) at three radii, and a
  bilateral filter (each pixel the mean of its neighbours weighted by nearness and likeness of
  colour: smooth regions, edges kept, no patches — Winnemöller et al.'s own abstraction, and the
  smoothing of a photographic grade), with learnable mixing weights. The two families flatten
  differently, and the discriminator picks between them: Kuwahara's painterly blocks, the
  bilateral's airbrushed smoothness.
- Lines: ``1 - strength * sigmoid(sharpness * (edge - threshold))`` multiplies the smoothed image,
  where ``edge`` is the Sobel gradient of its luma (the height of the step across it); strength and
  threshold are learnable, the threshold no lower than :data:`THRESHOLD_FLOOR`.

Plain convolutions, pooling, a gather and shifted copies (the bilateral filter): it exports to
ONNX and TorchScript, applies to any image size, and costs little beside the pixel network.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

RADII = (2, 4, 6)  # Kuwahara radii the stage mixes: patches of about 3, 5 and 7 pixels
# The bilateral filter's spatial sigma (pixels; the window reaches 1.5 sigmas) and range sigma (a
# tenth of the range between black and white: Paris et al.'s usual choice, which smooths noise and
# texture and keeps the edges between objects).
BILATERAL_RADIUS, BILATERAL_SPACE_SIGMA, BILATERAL_RANGE_SIGMA = 3, 2.0, 0.1
# Stored parameters are these values divided by STAGE_GAIN, so that Adam (steps of about the
# learning rate, whatever the gradient) moves a mixing weight's logit by 25x the
# learning rate per step: hundreds of steps to change the look, not tens of thousands.
STAGE_GAIN = 25.0
# The lines' strength and threshold learn three times as fast (stored divided by LINE_GAIN): at
# STAGE_GAIN a painted style's outlines reached full strength within 5 minutes (2 CPU cores) on one
# seed of two, and a colour grade's lines could drift down to darkening every edge instead of
# turning off; at 3x every such run settled within 5 minutes (docs/benchmarks.md, "Lines that
# learn faster, above a floor").
LINE_GAIN = 75.0
# Below this edge height the sigmoid's lines reach into flat regions and become a darkening of the
# whole picture, which the colour table does better; below zero they used to end there for good
# (the sigmoid is flat everywhere, so no gradient brings them back). Training puts the threshold
# back on the floor after every optimiser step (:meth:`AbstractionStage.keep_lines_above_floor`).
THRESHOLD_FLOOR = 0.05
START_LOGITS = (0.0, -3.0, -3.0, -3.0, -3.0)  # photo, each Kuwahara radius, bilateral: 83% photo at first
# A checkpoint saved before the stage had its bilateral filter gets it at this logit: off (a weight
# of 1e-13), so that the model translates as it did.
ABSENT_LOGIT = -30.0
START_STRENGTH_LOGIT = -3.0  # lines at 5% of their full darkness at first
START_THRESHOLD = 0.15  # an edge of 15% of the range between black and white
SHARPNESS = 60.0  # per unit of edge height: lines go from faint to full over about 0.1, and flat regions keep all but 0.01%
LUMA = (0.299, 0.587, 0.114)


def kuwahara(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Each pixel's value is the mean of the (radius+1)-square window, among the four that have
    the pixel at a corner, whose colours vary least."""
    h, w = x.shape[-2], x.shape[-1]
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    mean = F.avg_pool2d(padded, radius + 1, stride=1)
    spread = (F.avg_pool2d(padded * padded, radius + 1, stride=1) - mean * mean).sum(1, keepdim=True)
    means, spreads = [], []
    for dy in (0, radius):  # plain loops, not a comprehension: TorchScript (export) compiles these
        for dx in (0, radius):
            means.append(mean[..., dy : dy + h, dx : dx + w])
            spreads.append(spread[..., dy : dy + h, dx : dx + w])
    stacked = torch.stack(means)
    choice = torch.stack(spreads).argmin(0, keepdim=True).expand_as(stacked[:1])
    return stacked.gather(0, choice).squeeze(0)


def bilateral(x: torch.Tensor, radius: int, space_sigma: float, range_sigma: float) -> torch.Tensor:
    """A bilateral filter of [-1, 1] images, separated into a pass along the rows and one along
    the columns (Pham and van Vliet, 2005, as Winnemöller et al. run it): 2(2r+1) taps per pixel
    instead of (2r+1)^2, at a cost beside the Kuwahara filters' (the full filter's is four times
    theirs), and scoring within 0.7 dB of the full filter on the benchmark's styles, either way
    (docs/benchmarks.md, "A bilateral filter among the stage's operators")."""
    return _bilateral_pass(_bilateral_pass(x, radius, space_sigma, range_sigma, 3), radius, space_sigma, range_sigma, 2)


def _bilateral_pass(x: torch.Tensor, radius: int, space_sigma: float, range_sigma: float, dim: int) -> torch.Tensor:
    length = x.shape[dim]
    padded = F.pad(x, (radius, radius, 0, 0) if dim == 3 else (0, 0, radius, radius), mode="reflect")
    likeness = 0.125 / (range_sigma * range_sigma)  # colour differences are measured in [0, 1]: half the networks' range, squared
    total, weights = x, torch.ones_like(x[:, :1])
    for offset in range(-radius, radius + 1):  # a plain loop, and x itself as the centre tap: TorchScript compiles it
        if offset != 0:
            neighbour = padded.narrow(dim, radius + offset, length)
            difference = (neighbour - x).pow(2).sum(1, keepdim=True)
            weight = torch.exp(-(offset * offset) / (2.0 * space_sigma * space_sigma) - likeness * difference)
            total, weights = total + weight * neighbour, weights + weight
    return total / weights


class AbstractionStage(nn.Module):
    """[-1, 1] images in, [-1, 1] images out, any size; see the module's docstring."""

    if TYPE_CHECKING:  # buffers
        sobel: torch.Tensor
        luma: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.radii = RADII
        self.bilateral_settings = (BILATERAL_RADIUS, BILATERAL_SPACE_SIGMA, BILATERAL_RANGE_SIGMA)
        # attributes, not globals, so that TorchScript can see them
        self.gain, self.line_gain, self.sharpness = STAGE_GAIN, LINE_GAIN, SHARPNESS
        self.mixing = nn.Parameter(torch.tensor(START_LOGITS) / STAGE_GAIN)
        self.strength = nn.Parameter(torch.tensor(START_STRENGTH_LOGIT / LINE_GAIN))
        self.threshold = nn.Parameter(torch.tensor(START_THRESHOLD / LINE_GAIN))
        sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0  # /8: a step of h reads h
        self.register_buffer("sobel", torch.stack([sobel_x, sobel_x.T]).unsqueeze(1), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1), persistent=False)

    @torch.jit.unused
    def describe(self) -> str:
        """What the stage has learned, in words a user can check against the samples."""
        weights = torch.softmax(self.mixing.detach() * self.gain, 0).tolist()
        patches = ", ".join(f"{w:.0%} {name}" for w, name in zip(weights, self.operator_names(), strict=True))
        strength = torch.sigmoid(self.strength.detach() * self.line_gain).item()
        return f"{patches}; lines {strength:.0%} dark above edges of {self.threshold.item() * self.line_gain:.2f}"

    @torch.jit.unused
    def operator_names(self) -> list[str]:
        """The smoothing operators' names, in the order of :meth:`smoothings` and the mixing weights."""
        return ["photo", *(f"radius {r}" for r in self.radii), "bilateral"]

    @torch.jit.unused
    @torch.no_grad()
    def set_lines(self, strength: float, threshold: float) -> None:
        """Set the lines by hand: ``strength`` (0-1, exclusive) dark above edges of ``threshold``."""
        if not 0.0 < strength < 1.0 or threshold < THRESHOLD_FLOOR:
            raise ValueError(f"lines need 0 < strength < 1 and a threshold of at least {THRESHOLD_FLOOR} (got {strength}, {threshold})")
        self.strength.fill_(math.log(strength / (1.0 - strength)) / self.line_gain)
        self.threshold.fill_(threshold / self.line_gain)

    @torch.jit.unused
    @torch.no_grad()
    def keep_lines_above_floor(self) -> None:
        """A projection, after each optimiser step, rather than a clamp in :meth:`forward`: a
        clamped threshold has no gradient below the floor, so one pushed past it would stay there;
        set back onto the floor, it rises again as soon as the discriminator asks."""
        self.threshold.clamp_(min=THRESHOLD_FLOOR / self.line_gain)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        """Loads a stage saved before the bilateral filter joined the mixture (one logit fewer)
        with that filter switched off."""
        saved = state_dict.get(prefix + "mixing")
        if saved is not None and saved.shape[0] == len(START_LOGITS) - 1:
            state_dict[prefix + "mixing"] = torch.cat([saved, saved.new_tensor([ABSENT_LOGIT / self.gain])])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inked(self.patches(x))

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """The smoothing alone: the mixture of :meth:`smoothings`."""
        weights = torch.softmax(self.mixing * self.gain, 0)
        smooth = torch.zeros_like(x)
        for weight, operated in zip(weights.unbind(0), self.smoothings(x)):
            smooth = smooth + weight * operated
        return smooth

    def smoothings(self, x: torch.Tensor) -> list[torch.Tensor]:
        """What each smoothing operator makes of ``x``: the photo itself, each Kuwahara filter, the bilateral filter."""
        operated = [x]
        for radius in self.radii:
            operated.append(kuwahara(x, radius))
        radius, space_sigma, range_sigma = self.bilateral_settings
        operated.append(bilateral(x, radius, space_sigma, range_sigma))
        return operated

    def inked(self, smooth: torch.Tensor) -> torch.Tensor:
        """The lines alone, drawn along the edges of ``smooth`` (apart from :meth:`patches` so that
        a search over line settings filters each image once, not once per setting)."""
        # [0, 1] from here: lines darken towards black, which is -1 in the networks' range
        image = (smooth + 1.0) * 0.5
        brightness = (image * self.luma.to(image.dtype)).sum(1, keepdim=True)
        gradient = F.conv2d(F.pad(brightness, (1, 1, 1, 1), mode="reflect"), self.sobel.to(image.dtype))
        edge = torch.sqrt(gradient.pow(2).sum(1, keepdim=True) + 1e-6)
        lines = torch.sigmoid(self.strength * self.line_gain) * torch.sigmoid(self.sharpness * (edge - self.threshold * self.line_gain))
        return (image * (1.0 - lines)) * 2.0 - 1.0
