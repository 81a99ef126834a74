"""Normalisation layers, passed to the networks as a callable ``norm(num_channels)``.

InstanceNorm normalises each sample and channel by its own spatial mean and biased variance,
y = (x - mu) / sqrt(var + eps) * gamma + beta. It removes each image's own contrast, so the
style lives in the network's weights rather than in the statistics of the input. PyTorch's
``nn.InstanceNorm2d`` without running statistics is exactly that formula; :class:`InstanceNorm2d`
adds a fast path for channels-last tensors, and statistics shared across the tiles of a
large image (:func:`measuring_statistics`, :func:`imposing_statistics`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]
Norm = Literal["instance", "batch", "sync_batch", "none"]


class InstanceNorm2d(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d`` that keeps channels-last tensors channels-last.

    PyTorch computes instance norm as batch norm over a (1, N*C, H, W) view, which a
    channels-last tensor cannot give without a copy, and hands back a contiguous tensor that
    the next convolution copies back: two copies per layer, enough to make channels-last a
    loss on CPU. Two kernels read and write channels-last directly:

    - group norm with one group per channel, which is instance norm. Its forward kernel is the
      faster (half of batch norm's time at 256 channels x 256x256 in bf16), but its backward
      is ten times slower than batch norm's, so it serves only where no gradient is needed:
      translation.
    - training-mode batch norm, which for a single sample *is* instance norm; so where a
      gradient is needed, each sample goes through that.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():
            shared = self._shared_statistics(x)
            if shared is not None:
                return shared
        if not torch.jit.is_scripting() and x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            if self._needs_gradient(x):
                return self._per_sample_batch_norm(x)
            return F.group_norm(x, x.shape[1], self.weight, self.bias, self.eps)
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)

    @torch.jit.unused
    def _shared_statistics(self, x: torch.Tensor) -> torch.Tensor | None:
        """``x`` normalised with statistics imposed on this layer by :func:`imposing_statistics`
        (None where none are), after recording its own for :func:`measuring_statistics`."""
        if _measuring.get() is not None:
            x32 = x.float()
            record_statistics(self, x32.mean((2, 3), keepdim=True), x32.var((2, 3), unbiased=False, keepdim=True))
        imposed = imposed_statistics(self)
        if imposed is None:
            return None
        mean, var = imposed
        y = (x.float() - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(x.dtype)

    @torch.jit.unused
    def _needs_gradient(self, x: torch.Tensor) -> bool:
        return torch.is_grad_enabled() and (x.requires_grad or (self.weight is not None and self.weight.requires_grad))

    @torch.jit.unused
    def _per_sample_batch_norm(self, x: torch.Tensor) -> torch.Tensor:
        samples = [F.batch_norm(one, None, None, self.weight, self.bias, training=True, eps=self.eps) for one in x.split(1)]
        return samples[0] if len(samples) == 1 else torch.cat(samples)


# Statistics measured on one input and imposed on the layers for others: tiled translation
# (stylecycle.tiling) normalises every tile with the statistics of the whole image, and gives it
# the colour table the whole image asks for (nn.colour). Both are state of the caller's own
# context (thread), not of the shared network, so another thread translating with the same
# network meanwhile is unaffected.
Statistics = dict[nn.Module, tuple[torch.Tensor, ...]]
_measuring: ContextVar[Statistics | None] = ContextVar("stylecycle_measuring_statistics", default=None)
_imposed: ContextVar[Statistics | None] = ContextVar("stylecycle_imposed_statistics", default=None)


@contextmanager
def measuring_statistics() -> Iterator[Statistics]:
    """Within the block, the per-channel mean and biased variance at the input of every
    :class:`InstanceNorm2d` this thread calls are recorded into the dictionary yielded."""
    statistics: Statistics = {}
    token = _measuring.set(statistics)
    try:
        yield statistics
    finally:
        _measuring.reset(token)


@contextmanager
def imposing_statistics(statistics: Statistics) -> Iterator[None]:
    """Within the block, each layer of ``statistics`` normalises this thread's inputs with the
    given statistics instead of the input's own."""
    token = _imposed.set(statistics)
    try:
        yield
    finally:
        _imposed.reset(token)


def record_statistics(module: nn.Module, *values: torch.Tensor) -> None:
    """Record what ``module`` measured on this input, if :func:`measuring_statistics` is active."""
    measured = _measuring.get()
    if measured is not None:
        measured[module] = values


def imposed_statistics(module: nn.Module) -> tuple[torch.Tensor, ...] | None:
    """What :func:`imposing_statistics` imposes on ``module`` in this thread, if anything."""
    imposed = _imposed.get()
    return None if imposed is None else imposed.get(module)


def instance_norm(affine: bool = False, eps: float = 1e-5) -> NormLayer:
    """InstanceNorm with optional learnable gamma and beta, never tracking running statistics
    (statistics are always those of the image at hand, in training and in inference alike)."""
    return partial(InstanceNorm2d, affine=affine, eps=eps, track_running_stats=False)


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the all-reduced gradient: every rank's loss depends on
    every rank's input through the shared statistics."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


class SyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics are those of the whole batch across all ranks.

    PyTorch's ``nn.SyncBatchNorm`` refuses CPU tensors, so it cannot serve gloo runs. Here the
    per-channel sums go through an all-reduce whose backward is an all-reduce too, which makes
    the backward pass correct with no hand-written normalisation gradient, on any backend. Without a process group it is plain
    BatchNorm, and its state dict is BatchNorm's, so checkpoints move freely between the two.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device, dtype=torch.float32)
        moments = torch.cat([x.float().sum((0, 2, 3)), x.float().square().sum((0, 2, 3)), count])
        moments = _SumOverRanks.apply(moments)
        channels = x.shape[1]
        total = moments[-1]
        mean = moments[:channels] / total
        var = moments[channels : 2 * channels] / total - mean.square()
        if (
            self.track_running_stats
            and self.running_mean is not None
            and self.running_var is not None
            and self.num_batches_tracked is not None
        ):
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                unbiased = var * total / (total - 1).clamp(min=1)
                self.running_mean.lerp_(mean, self.momentum or 0.1)
                self.running_var.lerp_(unbiased, self.momentum or 0.1)
        shape = (1, channels, 1, 1)
        y = (x.float() - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def norm_layer(kind: Norm, affine: bool = False) -> NormLayer:
    """The normalisation ``--norm`` names; ``affine`` gives InstanceNorm learnable gamma and beta
    (BatchNorm always has them, as in the reference implementation)."""
    if kind == "instance":
        return instance_norm(affine)
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "sync_batch":
        return SyncBatchNorm2d
    if kind == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}")


def norm_has_shift(kind: Norm, affine: bool = False) -> bool:
    """Whether the norm adds its own learnable shift, which makes a bias in the convolution
    before it redundant (the reference drops the bias then, and its checkpoints show it)."""
    return kind in ("batch", "sync_batch") or (kind == "instance" and affine)


def to_sync_batch_norm(module: nn.Module) -> nn.Module:
    """Swap every plain BatchNorm2d for :class:`SyncBatchNorm2d`, keeping its weights and
    buffers: under DDP each rank would otherwise normalise with its own batch's statistics."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            synced = SyncBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            synced.load_state_dict(child.state_dict())
            setattr(module, name, synced.to(next(child.buffers(), torch.empty(0)).device))
        else:
            to_sync_batch_norm(child)
    return module
