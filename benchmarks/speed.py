"""Training speed and peak memory per performance option; prints JSON (translation: inference.py).

Memory is the probe process's peak resident size (``peak_rss_mib``) and that peak less what the
process held before building anything (``training_mib``: networks, optimiser state, data and
activations, without the Python and PyTorch runtime that every contender carries alike).

Contenders, each measured in its own fresh process (so its peak memory is its own) at every
size x batch cell, the baseline included, in this one run:

- ``fp32_eager``: the baseline, a plain eager fp32 step written the way the reference
  implementation writes it (``stylecycle.training.reference_update``, the tests' oracle: six
  generator calls in one graph, real and fake through each discriminator separately, PyTorch's
  default Adam, NCHW), over the very same networks and losses;
- ``stylecycle_fp32``: stylecycle's own step (the two halves of each update side by side, each
  back-propagated as soon as it is computed; shared-weight calls batched; fused Adam) at fp32, NCHW;
- ``bf16``: with bf16 autocast, NCHW;
- ``channels_last``: fp32, channels-last memory layout;
- ``compile``: fp32, the four networks torch.compile'd (compile time reported apart);
- ``default``: bf16 autocast, channels-last and halves side by side, what ``stylecycle train``
  does on a CPU with bf16 (the best combination measured);
- ``default_halves_in_turn``: the default with ``--no-parallel-halves``;
- ``default_compile``: the default, compiled;
- ``cut`` and ``fastcut``: the default with ``--model cut`` and ``--model fastcut`` (one generator,
  one discriminator, PatchNCE on the generator's encoder; FastCUT without the identity term).

Machines like this one are noisy (other tenants): ``--rounds`` measures every contender that
many times, alternating them, and reports each one's median round.

    python benchmarks/speed.py                 # the full table (about 50 minutes on 2 CPU cores)
    python benchmarks/speed.py --quick         # small sizes, no compile: a smoke run
    python benchmarks/speed.py --sizes 128 --batches 1 --contenders fp32_eager default --rounds 5
    python benchmarks/speed.py --sizes 128 256 --batches 1 --contenders default cut fastcut --rounds 3
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from stylecycle.config import Config
from stylecycle.data.demo import build_demo_dataset
from stylecycle.precision import resolve_precision
from stylecycle.training.reference_update import reference_cyclegan_update
from stylecycle.training.trainer import Trainer

# name: (the options it trains with, {section: {field: value}}; whether its step is the plain eager baseline's)
CONTENDERS: dict[str, tuple[dict, bool]] = {
    "fp32_eager": ({"train": {"precision": "fp32", "channels_last": False}}, True),
    "stylecycle_fp32": ({"train": {"precision": "fp32", "channels_last": False}}, False),
    "bf16": ({"train": {"precision": "bf16", "channels_last": False}}, False),
    "channels_last": ({"train": {"precision": "fp32", "channels_last": True}}, False),
    "compile": ({"train": {"precision": "fp32", "channels_last": False, "compile": True}}, False),
    "default": ({}, False),
    "default_halves_in_turn": ({"train": {"parallel_halves": False}}, False),
    "default_compile": ({"train": {"compile": True}}, False),
    # The one-sided objectives, on the same networks with the project's defaults otherwise.
    "cut": ({"model": {"method": "cut"}}, False),
    "fastcut": ({"model": {"method": "fastcut"}}, False),
}


def compiles(name: str) -> bool:
    return CONTENDERS[name][0].get("train", {}).get("compile", False)


def step_function(name: str, data_root: Path, run_dir: Path, size: int, batch_size: int) -> Callable[[], None]:
    """One training step of a contender: the real trainer with reference-sized networks
    (9 blocks, width 64), freshly seeded, on one real batch."""
    options, plain = CONTENDERS[name]
    torch.manual_seed(0)
    given = {
        "data": {"root": data_root, "size": size, "load_size": size, "batch_size": batch_size, "workers": 0},
        "model": {"generator": "resnet_9blocks", **options.get("model", {})},
        "train": {"run_dir": run_dir, "device": "cpu", "max_steps": 1000, **options.get("train", {})},
    }
    trainer = Trainer(Config.from_recipe(given))  # the paper's recipe, and the --model's own defaults
    batch = next(iter(trainer.loader))
    real_a, real_b = (batch[d].to(memory_format=trainer.memory_format) for d in "ab")
    if plain:
        adam = dict(lr=trainer.config.optim.lr, betas=(trainer.config.optim.beta1, trainer.config.optim.beta2))
        opt_g = torch.optim.Adam(trainer.model.generators().parameters(), **adam)
        opt_d = torch.optim.Adam(trainer.model.discriminators().parameters(), **adam)
        pools = {"a": trainer.pool_a, "b": trainer.pool_b}
        return lambda: reference_cyclegan_update(trainer.model, opt_g, opt_d, pools, real_a, real_b)
    return lambda: trainer.train_step(real_a, real_b)


def seconds(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def own_rss_mib(field: str = "VmHWM") -> float:
    """This process's peak (``VmHWM``) or current (``VmRSS``) resident memory. Linux's VmHWM starts
    afresh at exec, whereas ru_maxrss is inherited from the parent at fork and would report the
    benchmark's own peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe(args: argparse.Namespace) -> None:
    """In a fresh process: build, warm up (one step; two when compiling, which also compiles
    the discriminators' second graph), time, report."""
    runtime = own_rss_mib("VmRSS")  # Python, PyTorch and this script, before any network exists
    started = time.perf_counter()
    step = step_function(args.probe, args.probe_data, args.probe_run, args.probe_size, args.probe_batch)
    seconds(step, 2 if compiles(args.probe) else 1)
    warm_up = time.perf_counter() - started
    median = statistics.median(seconds(step, args.probe_repeats))
    peak = own_rss_mib()
    print(
        json.dumps(
            {
                "images_per_s": args.probe_batch / median,
                "peak_rss_mib": peak,
                "training_mib": peak - runtime,
                "setup_and_warm_up_s": warm_up,
            }
        )
    )


