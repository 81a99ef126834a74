"""The training loop. Read :meth:`Trainer.train_step` for the order of the updates."""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..atomic import remove_stale_temporaries
from ..colour_transfer import start_from_transfer
from ..config import Config, config_from_dict, config_to_dict, smallest_training_side
from ..config.options import parse_duration
from ..data.datasets import MIN_TRAIN_SIDE, UnpairedImages, UnpairedSampler, scan_images
from ..data.io import read_image, save_image
from ..data.transforms import (
    augment_transform,
    decode_side,
    prepare_transform,
    preview_transform,
)
from ..device import memory_format, resolve_device
from ..distillation import Distillation
from ..errors import (
    CheckpointError,
    ConfigError,
    DataError,
    ImageReadError,
    StylecycleError,
    TrainingInterrupted,
)
from ..model import Losses, TranslationModel, build_model
from ..nn.norm import to_sync_batch_norm
from ..precision import resolve_precision
from .checkpoint import (
    CHECKPOINT_DIR,
    checkpoint_path,
    load_checkpoint,
    prune_checkpoints,
    resolve_checkpoint,
    run_folder,
    save_checkpoint,
)
from .diffaugment import DiffAugment, parse_policy
from .distributed import Distributed
from .ema import GeneratorAverage
from .halves import Halves
from .logging import log, log_to_file, sample_grid
from .monitor import RunMonitor
from .pool import ImagePool
from .schedulers import LrFactor, LrSchedule
from .signals import StopRequest
from .step import UPDATES, Update, side_by_side_blockers

PREVIEW_IMAGES = 4
UNPLANNED = 2**62  # the length of a time-budget run before its pace is known
PLAN_EVERY = 25  # steps between re-plans of a time-budget run's length (the first after 5)
STATS_EVERY = 10  # steps between progress-bar updates and logged statistics
COLOUR_TRANSFER_IMAGES = 256  # per domain, that --colour-init transfer reads the colours of


def compile_networks(model: TranslationModel, device: torch.device) -> None:
    """torch.compile each network in place (state-dict names unchanged, so checkpoints stay
    interchangeable with uncompiled runs), after checking that this platform can compile."""
    if device.type == "cpu" and not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise ConfigError("--compile on the CPU needs a C++ compiler (install g++ or clang), or train without --compile")
    if device.type == "mps":
        raise ConfigError("--compile is not supported on Apple's MPS; train without it")
    for name in model.network_names:
        getattr(model, name).compile()


def numpy_rng_state() -> dict[str, Any]:
    """NumPy's global RNG state as tensors and plain values (what ``weights_only`` loading accepts).
    Nothing in stylecycle draws from it, but user code (custom transforms) may."""
    kind, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)
    assert not isinstance(keys, str)  # the legacy form is a tuple
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": position, "has_gauss": has_gauss, "gauss": gauss}


def set_numpy_rng_state(state: dict[str, Any]) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state((state["kind"], keys, state["position"], state["has_gauss"], state["gauss"]))


def preview_images(files: list[Path], size: int) -> torch.Tensor:
    """The first few readable images of a domain, centre-cropped to ``size``, for sample grids."""
    transform, images = preview_transform(size=size), []
    for path in files:
        try:
            images.append(transform(read_image(path)))
        except ImageReadError:
            continue  # reported when the training loop meets it
        if len(images) == PREVIEW_IMAGES:
            break
    if not images:
        raise DataError(f"none of the {len(files)} images in {files[0].parent} can be decoded; run `stylecycle check-data`")
    return torch.stack(images)


def summarise(losses: Losses) -> dict[str, str]:
    """Losses grouped by kind for the progress bar: G_ab + G_ba → G, cycle_a + cycle_b → cycle, …"""
    groups: dict[str, float] = {}
    for name, value in losses.items():
        kind = name.split("_")[0]
        groups[kind] = groups.get(kind, 0.0) + value.item()
    return {kind: f"{value:.3f}" for kind, value in groups.items()}


