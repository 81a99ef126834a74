"""``stylecycle evaluate``: score a folder of translations, or translate with a checkpoint (or
every checkpoint of a run) and score that, writing a report for each and, over a run, the
metrics against the training step."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from .atomic import atomic_path
from .config import EvaluateConfig
from .evaluation import (
    METRICS,
    Evaluator,
    Report,
    folder_items,
    format_metric,
    image_files,
    load_features,
    read_target_features,
    write_report,
)
from .plots import pyplot, save_figure
from .training.checkpoint import checkpoint_step, list_checkpoints, resolve_checkpoint, run_folder

log = logging.getLogger("stylecycle")


def build_evaluator(config: EvaluateConfig) -> tuple[Evaluator, Report]:
    """The evaluator, with the target domain's features read once, and a report template that
    carries what every report must say (metrics unavailable, target images skipped)."""
    template = Report()
    features = load_features(config.inception_weights, template) if config.target is not None else None
    target = read_target_features(config.target, features, template.skipped) if features is not None else None  # type: ignore[arg-type]
    return Evaluator(features, target, sheet_images=config.sheet_images), template


def score_folder(
    evaluator: Evaluator, template: Report, outputs: Path, config: EvaluateConfig, folder: Path, extra: dict | None = None
) -> Report:
    """Score the translations under ``outputs`` and write the report files into ``folder``, with
    ``extra`` rows (``{name: scores}``) beside the summary's own."""
    report = Report(unavailable=dict(template.unavailable), skipped=list(template.skipped))
    report, sheet = evaluator.evaluate(folder_items(outputs, config.references, config.inputs, report.skipped), report)
    report.summary.update(extra or {})
    paths = write_report(report, sheet, folder)
    log.info("evaluate: %s", ", ".join(str(p) for p in paths.values()))
    return report


def translate_with(checkpoint: Path, config: EvaluateConfig, output: Path) -> None:
    """Translate ``config.inputs`` with ``checkpoint`` into ``output``, as PNG (lossless, so the
    scores measure the model and not a JPEG encoder)."""
    from .inference import Translator
    from .translate_files import translate_files

    translator = Translator.from_checkpoint(checkpoint, config.direction, config.device, config.precision)
    translate_files(translator, config.inputs, output, fmt="png")  # type: ignore[arg-type]


def teacher_agreement(config: EvaluateConfig, folder: Path) -> dict:
    """PSNR and SSIM of the student's translations (``folder/translated``) against its teacher's
    (written to ``folder/teacher``), with their own report in ``folder/agreement``."""
    assert config.teacher is not None
    translate_with(resolve_checkpoint(config.teacher), config, folder / "teacher")
    against_teacher = dataclasses.replace(config, references=folder / "teacher", target=None)
    report = score_folder(
        Evaluator(None, None, sheet_images=config.sheet_images), Report(), folder / "translated", against_teacher, folder / "agreement"
    )
    return report.summary["translated"]


def report_folder(config: EvaluateConfig) -> Path:
    """``--report``, or beside what is scored: RUN/evaluation, or OUTPUTS_evaluation."""
    if config.report is not None:
        return Path(config.report)
    if config.checkpoint is not None:
        run = Path(config.checkpoint)
        return (run if run.is_dir() else run_folder(run)) / "evaluation"
    return Path(f"{config.outputs}_evaluation")


def evaluate(config: EvaluateConfig) -> tuple[Path, Report | list[dict]]:
    """Run the command: returns the report folder and the report (or, over a run's checkpoints,
    one summary row per checkpoint)."""
    config.validate()
    if config.inputs is not None:
        image_files(config.inputs, "--inputs")  # before any Inception or checkpoint is loaded
    folder = report_folder(config)
    evaluator, template = build_evaluator(config)
    if config.checkpoint is None:
        return folder, score_folder(evaluator, template, config.outputs, config, folder)  # type: ignore[arg-type]
    if not config.all_checkpoints:
        translate_with(resolve_checkpoint(config.checkpoint), config, folder / "translated")
        extra = {"agreement with the teacher": teacher_agreement(config, folder)} if config.teacher is not None else {}
        return folder, score_folder(evaluator, template, folder / "translated", config, folder, extra)
    rows = []
    for checkpoint in list_checkpoints(config.checkpoint) or [resolve_checkpoint(config.checkpoint)]:
        sub = folder / checkpoint.stem
        translate_with(checkpoint, config, sub / "translated")
        report = score_folder(evaluator, template, sub / "translated", config, sub)
        rows.append({"checkpoint": checkpoint.name, "step": checkpoint_step(checkpoint), **report.summary["translated"]})
    write_progress(rows, folder)
    return folder, rows


def write_progress(rows: list[dict], folder: Path) -> None:
    """``over_training.json``, ``over_training.md`` and ``over_training.png``: each metric of
    the translations against the training step."""
    metrics = [m for m in METRICS if any(m in row for row in rows)]
    with atomic_path(folder / "over_training.json") as tmp:
        tmp.write_text(json.dumps(rows, indent=2))
    table = ["| step | " + " | ".join(METRICS[m][0] for m in metrics) + " |", "|---:|" + "---:|" * len(metrics)]
    table += [f"| {row['step']} | " + " | ".join(format_metric(m, row.get(m), {}) for m in metrics) + " |" for row in rows]
    with atomic_path(folder / "over_training.md") as tmp:
        tmp.write_text("\n".join(table) + "\n")
    if metrics:
        plot_progress(rows, metrics, folder / "over_training.png")


def plot_progress(rows: list[dict], metrics: list[str], path: Path) -> None:
    fig, axes = pyplot().subplots(1, len(metrics), figsize=(4 * len(metrics), 3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        points = [(row["step"], row[metric]) for row in rows if metric in row]
        ax.plot(*zip(*points), marker="o")
        label, higher_is_better, _ = METRICS[metric]
        ax.set(xlabel="training step", title=f"{label} ({'higher' if higher_is_better else 'lower'} is better)")
        ax.grid(alpha=0.3)
    save_figure(fig, path)
