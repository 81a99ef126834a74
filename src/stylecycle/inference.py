"""Translating images with a trained generator, at the images' own resolution."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .config import Config, Direction, GeneratorName, Precision
from .data.datasets import list_images
from .data.io import IMAGE_EXTENSIONS, read_image, save_image
from .device import resolve_device
from .errors import CheckpointError, ConfigError, DataError, ImageReadError, StylecycleError, first_line
from .model import build_generator
from .precision import autocast, resolve_precision
from .nn import list_generators
from .nn.compat import from_reference_state_dict, is_reference_state_dict, reference_model_config
from .training.checkpoint import check_format, read_weights_file, resolve_checkpoint

log = logging.getLogger("stylecycle")

GENERATOR_OF = {"a2b": "G_ab", "b2a": "G_ba"}


class Translator:
    """One direction of a trained CycleGAN, ready to translate images of any size."""

    def __init__(self, generator: nn.Module, device: torch.device | str = "cpu", precision: Precision = "fp32") -> None:
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.generator = generator.to(self.device).eval()

    @classmethod
    def from_checkpoint(
        cls,
        path: Path,
        direction: Direction = "a2b",
        device: str = "auto",
        precision: Precision = "auto",
        generator: GeneratorName | None = None,
    ) -> "Translator":
        """Build the generator the checkpoint's own config describes and load its weights.

        ``path`` may also be a bare generator file of the original CycleGAN code
        (``latest_net_G_A.pth``), whose architecture ``generator`` names; its direction is
        whichever it was trained for.
        """
        if direction not in GENERATOR_OF:
            raise ConfigError(f"--direction {direction!r} is not one of {', '.join(GENERATOR_OF)}")
        path = resolve_checkpoint(path)
        state = read_weights_file(path)
        reference = is_reference_state_dict(state)
        if reference and generator is None:
            raise ConfigError(
                f"{path} is a generator of the original CycleGAN code; name its architecture with --generator ({', '.join(list_generators())})"
            )
        try:
            if reference:
                model = reference_model_config(state, generator)  # type: ignore[arg-type]
                weights = from_reference_state_dict(state, model.norm)
            else:
                state = check_format(state, path)
                model = Config.from_dict(state["config"]).model
                weights = state["networks"][GENERATOR_OF[direction]]
            network = build_generator(model)
            network.load_state_dict(weights)
        except (KeyError, RuntimeError, ConfigError) as exc:
            raise CheckpointError(f"checkpoint {path} does not hold a usable generator: {first_line(exc)}") from exc
        return cls(network, resolve_device(device), precision)

    @torch.no_grad()
    def translate(self, image: torch.Tensor) -> torch.Tensor:
        """3xHxW (or Nx3xHxW) in [-1, 1] → the same shape, translated, on the input's device."""
        batch = image.unsqueeze(0) if image.dim() == 3 else image
        with autocast(self.device, self.precision):
            out = self.generator(batch.to(self.device, torch.float32)).float().to(image.device)
        return out[0] if image.dim() == 3 else out

    def translate_file(self, source: Path, target: Path) -> None:
        save_image(self.translate(read_image(source)), target)

    def translate_tree(self, source: Path, output: Path) -> tuple[int, list[str]]:
        """Translate a file or every image under a folder into ``output`` as PNG files named after
        the inputs' stems; a file that cannot be read is reported and skipped.

        Returns the number translated and the messages of the skipped files.
        """
        jobs = list(plan_outputs(Path(source), Path(output)))
        done, skipped = 0, []
        for src, dst in tqdm(jobs, unit="img", desc="translating", dynamic_ncols=True):
            try:
                self.translate_file(src, dst)
                done += 1
            except ImageReadError as exc:
                log.warning("skipped: %s", exc)
                skipped.append(str(exc))
        return done, skipped


def plan_outputs(source: Path, output: Path) -> Iterator[tuple[Path, Path]]:
    """(input, output) pairs: a folder's sub-folders are mirrored, stems are kept, PNG is written."""
    if source.is_dir():
        for path in list_images(source):
            yield path, output / path.relative_to(source).with_suffix(".png")
    elif source.is_file():
        if source.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DataError(f"--input {source} is not an image file (expected one of {', '.join(sorted(IMAGE_EXTENSIONS))})")
        yield source, output / f"{source.stem}.png"
    else:
        raise DataError(f"--input {source} does not exist")
