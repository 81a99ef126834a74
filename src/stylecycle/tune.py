"""Hyper-parameter search on Optuna: each trial is a short training run, scored on a validation
split with the metrics of :mod:`stylecycle.evaluation`.

The study lives in ``RUN_DIR/study.db`` (SQLite), so an interrupted search continues where it
stopped when the same command is run again: finished trials count, and a trial that was cut
off is run again with the same parameters. At the end: ``summary.md`` (every trial),
``best.yaml`` (the base options plus the best trial's, for ``stylecycle train --config``),
``history.png`` and ``importances.png``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .config import Config, TuneConfig, field_type, optional_inner, write_config_file
from .config.files import coerce_field
from .config.tree import DEFAULT_TRIALS, SECTION_CLASSES
from .data.io import read_pil
from .errors import ConfigError, DataError, StylecycleError, TrainingInterrupted
from .evaluation import (
    Evaluator,
    Item,
    MetricUnavailable,
    image_files,
    inception_features,
    read_target_features,
)
from .inference import Translator
from .plots import save_figure
from .precision import Precision

if TYPE_CHECKING:
    import optuna

    from .training.trainer import Trainer

log = logging.getLogger("stylecycle")

STUDY_FILE, STUDY_NAME = "study.db", "stylecycle"
MAXIMISED = ("psnr", "ssim")
RUN_OPTIONS = ("run_dir", "resume")  # where a run goes: not part of the best config


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise ConfigError("stylecycle tune needs Optuna: pip install 'stylecycle[tune]'") from exc
    return optuna


@dataclass(frozen=True)
class Param:
    """One searched option: a list of choices, or a range (integer when the option is)."""

    section: str
    field: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False

    @property
    def name(self) -> str:
        return f"{self.section}.{self.field}"

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.is_int():
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def is_int(self) -> bool:
        return option_type(self.section, self.field) is int


def option_type(section: str, name: str) -> Any:
    """The type of a training option, ``X`` for ``X | None``."""
    return optional_inner(field_type(SECTION_CLASSES[section], name))[0]


def find_option(name: str) -> tuple[str, str]:
    """(section, field) of a training option named ``field`` or ``section.field``."""
    candidates = [(s, f.name) for s, cls in SECTION_CLASSES.items() for f in dataclasses.fields(cls) if name in (f.name, f"{s}.{f.name}")]
    if len(candidates) != 1:
        problem = "is ambiguous" if candidates else "is not a training option"
        raise ConfigError(
            f"search parameter {name!r} {problem}; use one of the names of `stylecycle train --help`, e.g. lr, lambda_cycle, generator"
        )
    if candidates[0][1] in RUN_OPTIONS:
        raise ConfigError(f"search parameter {name!r} cannot be searched")
    return candidates[0]


def make_param(name: str, choices: list[Any] | None = None, low: Any = None, high: Any = None, log: bool = False) -> Param:
    """A :class:`Param`, with the values checked against the option's type."""
    section, fname = find_option(name)
    if choices is None and option_type(section, fname) not in (int, float):
        raise ConfigError(f"search parameter {name} is not numeric: list its values instead (NAME=V1,V2)")
    try:
        if choices is not None:
            if not choices:
                raise ValueError("no values given")
            return Param(section, fname, choices=tuple(coerce_field(SECTION_CLASSES[section], fname, c) for c in choices))
        low, high = float(low), float(high)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"search parameter {name}: {exc}") from exc
    if not low < high or (log and low <= 0):
        raise ConfigError(
            f"search parameter {name}: the range needs low < high{' and low > 0 (log scale)' if log else ''}, got {low}:{high}"
        )
    return Param(section, fname, low=low, high=high, log=log)


def parse_param(text: str) -> Param:
    """``NAME=V1,V2,...``, ``NAME=LOW:HIGH`` or ``NAME=LOW:HIGH:log``."""
    name, sep, values = text.partition("=")
    if not sep or not values:
        raise ConfigError(f"--param {text!r}: write NAME=V1,V2,... or NAME=LOW:HIGH[:log]")
    if ":" in values and "," not in values:
        parts = values.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise ConfigError(f"--param {text!r}: a range is LOW:HIGH or LOW:HIGH:log")
        return make_param(name.strip(), low=parts[0], high=parts[1], log=len(parts) == 3)
    return make_param(name.strip(), choices=[v.strip() for v in values.split(",")])


