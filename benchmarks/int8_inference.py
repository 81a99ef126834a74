"""Would int8 convolutions make CPU translation faster than bf16? Prints JSON. (A measured "no"
on this project's CPU, kept so the next attempt starts from numbers, not hopes.)

Eager int8: every convolution of the 9-block generator becomes PyTorch's quantized conv (x86
engine; per-channel int8 weights, per-tensor uint8 activations, output ranges calibrated on the
image scaled down to 256x256), while InstanceNorm, padding and activations stay in float. Also
times one 256-channel 3x3 conv alone, where int8 does shine.

    python benchmarks/int8_inference.py

Measured on the 2-core EPYC (torch 2.14.1; benchmarks/results/int8_inference.json): the lone conv
7.3 ms int8 vs 25.1 fp32 and 11.5 bf16, but the whole generator at 1024^2 was 67% of fp32's time
against bf16's 62%, and 23.6 dB from fp32's output (bf16: 41.4 dB):
the quantize/dequantize around every conv and the float norms eat the gain. A fused int8 graph
(torchao's PT2E flow with inductor) is the remaining lever. PyTorch warns that the eager
quantized-tensor API used here will be removed.
"""

from __future__ import annotations

import json
import time
import warnings

import torch
import torch.ao.nn.quantized as nnq
import torch.nn.functional as F
from torch import nn

from stylecycle.config import ModelConfig
from stylecycle.data.demo import load_photo
from stylecycle.data.io import pil_to_tensor
from stylecycle.model import build_generator
from stylecycle.precision import autocast

SIDE, CALIBRATION_SIDE, MARGIN = 1024, 256, 1.1


class Int8Conv(nn.Module):
    """A conv that records its input and output ranges in float, then runs in int8."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv, self.quantized = conv, None
        self.ranges: dict[str, tuple[float, float]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.quantized is None:
            y = self.conv(x)
            for key, t in (("in", x), ("out", y)):
                lo, hi = self.ranges.get(key, (float("inf"), float("-inf")))
                self.ranges[key] = (min(lo, t.min().item()), max(hi, t.max().item()))
            return y
        return self.quantized(torch.quantize_per_tensor(x.float(), self.in_scale, self.in_zero, torch.quint8)).dequantize()

    def freeze(self) -> None:
        conv, transposed = self.conv, isinstance(self.conv, nn.ConvTranspose2d)
        weight = conv.weight.detach()
        if transposed:  # the x86 engine has no per-channel transposed conv
            qweight = torch.quantize_per_tensor(weight, weight.abs().max().item() / 127, 0, torch.qint8)
            module = nnq.ConvTranspose2d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,
                conv.stride,
                conv.padding,
                conv.output_padding,
                bias=conv.bias is not None,
            )
        else:
            scales = weight.abs().amax(dim=(1, 2, 3)).clamp(min=1e-8) / 127
            qweight = torch.quantize_per_channel(weight, scales, torch.zeros_like(scales, dtype=torch.long), 0, torch.qint8)
            module = nnq.Conv2d(
                conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None
            )
        module.set_weight_bias(qweight, None if conv.bias is None else conv.bias.detach())
        out = MARGIN * max(map(abs, self.ranges["out"]))
        module.scale, module.zero_point = 2 * out / 255, 128
        lo, hi = self.ranges["in"]
        self.in_scale, self.in_zero = (MARGIN * hi / 255, 0) if lo >= 0 else (2 * MARGIN * max(-lo, hi) / 255, 128)
        self.quantized = module


def seconds(fn, repeats: int = 1) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


@torch.no_grad()
def main() -> None:
    warnings.filterwarnings("ignore", message=".*deprecated.*")
    torch.backends.quantized.engine = "x86"
    torch.manual_seed(0)
    cpu = torch.device("cpu")

    conv = nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    x = torch.randn(1, 256, 64, 64)
    lone = Int8Conv(conv)
    lone(x)
    lone.freeze()
    with autocast(cpu, "bf16"):
        lone_bf16 = seconds(lambda: conv(x), 20)
    lone_ms = {"fp32": seconds(lambda: conv(x), 20), "bf16": lone_bf16, "int8": seconds(lambda: lone(x), 20)}

    photo = pil_to_tensor(load_photo("astronaut").resize((SIDE, SIDE))).unsqueeze(0)
    generator = build_generator(ModelConfig()).eval()
    reference = generator(photo)
    fp32 = seconds(lambda: generator(photo))
    with autocast(cpu, "bf16"):
        bf16_out = generator(photo).float()
        bf16 = seconds(lambda: generator(photo))
    for parent in list(generator.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)):
                setattr(parent, name, Int8Conv(child))
    generator(F.interpolate(photo, size=(CALIBRATION_SIDE, CALIBRATION_SIDE), mode="area"))
    for module in generator.modules():
        if isinstance(module, Int8Conv):
            module.freeze()
    int8_out = generator(photo)
    int8 = seconds(lambda: generator(photo))

    def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
        return round(10 * torch.log10(4 / (a - b).pow(2).mean()).item(), 1)

    print(
        json.dumps(
            {
                "conv_256x3x3_at_64_ms": {k: round(v * 1e3, 1) for k, v in lone_ms.items()},
                f"generator_{SIDE}_seconds": {"fp32": round(fp32, 2), "bf16": round(bf16, 2), "int8": round(int8, 2)},
                "fraction_of_fp32": {"bf16": round(bf16 / fp32, 2), "int8": round(int8 / fp32, 2)},
                "psnr_vs_fp32_db": {"bf16": psnr(bf16_out, reference), "int8": psnr(int8_out, reference)},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
