"""The ``stylecycle`` command: flags in, library calls, one-line errors out.

Flags are generated from the config dataclasses, one per field, so the CLI never drifts from
the library. Errors a user can cause print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import typing
from pathlib import Path
from typing import Any, NoReturn

from .config import (
    RECIPES,
    Config,
    EvaluateConfig,
    ServeConfig,
    TranslateConfig,
    TuneConfig,
    field_type,
    flag_name,
    optional_inner,
    read_config_file,
)
from .config.options import allowed_values
from .data.styles import STYLES
from .errors import ConfigError, StylecycleError, TrainingInterrupted, user_message
from .nn.generators import list_generators
from .pretrained import OFFLINE_ENV

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line rather than the usage block plus the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_section(parser: argparse.ArgumentParser, section_cls: type, prefix: str, defaults: Any = None) -> None:
    """One flag per field of ``section_cls``; values land in ``namespace.<prefix>.<field>``.

    Defaults are suppressed so that only flags the user typed reach the config; the help shows
    those of ``defaults`` (a ``section_cls`` with a recipe's defaults), else the field's own.
    """
    group = parser.add_argument_group(f"{prefix} options")
    for f in dataclasses.fields(section_cls):
        tp, _ = optional_inner(field_type(section_cls, f.name))
        kwargs: dict[str, Any] = {"dest": f"{prefix}.{f.name}", "default": argparse.SUPPRESS}
        default = getattr(defaults, f.name) if defaults is not None else f.default
        kwargs["help"] = f"{f.metadata['help']}" + ("" if default in (None, ()) else f" (default: {default})")
        choices = allowed_values(section_cls, f)
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(tp) is tuple:  # a repeatable option
            kwargs.update(action="append", metavar="VALUE")
        elif choices is not None:
            kwargs["choices"] = choices
        else:
            kwargs["type"] = tp
            kwargs["metavar"] = {Path: "PATH", int: "N", float: "X"}.get(tp, "VALUE")
        group.add_argument(flag_name(f), **kwargs)


def section_values(namespace: argparse.Namespace, prefix: str) -> dict[str, Any]:
    return {key.split(".", 1)[1]: value for key, value in vars(namespace).items() if key.startswith(prefix + ".")}


def add_config_sections(parser: argparse.ArgumentParser, recipe: str | None) -> None:
    """``--config FILE`` and one flag per field of the training config, its help showing the
    defaults of ``recipe`` where one is given."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a YAML config (such as the best.yaml `stylecycle tune` writes); flags given override it",
    )
    defaults = Config.from_recipe({"train": {"recipe": recipe}} if recipe else {})
    for f in dataclasses.fields(Config):
        add_section(parser, f.default_factory, f.name, getattr(defaults, f.name))  # type: ignore[arg-type]


def recipe_asked_for(argv: list[str]) -> str | None:
    """The ``--recipe`` among ``argv``, if it names a known one (so that ``--help`` can show its defaults)."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--recipe")
    recipe = peek.parse_known_args(argv)[0].recipe
    return recipe if recipe in RECIPES else None


def given_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The training options the user set, {section: {field: value}}: the --config file's,
    overridden by the flags typed."""
    from_file = read_config_file(args.config) if args.config else {}
    return {f.name: {**from_file.get(f.name, {}), **section_values(args, f.name)} for f in dataclasses.fields(Config)}