def read_space(path: Path) -> list[Param]:
    """A YAML search space: ``NAME: [V1, V2]`` or ``NAME: {low: X, high: Y, log: true}``."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read search space {path}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"search space {path} must map option names to value lists or ranges")
    params = []
    for name, spec in raw.items():
        if isinstance(spec, list):
            params.append(make_param(str(name), choices=spec))
        elif isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "log"}:
            params.append(make_param(str(name), low=spec["low"], high=spec["high"], log=bool(spec.get("log", False))))
        else:
            raise ConfigError(f"search space {path}: {name} must be a list of values or {{low: X, high: Y, log: true|false}}")
    return params


def search_space(tune: TuneConfig) -> list[Param]:
    params = (read_space(tune.space) if tune.space else []) + [parse_param(text) for text in tune.param]
    names = [p.name for p in params]
    if not params:
        raise ConfigError("nothing to search: give --param NAME=VALUES (repeatable) or --space FILE")
    if len(set(names)) != len(names):
        raise ConfigError(f"search parameters given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    if tune.sampler == "grid" and any(not p.choices for p in params):
        raise ConfigError("--sampler grid needs a list of values for every parameter, not a range")
    return params


class Validation:
    """Scores a generator on the validation split by the objective; images are read once."""

    def __init__(self, tune: TuneConfig, data_root: Path | None) -> None:
        val_a = tune.val_a or (Path(data_root) / "valA" if data_root else None)
        val_b = tune.val_b or (Path(data_root) / "valB" if data_root else None)
        if val_a is None or val_b is None:
            raise ConfigError("tune needs a validation split: --val-a and --val-b (or --data with valA/ and valB/)")
        self.objective = tune.objective
        inputs = image_files(val_a, "--val-a")
        self.inputs = [(key, read_pil(path)) for key, path in inputs.items()]
        features, target = None, None
        if self.objective in MAXIMISED:
            references = image_files(val_b, "--val-b")
            missing = sorted(set(inputs) - set(references))
            if missing:
                raise DataError(
                    f"--objective {self.objective} needs the true translation of every --val-a image in --val-b; missing: {', '.join(missing[:3])}"
                )
            self.references = {key: read_pil(references[key]) for key in inputs}
        else:
            try:
                features = inception_features(tune.inception_weights)
            except MetricUnavailable as exc:
                raise ConfigError(f"--objective {self.objective}: {exc}") from exc
            target = read_target_features(val_b, features, [], flag="--val-b")  # unreadable ones are logged
            self.references = {}
        self.evaluator = Evaluator(features, target, sheet_images=0)
        # The untranslated inputs' score: a trial that does not beat it learned nothing.
        self.baseline = self.objective_of(Item(key, image, self.references.get(key)) for key, image in self.inputs)
        log.info("tune: validation %s of the untranslated inputs (identity baseline): %.4g", self.objective, self.baseline)

    def objective_of(self, items: Iterable[Item]) -> float:
        report, _ = self.evaluator.evaluate(items)
        return float(report.summary["translated"][self.objective])

    def score(self, generator: nn.Module, device: torch.device, precision: Precision) -> float:
        """The objective for ``generator`` (left in training mode afterwards)."""
        translator = Translator(generator, device, precision)
        try:
            return self.objective_of(Item(key, translator.translate(image), self.references.get(key)) for key, image in self.inputs)
        finally:
            generator.train()


def with_params(given: dict[str, dict[str, Any]], params: dict[str, Any], **train: Any) -> Config:
    """The config of a trial: the options given, with its parameters (named ``section.field``)
    and some train options over them, on the defaults of the recipe and the method they name, as
    `train` builds it: a trial of ``--model fastcut`` is FastCUT with FastCUT's weights, and one
    of ``--recipe paper`` has the paper's networks, not only the recipe's name."""
    options = {section: dict(values) for section, values in given.items()}
    for name, value in [*params.items(), *((f"train.{k}", v) for k, v in train.items())]:
        section, fname = name.split(".")
        options.setdefault(section, {})[fname] = value
    return Config.from_recipe(options)


class Search:
    """One study: its storage, sampler and pruner, the objective, and the files it ends with."""

    def __init__(self, given: dict[str, dict[str, Any]], tune: TuneConfig) -> None:
        """``given``: the training options typed ({section: {field: value}}); each trial's config
        is built from them as `train` would (:func:`with_params`)."""
        self.optuna = import_optuna()
        self.given, self.tune = given, tune.validate()
        self.space = search_space(tune)
        self.base = base = Config.from_recipe(given).validate()
        self.folder = Path(base.train.run_dir)  # type: ignore[arg-type]
        self.validation = Validation(tune, base.data.root)

    def study(self) -> optuna.Study:
        optuna = self.optuna
        self.folder.mkdir(parents=True, exist_ok=True)
        seed = self.base.train.seed
        storage = f"sqlite:///{(self.folder / STUDY_FILE).resolve()}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        existing = {s.study_name: s for s in optuna.get_all_study_summaries(storage)} if (self.folder / STUDY_FILE).exists() else {}
        done_before = existing[STUDY_NAME].n_trials if STUDY_NAME in existing else 0
        if self.tune.sampler == "grid":
            sampler = optuna.samplers.GridSampler({p.name: list(p.choices) for p in self.space}, seed=seed)
        else:
            # A resumed search must not draw the first trials' parameters again.
            sampler_cls = optuna.samplers.TPESampler if self.tune.sampler == "tpe" else optuna.samplers.RandomSampler
            sampler = sampler_cls(seed=seed + done_before)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2) if self.tune.prune else optuna.pruners.NopPruner()
        direction = "maximize" if self.tune.objective in MAXIMISED else "minimize"
        study = optuna.create_study(
            study_name=STUDY_NAME, storage=storage, load_if_exists=True, direction=direction, sampler=sampler, pruner=pruner
        )
        described = {"objective": self.tune.objective, "sampler": self.tune.sampler, "space": sorted(map(repr, self.space))}
        if study.user_attrs.get("search") not in (None, described):
            raise ConfigError(f"{self.folder / STUDY_FILE} holds a different search ({study.user_attrs['search']}); use another --run-dir")
        study.set_user_attr("search", described)
        self.retry_interrupted(study)
        return study

    def retry_interrupted(self, study: optuna.Study) -> None:
        """Trials cut off by an interruption (or left running by a killed process) are marked
        failed and, except under grid search (which revisits unfinished points by itself), queued
        to run again with the same parameters."""
        TrialState = self.optuna.trial.TrialState
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(trial.number, state=TrialState.FAIL)
        retried = set(study.user_attrs.get("retried", []))
        for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
            if trial.user_attrs.get("interrupted", True) and trial.number not in retried:
                if self.tune.sampler != "grid" and trial.params:
                    study.enqueue_trial(trial.params)
                retried.add(trial.number)
        study.set_user_attr("retried", sorted(retried))

    def objective(self, trial: optuna.Trial) -> float:
        from .training.trainer import Trainer

        params = {p.name: p.suggest(trial) for p in self.space}
        run_dir = self.folder / "trials" / f"trial_{trial.number:04d}"
        try:
            trainer = Trainer(
                with_params(self.given, params, run_dir=run_dir, resume=None, max_steps=self.tune.trial_steps, save_every=0, keep_last=1)
            )
        except ConfigError:  # parameters that do not go together (a failed trial, not one to retry)
            trial.set_user_attr("interrupted", False)
            raise
        log.info("trial %d: %s", trial.number, ", ".join(f"{k.split('.')[1]}={v}" for k, v in params.items()))

        def after_step(trainer: Trainer) -> None:
            if trainer.step % self.tune.eval_every or trainer.step >= trainer.total_steps:
                return
            value = self.score(trainer)
            trial.report(value, trainer.step)
            if trial.should_prune():
                raise self.optuna.TrialPruned(
                    f"{self.tune.objective} {value:.4g} at step {trainer.step}, below the median of earlier trials"
                )

        try:
            trainer.run(after_step)
        except TrainingInterrupted:
            trial.set_user_attr("interrupted", True)
            raise
        trial.set_user_attr("interrupted", False)
        value = self.score(trainer)
        log.info("trial %d: %s = %.4g", trial.number, self.tune.objective, value)
        return value

    def score(self, trainer: Trainer) -> float:
        value = self.validation.score(trainer.model.translators()["G_ab"], trainer.device, trainer.precision)
        if not math.isfinite(value):
            raise self.optuna.TrialPruned(f"{self.tune.objective} is {value}")
        return value

    def run(self) -> optuna.Study:
        study = self.study()
        TrialState = self.optuna.trial.TrialState
        wanted = self.tune.trials or (math.prod(len(p.choices) for p in self.space) if self.tune.sampler == "grid" else DEFAULT_TRIALS)
        # Trials that reached a verdict count: finished, stopped early, or refused for parameters
        # that do not go together (interrupted ones are run again instead).
        finished = sum(
            t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (t.state == TrialState.FAIL and t.user_attrs.get("interrupted") is False)
            for t in study.get_trials(deepcopy=False)
        )
        if finished < wanted:
            log.info(
                "tune: %d of %d trials finished; running %d more (study %s)", finished, wanted, wanted - finished, self.folder / STUDY_FILE
            )
            try:
                study.optimize(self.objective, n_trials=wanted - finished, catch=(ConfigError,))
            except TrainingInterrupted as stop:
                raise TrainingInterrupted(self.folder / STUDY_FILE, "run the same command again to continue the search") from stop
        return study

    def write_results(self, study: optuna.Study) -> dict[str, Path]:
        """summary.md, best.yaml and the plots."""
        from .atomic import atomic_path

        TrialState = self.optuna.trial.TrialState
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            raise StylecycleError(f"no trial of the search in {self.folder} finished (see {self.folder / 'summary.md'})")
        paths = {"summary": self.folder / "summary.md", "best": self.folder / "best.yaml"}
        with atomic_path(paths["summary"]) as tmp:
            tmp.write_text(summary_table(study, self.space, self.tune.objective, self.validation.baseline))
        best = study.best_trial
        write_config_file(
            with_params(self.given, best.params, run_dir=None, resume=None),
            paths["best"],
            header=(
                f"The best of {len(complete)} finished trials of `stylecycle tune` in {self.folder}: trial {best.number}, "
                f"{self.tune.objective} {best.value:.4g} on the validation split after {self.tune.trial_steps} steps.\n"
                f"Train with it: stylecycle train --config {paths['best']} --run-dir RUN_DIR"
            ),
        )
        paths.update(self.plots(study))
        return paths

    def plots(self, study: optuna.Study) -> dict[str, Path]:
        from optuna.visualization import matplotlib as optuna_plots

        paths = {}
        for name, draw in (("history", optuna_plots.plot_optimization_history), ("importances", optuna_plots.plot_param_importances)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Optuna calls its matplotlib plots experimental
                    axes = draw(study)
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:
                log.warning("tune: no %s plot: %s", name, exc)
                continue
            paths[name] = save_figure(axes.figure, self.folder / f"{name}.png")
        return paths


def summary_table(study: optuna.Study, space: list[Param], objective: str, baseline: float) -> str:
    """Markdown: the identity baseline, then one row per trial, the best marked."""
    best = study.best_trial.number if study.best_trials else None
    lines = [
        f"Validation {objective} of the untranslated inputs (identity baseline): {baseline:.4g}",
        "",
        f"| trial | state | {objective} | " + " | ".join(p.field for p in space) + " |",
        "|---:|---|---:|" + "---|" * len(space),
    ]
    for trial in study.trials:
        value = "" if trial.value is None else f"{trial.value:.4g}"
        if trial.number == best:
            value += " (best)"
        elif trial.state.name == "PRUNED" and trial.last_step is not None:
            value += f" (step {trial.last_step})"
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in (trial.params.get(p.name, "") for p in space)]
        lines.append(f"| {trial.number} | {trial.state.name.lower()} | {value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tune(given: dict[str, dict[str, Any]], tune_config: TuneConfig) -> tuple[optuna.Study, dict[str, Path]]:
    """Run (or continue) the search over the training options ``given`` and write its results."""
    search = Search(given, tune_config)
    study = search.run()
    return study, search.write_results(study)