def forget_moments_of_reshaped_parameters(optimiser: torch.optim.Optimizer) -> None:
    """Drop the stored Adam moments of any parameter whose shape has changed since the checkpoint
    (the abstraction stage's mixing weights gained the bilateral filter's): they start afresh. Left
    in place, the fused kernel would read a shorter moment as if it fitted, without an error."""
    for group in optimiser.param_groups:
        for parameter in group["params"]:
            moments = optimiser.state.get(parameter, {})
            if any(isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape != parameter.shape for v in moments.values()):
                log.info(
                    "a parameter of shape %s had moments of another shape in the checkpoint: they start afresh", tuple(parameter.shape)
                )
                del optimiser.state[parameter]


class Trainer:
    """Owns everything a run needs: data, the networks, optimisers, schedules and pools."""

    def __init__(self, config: Config) -> None:
        self.config = config.validate()
        data, train, optim = config.data, config.train, config.optim
        self.run_dir = Path(train.run_dir)  # type: ignore[arg-type]
        requested = resolve_device(train.device)
        self.dist = Distributed.from_env(requested)
        self.device = self.dist.device(requested)
        self.memory_format = memory_format(train.channels_last, self.device)
        if not self.dist.is_main:
            log.setLevel(logging.WARNING)  # rank 0 alone reports progress
        torch.manual_seed(train.seed)
        if train.threads:
            torch.set_num_threads(train.threads)
        if train.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what CUDA's cuBLAS needs for it
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        self.unreadable: set[str] = set()  # files that turned unreadable after the scan

        files_a, files_b = self.build_loader()
        self.steps_per_epoch = len(self.loader)
        epochs = train.epochs + train.decay_epochs
        # With a time budget the length is planned from the pace as the run goes (plan_to_budget);
        # until then the schedule holds its initial rate.
        self.budget_s = parse_duration(train.time_budget, "--time-budget") if train.time_budget else None
        self.total_steps = UNPLANNED if self.budget_s else train.max_steps or epochs * self.steps_per_epoch
        self.constant_fraction = train.epochs / epochs if epochs else 1.0
        constant_steps = round(self.total_steps * self.constant_fraction)
        self.elapsed_s = 0.0  # training time spent, over all sessions of the run
        self.clock = time.perf_counter

        build = Distillation if config.model.method == "distill" else build_model
        self.model = build(config.model, config.loss).to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]  # documented, missing from the stubs
        if config.model.colour_init == "transfer" and not train.resume:
            images = {domain: self.dataset.prepared_images(domain, COLOUR_TRANSFER_IMAGES) for domain in ("a", "b")}
            start_from_transfer(self.model.translators(), images, train.seed)
        if self.dist.active and config.model.norm == "batch":
            log.info("--norm batch across %d ranks: using synchronised batch statistics", self.dist.world_size)
            to_sync_batch_norm(self.model)
        self.dist.broadcast_weights(self.model)
        # Built before compiling, so that the average holds plain modules (its copies need no compiling).
        self.ema = GeneratorAverage(self.model, optim.ema) if optim.ema > 0 else None
        if train.compile:
            compile_networks(self.model, self.device)

        # The fused kernel updates every tensor in one pass instead of a dozen (the same Adam).
        # One parameter group, which may be empty (a distillation has no discriminators to train),
        # and a second for the colour stages where --colour-lr gives them their own rate.
        def adam(networks: torch.nn.Module, lr: float, own_rates: dict[torch.nn.Module, float]) -> torch.optim.Adam:
            apart = {id(p) for module in own_rates for p in module.parameters()}
            groups: list[dict[str, Any]] = [{"params": [p for p in networks.parameters() if id(p) not in apart]}]
            groups += [{"params": list(module.parameters()), "lr": rate} for module, rate in own_rates.items()]
            fused = self.device.type in ("cpu", "cuda")
            return torch.optim.Adam(groups, lr=lr, betas=(optim.beta1, optim.beta2), fused=fused)

        colour_stages = torch.nn.ModuleList(self.model.colour_stages())
        self.opt_g = adam(self.model.generators(), optim.lr, {} if optim.colour_lr is None else {colour_stages: optim.colour_lr})
        self.opt_g.register_step_post_hook(lambda *_: self.model.keep_within_bounds())
        self.opt_d = adam(self.model.discriminators(), optim.lr if optim.lr_d is None else optim.lr_d, {})
        factor = LrFactor(
            optim.lr_policy, constant_steps, self.total_steps, step_every=optim.lr_step_epochs * self.steps_per_epoch, gamma=optim.lr_gamma
        )
        self.sched_g = LrSchedule(self.opt_g, factor, patience=optim.lr_patience)
        self.sched_d = LrSchedule(self.opt_d, factor, patience=optim.lr_patience)
        self.precision = resolve_precision(train.precision, self.device)
        # Checkpoints record the arithmetic that ran, not "auto", which other hardware resolves otherwise.
        self.config = self.config.updated({"train": {"precision": self.precision}})
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.pool_a = ImagePool(optim.pool_size, seed=train.seed + 1)
        self.pool_b = ImagePool(optim.pool_size, seed=train.seed + 2)
        self.update = Update(
            self.model,
            self.opt_g,
            self.opt_d,
            {"a": self.pool_a, "b": self.pool_b},
            Halves(self.parallel_halves()),
            self.device,
            self.precision,
            self.scaler,
            self.dist,
            d_first=optim.d_first,
            diffaugment=DiffAugment(parse_policy(optim.diffaugment), seed=train.seed + 3) if optim.diffaugment else None,
            colour_content=optim.colour_content,
        )

        # A fixed set of images whose translations are drawn into every sample grid, so the
        # grids show the same pictures improving over time.
        preview_a, preview_b = (preview_images(files, data.size) for files in (files_a, files_b))
        count = min(len(preview_a), len(preview_b))
        self.preview_a, self.preview_b = preview_a[:count].to(self.device), preview_b[:count].to(self.device)
        self.step, self.epoch = 0, 0
        self.epoch_g_loss = torch.zeros((), device=self.device)  # summed over the epoch's steps, for the plateau policy
        self.bad_steps, self.bad_in_a_row = 0, 0  # steps skipped for non-finite losses
        self.update_skipped = False  # whether the last train_step skipped an update

    def build_loader(self) -> tuple[list[Path], list[Path]]:
        """Scan both folders (refusing a domain smaller than a batch), set up the dataset, the
        sampler and the loader; returns the files of each domain that training will use."""
        config, data = self.config, self.config.data
        min_side = max(MIN_TRAIN_SIDE, smallest_training_side(config.model))
        self.scans = [scan_images(folder, min_side=min_side) for folder in data.folders()]
        for scan in self.scans:
            if len(scan.files) < data.batch_size:
                skipped = f"; {scan.summary()}" if scan.skipped else ""
                raise DataError(f"{scan.folder} holds {len(scan.files)} usable images, fewer than --batch-size {data.batch_size}{skipped}")
        files_a, files_b = (scan.files[: data.max_dataset_size] for scan in self.scans)
        self.sampler = UnpairedSampler(
            len(files_a),
            len(files_b),
            seed=config.train.seed,
            serial=data.serial_batches,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.dataset = dataset = UnpairedImages(
            files_a, files_b, prepare=prepare_transform(data), augment=augment_transform(data), decode_side=decode_side(data)
        )
        if data.cache:
            log.info("caching %d decoded images in memory", len(set(files_a) | set(files_b)))
            self.note_unreadable(dataset.fill_cache())
        self.loader = DataLoader(
            dataset,
            batch_size=data.batch_size,
            sampler=self.sampler,
            num_workers=data.workers,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
            persistent_workers=data.workers > 0,
            # Each new iterator draws a seed for its workers: from a generator of its own, so that
            # starting an epoch (or a resumed run) takes nothing from the global one, whose draws
            # belong to the update (CUT's sampled patches, WGAN-GP's points) and resume with it.
            generator=torch.Generator().manual_seed(config.train.seed),
        )
        return files_a, files_b

    def parallel_halves(self) -> bool:
        """Whether the halves of each update run side by side (``--parallel-halves``; by default
        on CPUs, where the options allow it: :func:`~stylecycle.training.step.side_by_side_blockers`)."""
        requested = self.config.train.parallel_halves
        if requested is False or (requested is None and self.device.type != "cpu"):
            return False
        blockers = side_by_side_blockers(self.config.model, self.config.loss, self.config.optim, self.precision)
        if blockers and requested:
            log.warning("--parallel-halves is off: the halves cannot run side by side with %s", " and ".join(blockers))
        return not blockers

    def progress(self) -> float:
        """How much of the run is done: of its time budget, or of its steps."""
        return self.elapsed_s / self.budget_s if self.budget_s else self.step / self.total_steps

    def in_colour_phase(self) -> bool:
        return self.progress() < self.config.optim.colour_first

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> Losses:
        """One update (the ``--model``'s function in :data:`~stylecycle.training.step.UPDATES`), then the schedules."""
        self.model.enable_generator_networks(not self.in_colour_phase())
        outcome = UPDATES[self.config.model.method](self.update, real_a, real_b)
        if self.ema is not None and outcome.generators_stepped:
            self.ema.update(self.model)
        self.update_skipped = not (outcome.generators_stepped and outcome.discriminators_stepped)
        self.epoch_g_loss += torch.stack([loss.detach().float() for loss in outcome.generator_losses.values()]).sum()
        if outcome.generators_stepped or outcome.discriminators_stepped:
            # The fp16 loss scale moves on from the overflows the optimiser steps saw; a step
            # that took neither saw none (GradScaler refuses to update then).
            self.scaler.update()
        with warnings.catch_warnings():
            # A skipped update (non-finite loss, fp16 overflow) still spends its step of the
            # schedule, on purpose; PyTorch warns about that when it happens on the first step.
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
            self.sched_g.step()
            self.sched_d.step()
        return {name: loss.detach() for name, loss in {**outcome.generator_losses, **outcome.discriminator_losses}.items()}

    def run(self, after_step: Callable[[Trainer], None] | None = None) -> Path:
        """Train to the last step; returns the final checkpoint. ``after_step`` is called after
        each step (``stylecycle tune`` scores trials with it, and stops bad ones by raising)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handler = log_to_file(self.run_dir) if self.dist.is_main else logging.NullHandler()
        self.monitor = RunMonitor(self.run_dir) if self.dist.is_main else None
        self.loss_sums: Losses = {}
        self.steps_summed = 0
        if self.dist.is_main:
            stale = remove_stale_temporaries(self.run_dir / CHECKPOINT_DIR, "step_*.pt")
            if stale:
                log.info("removed %d unfinished checkpoint file(s) left by a run that was killed", stale)
        for scan in self.scans:
            if scan.skipped:
                log.warning("%s; `stylecycle check-data` lists them all", scan.summary())
        log.info(
            "training on %d A and %d B images from %s: %s (%d per epoch) on %s%s, %s",
            *(len(scan.files) for scan in self.scans),
            " and ".join(str(scan.folder) for scan in self.scans),
            f"{self.total_steps} steps"
            if self.budget_s is None
            else f"{self.budget_s - self.elapsed_s:.0f} s more of a {self.budget_s:.0f} s budget",
            self.steps_per_epoch,
            self.device,
            f" x {self.dist.world_size} ranks" if self.dist.active else "",
            self.precision,
        )
        try:
            planned = None if self.budget_s else self.total_steps
            bar = tqdm(total=planned, initial=self.step, unit="step", dynamic_ncols=True, disable=not self.dist.is_main)
            session_start, session_steps = self.clock(), 0
            mark = session_start  # all time in the loop counts against a budget: data, samples, checkpoints
            colour_phase = self.in_colour_phase()
            with bar, StopRequest() as stop:
                while not self.length_reached():
                    # Every finished epoch had steps_per_epoch steps: a resumed run skips what it did.
                    done_this_epoch = self.step - self.epoch * self.steps_per_epoch
                    self.sampler.set_epoch(self.epoch, start=done_this_epoch * self.config.data.batch_size)
                    for batch in self.loader:
                        real_a, real_b = (batch[d].to(self.device, memory_format=self.memory_format) for d in "ab")
                        if colour_phase and not self.in_colour_phase():
                            session_steps, colour_phase = 0, False  # the networks join in: measure the pace afresh
                        losses = self.train_step(real_a, real_b)
                        self.note_unreadable(batch["unreadable"])
                        self.step += 1
                        self.check_finite(losses)
                        self.report(bar, losses)
                        if after_step is not None:
                            after_step(self)
                        now = self.clock()
                        self.elapsed_s, mark = self.elapsed_s + now - mark, now
                        session_steps += 1
                        if session_steps == 1:  # the pace is measured from here: the first step warms up
                            session_start = now
                        elif self.budget_s and (session_steps % PLAN_EVERY == 5 or self.step >= self.total_steps):
                            self.plan_to_budget(session_steps - 1, now - session_start, bar)
                        if self.dist.any_rank(stop.requested, self.device):
                            raise TrainingInterrupted(self.save())
                        if self.length_reached():
                            break
                    else:
                        self.end_epoch()
            if not self.due(self.config.train.sample_every):
                self.write_samples()
            final = self.save()
            self.dist.check_identical(self.model, self.device)
            if self.dist.active:
                log.info("weights identical across %d ranks", self.dist.world_size)
            if self.unreadable:
                log.warning("%d files became unreadable during training and were skipped", len(self.unreadable))
            for name, generator in self.model.translators().items():
                if generator.abstraction is not None:
                    log.info("%s's abstraction stage: %s", name, generator.abstraction.describe())
            log.info("finished after %d steps; checkpoint %s", self.step, final)
            return final
        finally:
            if self.monitor is not None:
                self.monitor.close()
            log.removeHandler(handler)
            handler.close()

    def length_reached(self) -> bool:
        """Whether the run is over: its steps done, or its time budget spent (on any rank: all
        stop at the same step). A budget run that reaches its planned steps early plans again."""
        if self.budget_s is None:
            return self.step >= self.total_steps
        return self.dist.any_rank(self.elapsed_s >= self.budget_s, self.device)

    def plan_to_budget(self, steps: int, seconds: float, bar: tqdm) -> None:
        """Set the run's length to the steps done plus those the rest of the budget holds at this
        session's pace (``steps`` in ``seconds``, after its first, warm-up step), and stretch the
        lr schedule over it. Every rank plans the same length."""
        pace = steps / max(seconds, 1e-9)
        more = self.dist.mean(torch.tensor(max(0.0, self.budget_s - self.elapsed_s) * pace, device=self.device))  # type: ignore[operator]
        self.total_steps = self.step + max(1, round(more))
        for schedule in (self.sched_g, self.sched_d):
            schedule.span(round(self.total_steps * self.constant_fraction), self.total_steps)
        bar.total = self.total_steps
        bar.refresh()

    def end_epoch(self) -> None:
        """The plateau policy hears the epoch's mean generator loss (the same on every rank);
        then a checkpoint."""
        mean_loss = self.dist.mean(self.epoch_g_loss / self.steps_per_epoch)
        self.sched_g.epoch_end(mean_loss)
        self.sched_d.epoch_end(mean_loss)
        self.epoch += 1
        self.epoch_g_loss = torch.zeros((), device=self.device)
        self.save()

    def check_finite(self, losses: Losses) -> None:
        """Count steps whose updates :meth:`train_step` skipped for non-finite losses (a verdict
        all ranks share, so they stop together); too many in a row means training has diverged,
        and going on would only waste time."""
        if not self.update_skipped:
            self.bad_in_a_row = 0
            return
        self.bad_steps += 1
        self.bad_in_a_row += 1
        log.warning(
            "step %d: non-finite loss (%s), update skipped", self.step, ", ".join(k for k, v in losses.items() if not torch.isfinite(v))
        )
        if self.bad_in_a_row >= self.config.train.max_bad_steps:
            raise StylecycleError(
                f"{self.bad_in_a_row} steps in a row had NaN or infinite losses (up to step {self.step}); "
                f"the checkpoints in {self.run_dir / CHECKPOINT_DIR} are from before; try a lower --lr or --precision fp32"
            )

    def note_unreadable(self, messages: list[str]) -> None:
        """Count the files a batch had to skip; warn once for each."""
        for message in filter(None, "\n".join(messages).splitlines()):
            if message not in self.unreadable:
                self.unreadable.add(message)
                log.warning("skipped during training: %s", message)

    def due(self, every: int) -> bool:
        """Whether a periodic task of period ``every`` (0: never) falls on the current step."""
        return every > 0 and self.step % every == 0

    def report(self, bar: tqdm, losses: Losses) -> None:
        """After each step: the progress bar, and the periodic sample grid and checkpoint."""
        bar.update()
        # Losses are averaged over the steps between two reports; summed on the device, so that
        # reading them back (a synchronisation on a GPU) happens once per report.
        for name, value in losses.items():
            self.loss_sums[name] = self.loss_sums.get(name, 0.0) + value
        self.steps_summed += 1
        if self.due(STATS_EVERY) or self.step == self.total_steps:
            means = {name: total / self.steps_summed for name, total in self.loss_sums.items()}
            self.loss_sums, self.steps_summed = {}, 0
            images_per_s = (bar.format_dict["rate"] or 0.0) * self.config.data.batch_size
            bar.set_postfix({**summarise(means), "img/s": f"{images_per_s:.2f}"})
            if self.monitor is not None:
                self.monitor.scalars(
                    self.step,
                    {**{f"loss/{k}": v.item() for k, v in means.items()}, "lr": self.sched_g.last_lr(), "images_per_s": images_per_s},
                )
        if self.due(self.config.train.sample_every):
            self.write_samples()
        if self.due(self.config.train.save_every) and self.step < self.total_steps:
            self.save()

    def write_samples(self) -> Path:
        path = self.run_dir / "samples" / f"step_{self.step:08d}.png"
        if self.monitor is not None:  # rank 0 only
            shown = self.ema or self.model  # the generators translation will use
            grid = sample_grid(shown.translators(), self.preview_a, self.preview_b)
            save_image(grid, path)
            self.monitor.sample_grid(self.step, grid)
        return path

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to translate with this run or to continue it.

        Under DDP every rank must call it: each rank's image pools (which hold its own fakes)
        and epoch loss are gathered, so that each rank continues with its own.
        """
        per_rank = self.dist.gather(
            {
                "pools": {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()},
                "epoch_g_loss": self.epoch_g_loss.cpu(),
            }
        )
        return {
            "config": config_to_dict(self.config),
            "step": self.step,
            "epoch": self.epoch,
            "elapsed_s": self.elapsed_s,
            "per_rank": per_rank,
            "networks": {name: getattr(self.model, name).state_dict() for name in self.model.network_names},
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            "optimizers": {"G": self.opt_g.state_dict(), "D": self.opt_d.state_dict()},
            "schedulers": {"G": self.sched_g.state_dict(), "D": self.sched_d.state_dict()},
            "scaler": self.scaler.state_dict(),
            "rng": {  # the same on every rank: all seed alike and draw alike
                "python": random.getstate(),
                "numpy": numpy_rng_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                **({"diffaugment": self.update.diffaugment.state_dict()} if self.update.diffaugment is not None else {}),
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint of this run: the same steps in the same order follow."""
        if state["format_version"] < 2:
            raise CheckpointError("this checkpoint was written by an older stylecycle: it translates, but cannot be resumed")
        for name in self.model.network_names:
            getattr(self.model, name).load_state_dict(state["networks"][name])
        if self.ema is not None:
            if "ema" in state:
                self.ema.load_state_dict(state["ema"])
            else:  # --ema given on resuming a run that had none: the average starts from here
                log.info("--ema starts with the weights of step %d", int(state["step"]))
        for optimiser, name in ((self.opt_g, "G"), (self.opt_d, "D")):
            optimiser.load_state_dict(state["optimizers"][name])
            forget_moments_of_reshaped_parameters(optimiser)
        self.sched_g.load_state_dict(state["schedulers"]["G"])
        self.sched_d.load_state_dict(state["schedulers"]["D"])
        if state["scaler"] and self.scaler.is_enabled():  # a run that changes to or from fp16 starts a new loss scale
            self.scaler.load_state_dict(state["scaler"])
        per_rank = state["per_rank"]
        if len(per_rank) != self.dist.world_size:
            log.warning(
                "the checkpoint was written by %d ranks and this run has %d: each continues with the image "
                "pools of rank (its rank modulo %d), so the run goes on, but not exactly as it would have",
                len(per_rank),
                self.dist.world_size,
                len(per_rank),
            )
        own = per_rank[self.dist.rank % len(per_rank)]
        self.pool_a.load_state_dict(own["pools"]["a"], self.device)
        self.pool_b.load_state_dict(own["pools"]["b"], self.device)
        self.epoch_g_loss = own["epoch_g_loss"].to(self.device)
        random.setstate(state["rng"]["python"])
        set_numpy_rng_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        if self.update.diffaugment is not None and "diffaugment" in state["rng"]:  # else --diffaugment starts on resuming
            self.update.diffaugment.load_state_dict(state["rng"]["diffaugment"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.elapsed_s = float(state.get("elapsed_s", 0.0))  # absent from checkpoints written before time budgets

    def save(self) -> Path:
        """Rank 0 writes the checkpoint (the ranks' weights are identical); all return its path."""
        path = checkpoint_path(self.run_dir, self.step)
        state = self.state_dict()  # on every rank: it gathers what differs between them
        if self.dist.is_main:
            save_checkpoint(state, path)
            prune_checkpoints(self.run_dir, self.config.train.keep_last)
        return path


def resume_trainer(path: Path, overrides: dict[str, dict[str, Any]] | None = None) -> Trainer:
    """A trainer in the state of the newest checkpoint of run folder ``path`` (or of checkpoint
    file ``path``), with its stored config and any ``overrides`` ({section: {field: value}})."""
    path = resolve_checkpoint(path)
    state = load_checkpoint(path)
    run_dir = run_folder(path)
    overrides = {**(overrides or {})}
    given = overrides.get("train", {})
    # A length given again in steps or epochs replaces a stored --time-budget, which would override it.
    lengths = {} if "time_budget" in given or not {"max_steps", "epochs", "decay_epochs"} & given.keys() else {"time_budget": None}
    overrides["train"] = {"run_dir": run_dir, **lengths, **given, "resume": path}
    trainer = Trainer(config_from_dict(state["config"]).updated(overrides))
    trainer.load_state_dict(state)
    trained_in = state["config"]["train"]["precision"]
    if trained_in != trainer.precision:
        log.warning(
            "the run so far computed in %s and continues in %s: the steps from here differ from an uninterrupted run",
            "--precision auto (resolved on its machine, not recorded)" if trained_in == "auto" else trained_in,
            trainer.precision,
        )
    log.info("resuming %s at step %d (epoch %d)", path, trainer.step, trainer.epoch)
    return trainer