def build_parser(recipe: str | None = None) -> OneLineParser:
    parser = OneLineParser(prog="stylecycle", description="Unpaired image-to-image style transfer with CycleGAN.")
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"never download pretrained weights (VGG, Inception) into the torch hub cache; the same as {OFFLINE_ENV}=1",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)

    train = commands.add_parser("train", help="train a CycleGAN on two folders of images", description="Train a CycleGAN.")
    add_config_sections(train, recipe)

    distill = commands.add_parser(
        "distill",
        help="train a small, fast student generator to translate as a trained model does",
        description="Distil a trained model (the teacher) into a small student generator: an ordinary checkpoint that "
        "translates, exports and serves like any other, several times faster. Every training option applies.",
    )
    distill.add_argument(
        "--checkpoint",
        dest="model.teacher",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the teacher: a checkpoint or run folder",
    )
    distill.add_argument(
        "--student",
        dest="model.generator",
        choices=list_generators(),
        default=argparse.SUPPRESS,
        help="the student's architecture (the same as --generator)",
    )
    distill.add_argument(
        "--width", dest="model.ngf", type=int, metavar="N", default=argparse.SUPPRESS, help="the student's width (the same as --ngf)"
    )
    distill.add_argument(
        "--direction",
        dest="model.distill_direction",
        choices=["a2b", "b2a", "both"],
        default=argparse.SUPPRESS,
        help="which of the teacher's directions to distil (the same as --distill-direction; default: a2b)",
    )
    add_config_sections(distill, recipe or "distill")

    translate = commands.add_parser("translate", help="translate images with a trained checkpoint", description="Translate images.")
    add_section(translate, TranslateConfig, "translate")

    export = commands.add_parser(
        "export",
        help="export one generator as ONNX, TorchScript or safetensors",
        description="Export a trained generator (checked against PyTorch).",
    )
    export.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint file or run folder")
    export.add_argument("--output", type=Path, required=True, help="file to write (.onnx, .pt, .safetensors)")
    export.add_argument("--format", choices=["onnx", "torchscript", "safetensors"], required=True)
    export.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="which generator (default: a2b)")
    export.add_argument("--generator", choices=list_generators(), help="architecture of an original CycleGAN generator file")

    evaluate = commands.add_parser(
        "evaluate",
        help="score translations: PSNR/SSIM against references, FID/KID against a target folder",
        description="Score translated images (or translate with a checkpoint first): metrics.json, metrics.md and comparison.png.",
    )
    add_section(evaluate, EvaluateConfig, "evaluate")

    tune = commands.add_parser(
        "tune",
        help="search hyper-parameters with Optuna: short training runs scored on a validation split",
        description="Search hyper-parameters: each trial trains --trial-steps steps with the training options given plus its "
        "parameters, and is scored on the validation split. --run-dir holds the study; run the command again to continue it.",
    )
    add_config_sections(tune, recipe)
    add_section(tune, TuneConfig, "tune")

    serve = commands.add_parser(
        "serve",
        help="a web page to translate pictures and to train, in the browser",
        description="Serve a local web page (Gradio): a Translate tab and a Train tab.",
    )
    add_section(serve, ServeConfig, "serve")

    hashing = commands.add_parser(
        "hash-password",
        help="print a login line for `serve --auth-file` with the password hashed",
        description="Read a password (typed, or the first line of standard input) and print USER:HASH, a line for "
        "`stylecycle serve --auth-file`, so the file need not hold the password itself.",
    )
    hashing.add_argument("user", help="the user name to log in with")

    check = commands.add_parser(
        "check-data", help="show what training would see in a dataset folder", description="Check a dataset before training."
    )
    check.add_argument("root", type=Path, help="a dataset folder (with trainA/, trainB/, ...) or one folder of images")

    benchmark = commands.add_parser(
        "make-benchmark",
        aliases=["make-demo"],
        help="build the demo dataset, a task with a known answer (no download)",
        description="Build the demo/benchmark dataset: photographs (A) and a documented stylisation of them (B), unpaired, "
        "with validation and test photographs and their true stylisations.",
    )
    benchmark.add_argument("root", type=Path, help="folder to write trainA/, trainB/, valA/, valB/, testA/, testB/ into")
    benchmark.add_argument(
        "--style",
        default="poster",
        choices=list(STYLES),
        help="the true stylisation: poster (flat warm colours, ink edges; the demo's), grade (a photographic colour grade), "
        "paint (oil-paint patches, outlines), comic (bilateral smoothing, nine printing inks, XDoG outlines); "
        "documented in stylecycle.data.styles (default: poster)",
    )
    benchmark.add_argument("--train-per-domain", type=int, default=120, metavar="N", help="training crops per domain (default: 120)")
    benchmark.add_argument("--size", type=int, default=128, metavar="N", help="side of the training crops in pixels (default: 128)")
    benchmark.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the crop positions (default: 0)")
    return parser


def run_train(args: argparse.Namespace, given: dict[str, dict[str, Any]] | None = None) -> None:
    from .training.trainer import Trainer, resume_trainer

    given = given or given_options(args)
    resume = given["train"].get("resume")
    trainer = resume_trainer(resume, given) if resume else Trainer(Config.from_recipe(given))
    final = trainer.run()
    if trainer.dist.is_main:
        print(f"checkpoint: {final}")


def run_distill(args: argparse.Namespace) -> None:
    """``train`` with ``--model distill`` (:func:`~stylecycle.distillation.distillation_options`)."""
    from .distillation import distillation_options

    given = given_options(args)
    run_train(args, given if given["train"].get("resume") else distillation_options(given))


