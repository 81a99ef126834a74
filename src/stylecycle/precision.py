"""Arithmetic precision: which one to use on this hardware, and the autocast context for it.

Mixed precision is a context manager (and, for fp16, a loss scaler), never a second code path.
"""

from __future__ import annotations

import functools
import time
from typing import Literal

import torch
import torch.nn.functional as F

Precision = Literal["auto", "fp32", "bf16", "fp16"]

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware (so bf16 is faster there, not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        # torch.cpu's probes are private; a PyTorch without them simply gets fp32.
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


# bf16 must beat fp32 by this much in the probe below to be chosen: the probe is short, and
# a tie is better broken towards full precision.
BF16_MARGIN = 1.2


@functools.cache
def bf16_convolutions_faster_on_cpu() -> bool:
    """Whether this CPU convolves faster in bf16 than in fp32, measured (about 0.1 s, once per process).

    Having the instructions is not enough. On an AMD Zen 4 (AVX512-BF16) PyTorch 2.14's bf16
    convolutions run at twice the fp32 rate and bf16 training is 2.0-2.3x faster; on an Intel
    Xeon with AVX512-BF16 but no AMX, with the same PyTorch, they take twice as long as fp32 ones,
    and bf16 training runs at 0.69x fp32 (benchmarks/results/speed_128_contenders_intel_xeon.json).
    """
    x = torch.randn(2, 128, 32, 32).to(memory_format=torch.channels_last)  # a residual block's convolution at 128^2 crops
    w = torch.randn(128, 128, 3, 3).to(memory_format=torch.channels_last)

    def seconds(dtype: torch.dtype) -> float:
        a, b = x.to(dtype), w.to(dtype)
        best = float("inf")
        with torch.no_grad():
            for _ in range(4):  # the first call sets up the kernel; the best of the rest counts
                start = time.perf_counter()
                F.conv2d(a, b, padding=1)
                best = min(best, time.perf_counter() - start)
        return best

    return seconds(torch.float32) > BF16_MARGIN * seconds(torch.bfloat16)


def resolve_precision(precision: Precision, device: torch.device) -> Precision:
    """``auto`` becomes bf16 where the hardware has it and, on a CPU, where its bf16 convolutions
    are measured faster than fp32 ones (:func:`bf16_convolutions_faster_on_cpu`); fp32 elsewhere.
    Explicit choices stay as given."""
    if precision == "auto":
        faster = native_bf16(device) and (device.type != "cpu" or bf16_convolutions_faster_on_cpu())
        return "bf16" if faster else "fp32"
    return precision


def autocast(device: torch.device, precision: Precision) -> torch.autocast:
    """The autocast context for a resolved precision (disabled for fp32)."""
    dtype = AUTOCAST_DTYPES.get(precision)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in fp32 if it was computed in a narrower type (bf16, fp16 autocast), else as it is."""
    return x.to(torch.promote_types(x.dtype, torch.float32))
