"""Translation speed and peak memory, in one run; prints JSON.

Each contender runs in a fresh process of its own (so its peak memory is its own), with the
reference-sized 9-block ResNet generator (random weights: speed does not depend on them):

- 1024x1024: ``fp32_eager`` (the baseline: the generator in fp32, NCHW, no tricks), ``bf16``
  (autocast, NCHW), ``channels_last`` (fp32), ``onnxruntime`` (the ONNX export, fp32, CPU
  provider), ``default`` (what ``stylecycle translate`` does with no flags on this machine:
  bf16 where the CPU has it, channels-last), and ``fp32_eager_reusing_freed_memory`` (what
  reusing freed memory during the call, as ``Translator`` does, gives the baseline by itself;
  see stylecycle.memory);
- 6000x4000 (a 24-megapixel photo), the default path: tiles with shared statistics.

    python benchmarks/inference.py            # about 5 minutes on 2 CPU cores
    python benchmarks/inference.py --quick    # smaller images, a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from speed import own_rss_mib

from stylecycle.config import ModelConfig
from stylecycle.export import export_onnx
from stylecycle.inference import Translator
from stylecycle.memory import reusing_freed_memory
from stylecycle.model import build_generator

CONTENDERS = ("fp32_eager", "bf16", "channels_last", "onnxruntime", "default", "fp32_eager_reusing_freed_memory")
# name: (precision, channels_last) of the Translator
TRANSLATORS = {"bf16": ("bf16", False), "channels_last": ("fp32", True), "default": ("auto", None)}


def translate_function(name: str, workdir: Path):
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(generator="resnet_9blocks")).eval()
    if name == "onnxruntime":
        import onnxruntime

        path = workdir / "generator.onnx"
        if not path.exists():
            export_onnx(generator, path)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda image: session.run(None, {"image": image[None].numpy()})[0]
    if name.startswith("fp32_eager"):
        reuse = name == "fp32_eager_reusing_freed_memory"

        def eager(image: torch.Tensor) -> torch.Tensor:
            with torch.no_grad(), reusing_freed_memory() if reuse else contextlib.nullcontext():
                return generator(image[None])

        return eager
    precision, channels_last = TRANSLATORS[name]
    return Translator(generator, "cpu", precision, channels_last=channels_last).translate  # type: ignore[arg-type]


def probe(name: str, height: int, width: int, repeats: int, workdir: Path) -> dict:
    translate = translate_function(name, workdir)
    image = torch.rand(3, height, width).mul_(2).sub_(1)  # in place: the input alone, not two transient copies, in the peak
    times = []
    for _ in range(repeats + 1):  # the first call warms up (allocator, oneDNN primitives)
        start = time.perf_counter()
        translate(image)
        times.append(time.perf_counter() - start)
    return {"seconds": round(statistics.median(times[1:] or times), 2), "peak_rss_mib": round(own_rss_mib())}


def measure(name: str, height: int, width: int, repeats: int, workdir: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--probe",
        name,
        "--size",
        str(height),
        str(width),
        "--repeats",
        str(repeats),
        "--workdir",
        str(workdir),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, *args.size, args.repeats, args.workdir)))
        return
    side, big = (256, (1500, 1000)) if args.quick else (1024, (4000, 6000))
    with tempfile.TemporaryDirectory() as tmp:
        square = {name: measure(name, side, side, args.repeats, Path(tmp)) for name in CONTENDERS}
        baseline = square["fp32_eager"]["seconds"]
        for result in square.values():
            result["relative_to_fp32_eager"] = round(result["seconds"] / baseline, 2)
        photo = measure("default", *big, 0, Path(tmp))
    print(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                f"{side}x{side}": square,
                f"{big[1]}x{big[0]} default (tiled)": photo,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
