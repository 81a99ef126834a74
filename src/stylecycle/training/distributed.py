"""Data-parallel training with PyTorch's own ``torch.distributed``, launched by ``torchrun``.

``torchrun`` sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a no-op and
the same code runs single-process. Each rank trains on its own share of every epoch, and the
gradients are averaged across ranks before each optimiser step, so all ranks take identical
steps. (The gradients are all-reduced by hand rather than through ``DistributedDataParallel``
because each step back-propagates the generator loss in two parts; DDP's reducer expects one
backward per forward.)
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from ..errors import StylecycleError


def _leave_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, device: torch.device) -> Distributed:
        """Join the process group that torchrun describes (NCCL on CUDA, gloo on the CPU)."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls()
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            # Left to the interpreter's teardown, the group's threads can outlive what they use,
            # and a rank that finished its work then dies of SIGABRT ("terminate called without
            # an active exception"), failing the whole torchrun.
            atexit.register(_leave_process_group)
        return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, writes samples and checkpoints."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Each process drives its own GPU; CPU processes share the CPU."""
        return torch.device("cuda", self.local_rank) if self.active and device.type == "cuda" else device

    def broadcast_weights(self, module: nn.Module) -> None:
        """Start every rank from rank 0's weights."""
        if self.active:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, 0)

    def average_gradients(self, module: nn.Module) -> None:
        """Replace every gradient by its mean over the ranks (one all-reduce per call)."""
        if not self.active:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= self.world_size
        for grad, averaged in zip(grads, _unflatten_dense_tensors(flat, grads)):
            grad.copy_(averaged)

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable, tensors on the CPU), in rank order, on every rank."""
        if not self.active:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def mean(self, value: torch.Tensor) -> float:
        """The mean of a scalar over the ranks, so that decisions taken on it agree."""
        if self.active:
            value = value.detach().clone()
            dist.all_reduce(value)
            value /= self.world_size
        return float(value.item())

    def all_agree(self, flag: bool, device: torch.device) -> bool:
        """True only when ``flag`` is true on every rank, so that all ranks take the same branch."""
        if not self.active:
            return flag
        value = torch.tensor([1 if flag else 0], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    def any_rank(self, flag: bool, device: torch.device) -> bool:
        return not self.all_agree(not flag, device)

    def check_identical(self, module: nn.Module, device: torch.device) -> None:
        """Fail loudly if the ranks' weights have drifted apart (they never should)."""
        if not self.active:
            return
        flat = _flatten_dense_tensors([p.detach() for p in module.parameters()]).to(device)
        reference = flat.clone()
        dist.broadcast(reference, 0)
        if not self.all_agree(torch.equal(flat, reference), device):
            raise StylecycleError("the weights differ between distributed ranks; please report this as a bug")