def measure(name: str, data_root: Path, run_dir: Path, size: int, batch_size: int, repeats: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--probe",
        name,
        "--probe-size",
        str(size),
        "--probe-batch",
        str(batch_size),
        "--probe-repeats",
        str(repeats),
        "--probe-data",
        str(data_root),
        "--probe-run",
        str(run_dir),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_round(rounds: list[dict]) -> dict:
    """The round with the median images/s (its memory and warm-up come with it)."""
    return sorted(rounds, key=lambda r: r["images_per_s"])[(len(rounds) - 1) // 2]


def training_table(
    data_root: Path, run_dir: Path, sizes: list[int], batches: list[int], contenders: list[str], repeats: int, rounds: int
) -> list[dict]:
    rows = []
    for size in sizes:
        for batch_size in batches:
            measured: dict[str, list[dict]] = {name: [] for name in contenders}
            for _ in range(rounds):
                for name in contenders:
                    measured[name].append(measure(name, data_root, run_dir, size, batch_size, repeats))
            results = {name: median_round(r) for name, r in measured.items()}
            baseline = results.get("fp32_eager", {}).get("images_per_s")
            rows.append(
                {
                    "size": size,
                    "batch_size": batch_size,
                    **{
                        name: {
                            "images_per_s": round(r["images_per_s"], 3),
                            **({"speedup": round(r["images_per_s"] / baseline, 2)} if baseline else {}),
                            "peak_rss_mib": round(r["peak_rss_mib"]),
                            "training_mib": round(r["training_mib"]),
                            "setup_and_warm_up_s": round(r["setup_and_warm_up_s"], 1),
                            **({"images_per_s_each_round": [round(x["images_per_s"], 3) for x in measured[name]]} if rounds > 1 else {}),
                        }
                        for name, r in results.items()
                    },
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # progress, for long runs
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats, no compile: a smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per contender and cell (after the warm-up)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every contender this many times, alternating, and keep the median")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-repeats", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--probe-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe(args)
    if args.quick:
        args.sizes, args.batches, args.repeats = [64], [1, 2], 1
        args.contenders = [c for c in args.contenders if not compiles(c)]
    with tempfile.TemporaryDirectory() as tmp:
        data_root = build_demo_dataset(Path(tmp) / "data", train_per_domain=8, side=max(args.sizes))
        result = {
            "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__},
            "default_precision_here": resolve_precision("auto", torch.device("cpu")),
            "network": "resnet_9blocks generator (ngf 64), 70x70 PatchGAN (ndf 64), identity loss on",
            "rounds": args.rounds,
            "training": training_table(data_root, Path(tmp) / "run", args.sizes, args.batches, args.contenders, args.repeats, args.rounds),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
