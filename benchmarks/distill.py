"""Distilled students against their teacher, in one run; prints JSON.

Two parts:

- ``--speed``: translation time of the teacher's architecture (the 9-block, 64-wide ResNet of
  the ``standard`` recipe) and of candidate students, each in a fresh process of its own, with
  ``stylecycle translate``'s defaults on this machine (random weights: speed does not depend on
  them), at 1024x1024 and, tiled, at 6000x4000; this is what chose the ``distill`` recipe's
  student.
- ``--teacher RUN`` (or ``--teacher-budget 20m``, which trains one with ``--recipe standard`` on
  the demo data first): distils the default student for ``--distill-budget``, and reports the
  time each took to train, the student's agreement with the teacher on the held-out photos
  (PSNR, SSIM of the student's translation against the teacher's), both models' known-truth
  scores, the exported student's ONNX Runtime time at 1024x1024 and its largest difference
  from PyTorch, and frames per second on a 720p clip for both.

    python benchmarks/distill.py --speed
    python benchmarks/distill.py --teacher-budget 60m --distill-budget 20m --output benchmarks/results/distill
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from speed import own_rss_mib

from stylecycle.config import Config, ModelConfig
from stylecycle.data.demo import build_demo_dataset, load_photo
from stylecycle.data.io import read_pil
from stylecycle.distillation import distillation_options
from stylecycle.evaluation import paired_scores
from stylecycle.export import export_onnx
from stylecycle.generator_files import load_generator
from stylecycle.inference import Translator
from stylecycle.model import build_generator
from stylecycle.training.trainer import Trainer

TEACHER = "resnet_9blocks:64"
STUDENTS = ("mobile_resnet_9blocks:16", "mobile_resnet_9blocks:24", "mobile_resnet_9blocks:32", "resnet_9blocks:16", "resnet_6blocks:16")


def network(spec: str) -> torch.nn.Module:
    """``NAME:WIDTH`` as a freshly initialised generator (global skip on, as the recipes have it)."""
    name, width = spec.split(":")
    torch.manual_seed(0)
    return build_generator(ModelConfig(generator=name, ngf=int(width), global_skip=True)).eval()


def probe(spec: str, height: int, width: int, repeats: int) -> dict:
    """In a fresh process: translate one random image with the defaults, the first call warming up."""
    translate = Translator(network(spec), "cpu").translate
    image = torch.rand(3, height, width).mul_(2).sub_(1)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        translate(image)
        times.append(time.perf_counter() - start)
    return {"seconds": round(statistics.median(times[1:] or times), 3), "peak_rss_mib": round(own_rss_mib())}


def measure(spec: str, height: int, width: int, repeats: int) -> dict:
    command = [sys.executable, __file__, "--probe", spec, "--size", str(height), str(width), "--repeats", str(repeats)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def speed_table(specs: list[str], rounds: int) -> dict:
    """Median of ``rounds`` alternating rounds per network and size; the teacher's time over each."""
    table: dict[str, dict] = {}
    for label, (height, width, repeats) in {"1024x1024": (1024, 1024, 2), "6000x4000 (tiled)": (4000, 6000, 0)}.items():
        rounds_of: dict[str, list[dict]] = {spec: [] for spec in [TEACHER, *specs]}
        for _ in range(rounds):
            for spec in rounds_of:
                rounds_of[spec].append(measure(spec, height, width, repeats))
        medians = {spec: sorted(r, key=lambda x: x["seconds"])[(len(r) - 1) // 2] for spec, r in rounds_of.items()}
        teacher = medians[TEACHER]["seconds"]
        table[label] = {spec: {**m, "speedup": round(teacher / m["seconds"], 2)} for spec, m in medians.items()}
        print(json.dumps({label: table[label]}), file=sys.stderr, flush=True)
    return table


def train(given: dict, budget: str, run_dir: Path) -> tuple[Path, float]:
    trainer = Trainer(Config.from_recipe({**given, "train": {**given.get("train", {}), "run_dir": run_dir, "time_budget": budget}}))
    final = trainer.run()
    return final, trainer.elapsed_s


def scores(student: Path, teacher: Path, data: Path) -> dict:
    """Agreement with the teacher and known-truth scores of both, on the held-out photos."""
    ours, theirs = (Translator.from_checkpoint(path, device="cpu") for path in (student, teacher))
    rows = []
    for photo in sorted((data / "testA").glob("*.png")):
        source, truth = read_pil(photo), read_pil(data / "testB" / photo.name)
        by_student, by_teacher = ours.translate(source), theirs.translate(source)
        rows.append((paired_scores(by_student, by_teacher), paired_scores(by_student, truth), paired_scores(by_teacher, truth)))

    def mean(i: int, key: str) -> float:
        return round(statistics.mean(row[i][key] for row in rows), 3)

    return {
        "student_vs_teacher": {"psnr": mean(0, "psnr"), "ssim": mean(0, "ssim")},
        "student_vs_truth": {"psnr": mean(1, "psnr"), "ssim": mean(1, "ssim")},
        "teacher_vs_truth": {"psnr": mean(2, "psnr"), "ssim": mean(2, "ssim")},
    }


def onnx_check(student: Path, workdir: Path) -> dict:
    """The student exported as ``stylecycle export`` does (checked against PyTorch there), then timed in ONNX Runtime."""
    import onnxruntime

    generator, _ = load_generator(student)
    path = workdir / "student.onnx"
    difference = export_onnx(generator.eval(), path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = (torch.rand(1, 3, 1024, 1024) * 2 - 1).numpy()
    session.run(None, {"image": image})  # warm-up
    start = time.perf_counter()
    session.run(None, {"image": image})
    return {"onnxruntime_1024_s": round(time.perf_counter() - start, 3), "largest_difference_from_pytorch": difference}


def video_fps(checkpoint: Path, clip: Path, out: Path) -> float:
    from stylecycle.translate_files import translate_files

    translator = Translator.from_checkpoint(checkpoint, device="cpu")
    start = time.perf_counter()
    translate_files(translator, clip, out)
    import av

    with av.open(str(out / clip.name)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    return round(frames / (time.perf_counter() - start), 3)


def make_clip(path: Path, frames: int = 24) -> Path:
    """A 1280x720 clip of a photo panning sideways, 24 frames at 24 fps."""
    import av

    base = np.asarray(load_photo("astronaut").convert("RGB").resize((1600, 900)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[90:810, i * 10 : i * 10 + 1280]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true", help="the translation-speed table of teacher and candidate students")
    parser.add_argument("--students", nargs="+", default=list(STUDENTS), help="NAME:WIDTH of each candidate student")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--teacher", type=Path, help="a trained teacher's run folder or checkpoint")
    parser.add_argument("--teacher-budget", help="train a teacher with --recipe standard on the demo data for this long first")
    parser.add_argument("--distill-budget", default="20m", help="how long the student trains")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/distill"))
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, *args.size, args.repeats)))
        return
    result: dict = {"threads": torch.get_num_threads()}
    if args.speed:
        result["translation"] = speed_table(args.students, args.rounds)
    if args.teacher or args.teacher_budget:
        args.output.mkdir(parents=True, exist_ok=True)
        data = build_demo_dataset(args.output / "data")
        with tempfile.TemporaryDirectory() as tmp:
            if args.teacher is None:
                args.teacher, result["teacher_training_s"] = train(
                    {"train": {"recipe": "standard"}, "data": {"root": data}}, args.teacher_budget, args.output / "teacher"
                )
            student, result["distilling_s"] = train(
                distillation_options({"data": {"root": data}, "model": {"teacher": args.teacher}}),
                args.distill_budget,
                args.output / "student",
            )
            result["scores"] = scores(student, args.teacher, data)
            result["onnx"] = onnx_check(student, Path(tmp))
            clip = make_clip(Path(tmp) / "clip.mp4")
            result["video_720p_fps"] = {
                name: video_fps(path, clip, Path(tmp) / name) for name, path in (("teacher", args.teacher), ("student", student))
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