def run_translate(args: argparse.Namespace) -> None:
    from .inference import Translator
    from .translate_files import translate_files

    config = TranslateConfig(**section_values(args, "translate")).validate()
    assert config.checkpoint and config.input and config.output  # validate() refuses them missing
    translator = Translator.from_checkpoint(
        config.checkpoint,
        config.direction,
        config.device,
        config.precision,
        config.generator,
        channels_last=config.channels_last,
        method=config.method,
        max_pixels=config.max_pixels,
        tile=config.tile,
    )
    report = translate_files(
        translator,
        config.input,
        config.output,
        fmt=config.format,
        quality=config.quality,
        batch_size=config.batch_size,
        skip_existing=config.skip_existing,
        side_by_side=config.side_by_side,
        temporal_smoothing=config.temporal_smoothing,
    )
    notes = [f"skipped {len(report.skipped)} unreadable"] if report.skipped else []
    notes += [f"{report.existing} already there"] if report.existing else []
    print(f"translated {report.translated} file(s) into {config.output}" + (f"; {', '.join(notes)}" if notes else ""))
    if report.translated == 0 and not report.existing:
        raise StylecycleError(f"nothing under {config.input} could be translated")


def run_export(args: argparse.Namespace) -> None:
    from .export import export_generator

    path = export_generator(args.checkpoint, args.output, args.format, args.direction, args.generator)
    print(f"exported {args.direction} generator to {path}")


def run_evaluate(args: argparse.Namespace) -> None:
    from .evaluate_checkpoints import evaluate

    folder, result = evaluate(EvaluateConfig(**section_values(args, "evaluate")))
    if isinstance(result, list):
        print((folder / "over_training.md").read_text(), end="")
        print(f"reports for {len(result)} checkpoint(s) under {folder}; metrics against the step: {folder / 'over_training.png'}")
    else:
        print(result.to_markdown(), end="")
        print(
            f"report: {folder / 'metrics.md'}, {folder / 'metrics.json'}"
            + (f", {folder / 'comparison.png'}" if (folder / "comparison.png").exists() else "")
        )


def run_tune(args: argparse.Namespace) -> None:
    from .tune import tune

    study, paths = tune(given_options(args), TuneConfig(**section_values(args, "tune")))
    print(paths["summary"].read_text(), end="")
    print(
        f"best: trial {study.best_trial.number}, {study.best_trial.value:.4g}; config {paths['best']}; "
        + ", ".join(str(paths[k]) for k in ("history", "importances") if k in paths)
    )


def run_serve(args: argparse.Namespace) -> None:
    try:
        from .serve.app import serve
    except ModuleNotFoundError as exc:
        if exc.name != "gradio":
            raise
        raise ConfigError("stylecycle serve needs Gradio: pip install 'stylecycle[serve]'") from exc

    serve(ServeConfig(**section_values(args, "serve")))


def run_hash_password(args: argparse.Namespace) -> None:
    import getpass

    from .serve.logins import hash_password

    if ":" in args.user or not args.user.strip():
        raise ConfigError(f"user name {args.user!r}: it must not be empty or hold a ':'")
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise ConfigError("an empty password")
    print(f"{args.user}:{hash_password(password)}")


def run_check_data(args: argparse.Namespace) -> None:
    from .data.check import check_dataset

    reports = check_dataset(args.root)
    for report in reports:
        print("\n".join(report.lines()))
    problems = sum(len(report.scan.skipped) for report in reports)
    print(f"{problems} file(s) will be skipped" if problems else "every image is usable")


def run_make_benchmark(args: argparse.Namespace) -> None:
    from .data.demo import build_demo_dataset

    for name in ("train_per_domain", "size"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    root = build_demo_dataset(args.root, style=args.style, train_per_domain=args.train_per_domain, side=args.size, seed=args.seed)
    print(f"benchmark data written to {root} (valB/ and testB/ hold the true stylisations of valA/ and testA/)")


COMMANDS = {
    "train": run_train,
    "distill": run_distill,
    "translate": run_translate,
    "evaluate": run_evaluate,
    "tune": run_tune,
    "serve": run_serve,
    "hash-password": run_hash_password,
    "export": run_export,
    "check-data": run_check_data,
    "make-benchmark": run_make_benchmark,
    "make-demo": run_make_benchmark,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(recipe_asked_for(argv)).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.offline:
        os.environ[OFFLINE_ENV] = "1"
    try:
        COMMANDS[args.command](args)
    except StylecycleError as exc:
        print(f"stylecycle {args.command}: error: {user_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingInterrupted as stop:
        print(f"stylecycle {args.command}: stopped; saved {stop.checkpoint} ({stop.hint})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"stylecycle {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
