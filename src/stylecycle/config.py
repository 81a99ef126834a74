"""Configuration as a tree of dataclasses: one field per CLI flag, validated in one place.

Each field carries its help text in ``metadata``; :mod:`stylecycle.cli` turns the fields into
flags mechanically, so a new option is added by adding a field here and nowhere else. The
whole tree is stored inside every checkpoint as plain data (``to_dict``), so translating or
resuming needs nothing but the checkpoint.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .atomic import atomic_path
from .errors import ConfigError, first_line

GanLoss = Literal["lsgan", "vanilla", "hinge", "wgangp"]
CycleLoss = Literal["l1", "mse"]
# The registered generators (nn.generators.list_generators(); a test keeps the two in step).
GeneratorName = Literal["resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256"]
DiscriminatorKind = Literal["patch", "pixel", "multiscale"]
Norm = Literal["instance", "batch", "sync_batch", "none"]
Init = Literal["normal", "xavier", "kaiming", "orthogonal"]
Upsample = Literal["transpose", "resize-conv"]
Vgg = Literal["vgg16", "vgg19"]
LrPolicy = Literal["linear", "step", "plateau", "cosine"]
Recipe = Literal["cyclegan", "seed", "preview", "standard"]
OutputFormat = Literal["auto", "png", "jpeg", "webp"]
Direction = Literal["a2b", "b2a"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Sampler = Literal["tpe", "random", "grid"]
Objective = Literal["psnr", "ssim", "fid", "kid"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
# Modes whose images keep their own shapes, which cannot be stacked into batches of several.
UNCROPPED = ("scale_width", "none")


def option(default: Any, help: str, *, flag: str | None = None) -> Any:
    """A dataclass field that is also a CLI option; ``flag`` overrides the derived name."""
    return field(default=default, metadata={"help": help, "flag": flag})


def flag_name(f: dataclasses.Field) -> str:
    """The CLI flag of a config field: ``load_size`` → ``--load-size`` unless overridden."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


@dataclass
class DataConfig:
    root: Path | None = option(
        None, "dataset folder holding trainA/ and trainB/ (the public CycleGAN layout)", flag="--data"
    )
    data_a: Path | None = option(None, "folder of domain-A training images (instead of --data)")
    data_b: Path | None = option(None, "folder of domain-B training images (instead of --data)")
    preprocess: Preprocess = option(
        "resize_and_crop",
        "resize_and_crop: resize to --load-size square, random --size crop; crop: random crop at full "
        "resolution; scale_width[_and_crop]: width to --load-size keeping the aspect ratio [then crop]; "
        "none: keep the size, rounded to a multiple of 4",
    )
    size: int = option(256, "side of the square crops the networks train on, in pixels")
    load_size: int = option(286, "images are resized to this side before random cropping")
    flip: bool = option(True, "random horizontal flips")
    vflip: bool = option(False, "random vertical flips (for textures and aerial images, not for scenes)")
    rotate: float = option(0.0, "random rotation up to this many degrees either way, borders filled by reflection")
    color_jitter: float = option(0.0, "random brightness, contrast and saturation change of up to this fraction (hue a quarter of it)")
    crop_scale: float = option(1.0, "below 1: random resized crops covering this fraction of the image or more")
    max_dataset_size: int | None = option(None, "use at most this many images of each domain (the first ones, sorted by path)")
    serial_batches: bool = option(False, "pair A and B images in order instead of at random")
    batch_size: int = option(1, "images per domain in each optimisation step")
    workers: int = option(2, "data-loading worker processes (0 loads in the main process)")
    cache: bool = option(False, "keep the decoded, resized images in memory, so epochs after the first decode nothing")

    def folders(self) -> tuple[Path, Path]:
        """The two training folders, from ``--data`` or from ``--data-a``/``--data-b``."""
        if self.data_a is not None or self.data_b is not None:
            if self.data_a is None or self.data_b is None:
                raise ConfigError("--data-a and --data-b must be given together")
            return Path(self.data_a), Path(self.data_b)
        if self.root is None:
            raise ConfigError("no training data: pass --data DIR (with trainA/ and trainB/) or --data-a and --data-b")
        return Path(self.root) / "trainA", Path(self.root) / "trainB"

    def validate(self) -> None:
        _positive(self, "size", "load_size", "batch_size")
        _non_negative(self, "workers", "rotate", "color_jitter")
        if self.max_dataset_size is not None:
            _positive(self, "max_dataset_size")
        if self.load_size < self.size and self.preprocess in ("resize_and_crop", "scale_width_and_crop"):
            raise ConfigError(f"--load-size ({self.load_size}) must be at least --size ({self.size}): images are cropped after resizing")
        if not 0.0 < self.crop_scale <= 1.0:
            raise ConfigError(f"--crop-scale must be in (0, 1], got {self.crop_scale}")
        if self.preprocess in UNCROPPED and self.batch_size > 1:
            raise ConfigError(f"--preprocess {self.preprocess} keeps each image's own shape, so it needs --batch-size 1")


@dataclass
class ModelConfig:
    generator: GeneratorName = option(
        "resnet_9blocks", "generator: ResNet with 9 or 6 residual blocks, or U-Net for 128 or 256 pixel training crops"
    )
    n_blocks: int | None = option(None, "residual blocks of a resnet generator, overriding the number in its name")
    ngf: int = option(64, "width (channels of the first layer) of the generators")
    attention: bool = option(False, "a self-attention block (SAGAN, gated, starting closed) in the middle of the resnet bottleneck")
    upsample: Upsample = option(
        "transpose", "generator upsampling: transposed convolution (the reference), or resize-conv (no checkerboard artefacts)"
    )
    dropout: float = option(0.0, "dropout probability in the generators' residual blocks (resnet) or deep levels (unet)")
    discriminator: DiscriminatorKind = option(
        "patch", "discriminator: PatchGAN (patch), per-pixel 1x1 GAN (pixel), or PatchGANs at several scales (multiscale)"
    )
    ndf: int = option(64, "width (channels of the first layer) of the discriminators")
    n_layers_d: int = option(3, "stride-2 layers of the PatchGAN discriminators (3 gives 70x70 patches)")
    d_scales: int = option(2, "image scales (full, half, ...) judged by the multiscale discriminator")
    spectral_norm: bool = option(False, "spectral normalisation of every discriminator convolution")
    norm: Norm = option(
        "instance", "normalisation in all networks: instance, batch, sync_batch (statistics over all DDP ranks) or none"
    )
    norm_affine: bool = option(False, "learnable gamma and beta for InstanceNorm")
    init: Init = option("normal", "weight initialisation of all networks")
    init_gain: float = option(0.02, "standard deviation (normal) or gain (xavier, orthogonal) of the initialisation")
    global_skip: bool = option(
        False,
        "add each generator's input to its output (before tanh): it starts as the identity and learns "
        "only the change of style, converging much faster on small budgets; off is the paper's network",
    )

    def validate(self) -> None:
        _positive(self, "ngf", "ndf", "n_layers_d", "d_scales", "init_gain")
        if not self.generator.startswith("resnet"):
            for name in ("n_blocks", "attention"):
                if getattr(self, name):
                    raise ConfigError(f"{_flag(self, name)} applies to resnet generators only, not --generator {self.generator}")
        if self.n_blocks is not None:
            _non_negative(self, "n_blocks")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--dropout must be in [0, 1), got {self.dropout}")


@dataclass
class LossConfig:
    gan_loss: GanLoss = option(
        "lsgan", "adversarial loss: least squares (lsgan), cross-entropy (vanilla), hinge, or Wasserstein with gradient penalty (wgangp)"
    )
    lambda_gp: float = option(10.0, "weight of the gradient penalty (wgangp)")
    cycle_loss: CycleLoss = option("l1", "distance of the cycle-consistency and identity terms")
    lambda_cycle: float = option(10.0, "weight of the cycle-consistency loss (both directions)")
    lambda_a: float | None = option(None, "weight of the A -> B -> A cycle, overriding --lambda-cycle")
    lambda_b: float | None = option(None, "weight of the B -> A -> B cycle, overriding --lambda-cycle")
    lambda_identity: float = option(0.5, "weight of the identity loss, as a fraction of the cycle weight")
    lambda_perceptual: float = option(0.0, "weight of the perceptual loss: VGG features of each translation against its input")
    lambda_style: float = option(0.0, "weight of the style loss: Gram matrices of VGG features of each translation against the target domain's images")
    vgg: Vgg = option("vgg16", "the VGG network of the perceptual and style losses")
    perceptual_layers: str = option("relu2_2", "comma-separated VGG layers of the perceptual loss")
    style_layers: str = option("relu1_2,relu2_2,relu3_3,relu4_3", "comma-separated VGG layers of the style loss")
    vgg_weights: Path | None = option(
        None, "ImageNet weights of the VGG (a torchvision .pth file); default: torchvision's file in the torch hub cache. Never downloaded"
    )

    def validate(self) -> None:
        _non_negative(self, "lambda_gp", "lambda_cycle", "lambda_identity", "lambda_perceptual", "lambda_style")
        for name in ("lambda_a", "lambda_b"):
            if getattr(self, name) is not None:
                _non_negative(self, name)

    def cycle_weight(self, source: str) -> float:
        """Weight of the cycle that starts in domain ``source`` ("a" or "b")."""
        specific = self.lambda_a if source == "a" else self.lambda_b
        return self.lambda_cycle if specific is None else specific

    def uses_vgg(self) -> bool:
        return self.lambda_perceptual > 0 or self.lambda_style > 0


@dataclass
class OptimConfig:
    lr: float = option(2e-4, "Adam learning rate of all four networks")
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    pool_size: int = option(50, "past fakes kept to train the discriminators on (0 disables the pool)")
    d_first: bool = option(False, "update the discriminators before the generators in each step (the seed recipe's order)")
    lr_policy: LrPolicy = option(
        "linear",
        "after --epochs at the full rate: linear or cosine decay to 0 over --decay-epochs; step: times --lr-gamma "
        "every --lr-step-epochs; plateau: times --lr-gamma when the epoch's generator loss stalls for --lr-patience epochs",
    )
    lr_step_epochs: int = option(50, "epochs between learning-rate drops of the step policy")
    lr_gamma: float = option(0.1, "factor of each learning-rate drop (step and plateau policies)")
    lr_patience: int = option(5, "epochs without improvement before the plateau policy drops the learning rate")

    def validate(self) -> None:
        _positive(self, "lr", "lr_step_epochs", "lr_gamma")
        _non_negative(self, "pool_size", "lr_patience")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"--{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass
class TrainConfig:
    run_dir: Path | None = option(None, "folder for checkpoints, sample grids and logs (created if missing)")
    recipe: Recipe = option(
        "cyclegan",
        "defaults for the options not given: cyclegan (the paper's); seed (discriminators first, MSE cycle loss x1, "
        "no identity loss, no image pool, Adam betas (0.9, 0.999)); preview (the demo's: 96-pixel crops, half-width "
        "6-block generators starting as the identity, 1500 steps, minutes on a CPU); standard (128-pixel crops, "
        "generators starting as the identity, 20000 steps)",
    )
    resume: Path | None = option(
        None, "continue the run in this folder (or from this checkpoint) exactly; its stored options apply unless given again"
    )
    epochs: int = option(100, "epochs at the initial learning rate")
    decay_epochs: int = option(100, "epochs over which the learning rate then decays linearly to zero")
    max_steps: int | None = option(None, "stop after this many steps; the lr schedule then spans them")
    seed: int = option(0, "random seed for weights, pairing and augmentation")
    deterministic: bool = option(False, "use only deterministic kernels (bit-reproducible runs; slower on GPUs)")
    threads: int = option(0, "CPU threads for the arithmetic (0: PyTorch's default, one per core)")
    device: str = option("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    precision: Precision = option(
        "auto", "arithmetic: bf16 autocast where the hardware has bf16, else fp32 (auto); fp32; bf16; fp16 (with loss scaling)"
    )
    channels_last: bool | None = option(None, "channels-last memory layout; default: on for CPUs (measured faster there, benchmarks/speed.py), off elsewhere")
    compile: bool = option(False, "torch.compile the four networks (slow first steps, then faster ones)")
    parallel_halves: bool | None = option(
        None,
        "run the two halves of each update (the round trips from A and from B; the two discriminators) side by side, "
        "each on half of the CPU threads; default: on for CPUs with 2 or more threads where the networks allow it "
        "(measured faster, benchmarks/speed.py), off elsewhere; holds both halves' activations at once",
    )
    sample_every: int = option(200, "write a PNG sample grid every this many steps (0: only at the end)")
    save_every: int = option(0, "write a checkpoint every this many steps (0: at epoch ends and the end only)")
    keep_last: int = option(3, "keep only the newest this many checkpoints (0 keeps all)")
    max_bad_steps: int = option(10, "stop after this many steps in a row with a NaN or infinite loss (each is skipped)")

    def validate(self) -> None:
        if self.run_dir is None:
            raise ConfigError("--run-dir is required: the folder where checkpoints and samples go")
        _non_negative(self, "epochs", "decay_epochs", "sample_every", "save_every", "keep_last", "threads")
        _positive(self, "max_bad_steps")
        if self.max_steps is None and self.epochs + self.decay_epochs == 0:
            raise ConfigError("--epochs and --decay-epochs are both 0: nothing to train (or set --max-steps)")
        if self.max_steps is not None:
            _positive(self, "max_steps")


@dataclass
class Config:
    """Everything a training run needs; stored whole inside each checkpoint."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> "Config":
        for section in sections(self):
            section.validate()
        smallest = self.smallest_training_side()
        if self.data.size < smallest:
            raise ConfigError(
                f"--size {self.data.size} is too small for a discriminator with --n-layers-d "
                f"{self.model.n_layers_d}: use --size {smallest} or more, or fewer layers"
            )
        return self

    def smallest_training_side(self) -> int:
        """Below this the discriminator's last feature map is 1x1 and InstanceNorm has nothing
        to normalise: each of its stride-2 layers halves the side, its stride-1 layer takes 1,
        and each further scale of a multiscale discriminator halves the image first."""
        if self.model.discriminator == "pixel":
            return 2
        scales = self.model.d_scales if self.model.discriminator == "multiscale" else 1
        return 3 * 2**self.model.n_layers_d * 2 ** (scales - 1)

    @classmethod
    def from_recipe(cls, given: dict[str, dict[str, Any]]) -> "Config":
        """The config of ``given`` ({section: {field: value}}, the options typed), on top of the
        defaults of the recipe it names: a recipe only sets defaults, any given option wins."""
        recipe = given.get("train", {}).get("recipe", "cyclegan")
        if recipe not in RECIPES:
            raise ConfigError(f"unknown --recipe {recipe!r}; known: {', '.join(RECIPES)}")
        merged = {name: {**RECIPES[recipe].get(name, {}), **given.get(name, {})} for name in {*RECIPES[recipe], *given}}
        return cls().updated(merged)

    def updated(self, overrides: dict[str, dict[str, Any]]) -> "Config":
        """A copy with some fields replaced, given as ``{section: {field: value}}``."""
        return Config(**{
            f.name: dataclasses.replace(section, **overrides.get(f.name, {}))
            for f, section in zip(dataclasses.fields(self), sections(self))
        })

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data (str, int, float, bool, None) that ``torch.load(weights_only=True)`` accepts."""
        return {
            f.name: {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(section).items()}
            for f, section in zip(dataclasses.fields(self), sections(self))
        }

    @classmethod
    def from_dict(cls, raw: dict[str, dict[str, Any]]) -> "Config":
        """Rebuild a config, refusing keys this version does not know (a newer checkpoint)."""
        return cls().updated(typed_sections(raw, "the stored config"))

    def to_yaml(self, path: Path, *, header: str = "") -> Path:
        """Write the config as a YAML file that ``stylecycle train --config`` reads back."""
        import yaml

        comment = "".join(f"# {line}\n" for line in header.splitlines())
        with atomic_path(Path(path)) as tmp:
            tmp.write_text(comment + yaml.safe_dump(self.to_dict(), sort_keys=False))
        return Path(path)


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """The options a YAML config file sets, as ``{section: {field: value}}`` with typed values.

    A file may set any subset of the fields (``stylecycle tune`` writes all of them); the flags
    typed on the command line override it."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {first_line(exc)}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError(f"config file {path} must map sections ({', '.join(SECTION_NAMES)}) to options")
    return typed_sections(raw, f"config file {path}")


def typed_sections(raw: dict[str, dict[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    """``raw`` ({section: {field: plain value}}) with each value converted to its field's type;
    unknown sections, unknown fields and values of the wrong kind are refused, naming ``source``."""
    unknown_sections = set(raw) - set(SECTION_NAMES)
    if unknown_sections:
        raise ConfigError(f"unknown sections in {source}: {', '.join(sorted(unknown_sections))} (known: {', '.join(SECTION_NAMES)})")
    typed: dict[str, dict[str, Any]] = {}
    for f in dataclasses.fields(Config):
        section_cls = f.default_factory  # type: ignore[misc]
        values = dict(raw.get(f.name) or {})
        unknown = set(values) - {sf.name for sf in dataclasses.fields(section_cls)}
        if unknown:
            raise ConfigError(f"unknown config keys in section '{f.name}' of {source}: {', '.join(sorted(unknown))}")
        try:
            typed[f.name] = {k: coerce(field_type(section_cls, k), v) for k, v in values.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}, section '{f.name}': {first_line(exc)}") from exc
    return typed


# Each recipe's defaults, over the fields' own (which are the cyclegan recipe's).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "cyclegan": {},
    # The formulation of the founding design document: discriminators trained first, then the
    # generators; MSE cycle loss with weight 1; no identity loss and no image pool; Adam at
    # lr 2e-4 with PyTorch's default betas. Its "one Adam optimiser for D_X and one for D_Y" is
    # what our single discriminator optimiser computes: Adam's update is per parameter, and the
    # two discriminators share no parameters and no hyper-parameters.
    "seed": {
        "loss": {"cycle_loss": "mse", "lambda_cycle": 1.0, "lambda_identity": 0.0},
        "optim": {"lr": 2e-4, "beta1": 0.9, "beta2": 0.999, "pool_size": 0, "d_first": True},
    },
    # Small budgets: `make demo` and the web page's "fast preview" (about 5 minutes on 2 CPU
    # cores). Generators that start as the identity carry the style after few steps; 34x34
    # discriminator patches suit the small crops.
    "preview": {
        "data": {"size": 96, "load_size": 112, "workers": 0},
        "model": {"generator": "resnet_6blocks", "ngf": 32, "ndf": 32, "n_layers_d": 2, "global_skip": True},
        "loss": {"lambda_identity": 0.0},
        "train": {"max_steps": 1500},
    },
    "standard": {
        "data": {"size": 128, "load_size": 143},
        "model": {"global_skip": True},
        "train": {"max_steps": 20000},
    },
}


SECTION_NAMES = tuple(f.name for f in dataclasses.fields(Config))


def sections(config: Config) -> list[Any]:
    return [getattr(config, f.name) for f in dataclasses.fields(config)]


def field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def optional_inner(tp: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def coerce(tp: Any, value: Any) -> Any:
    """Convert a plain value (stored, or read from YAML) into the field's declared type."""
    inner, nullable = optional_inner(tp)
    if value is None:
        if nullable:
            return None
        raise ValueError(f"a value is required, got null (expected {getattr(inner, '__name__', inner)})")
    if inner is Path:
        return Path(value)
    if typing.get_origin(inner) is Literal:
        if value not in typing.get_args(inner):
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, typing.get_args(inner)))}")
        return value
    if inner is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return value
    if inner is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return inner(value)


def _positive(section: Any, *names: str) -> None:
    for name in names:
        if getattr(section, name) <= 0:
            raise ConfigError(f"{_flag(section, name)} must be positive, got {getattr(section, name)}")


def _non_negative(section: Any, *names: str) -> None:
    for name in names:
        if getattr(section, name) < 0:
            raise ConfigError(f"{_flag(section, name)} must not be negative, got {getattr(section, name)}")


def _flag(section: Any, name: str) -> str:
    return flag_name(next(f for f in dataclasses.fields(section) if f.name == name))


@dataclass
class TranslateConfig:
    checkpoint: Path | None = option(
        None, "a checkpoint file, a run folder (its newest checkpoint), an exported .safetensors file, or an original CycleGAN generator file"
    )
    input: Path | None = option(None, "an image or video file, a folder (searched recursively, mirrored) or a quoted glob such as 'photos/**/*.jpg'")
    output: Path | None = option(None, "folder for the translations (same names, sub-folders mirrored)")
    direction: Direction = option("a2b", "a2b translates domain A images into B; b2a the other way")
    device: str = option("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    precision: Precision = option("auto", "arithmetic: bf16 where the hardware has bf16, else fp32 (auto); fp32; bf16; fp16")
    channels_last: bool | None = option(None, "channels-last memory layout; default: on for CPUs (measured faster there, benchmarks/speed.py), off elsewhere")
    generator: GeneratorName | None = option(
        None, "architecture of a bare generator file of the original CycleGAN code (latest_net_G_A.pth); stylecycle checkpoints know their own"
    )
    format: OutputFormat = option("auto", "output format; auto keeps JPEG, PNG and WebP as they came and writes PNG for the rest")
    quality: int = option(95, "JPEG and WebP quality, 1-100")
    batch_size: int = option(1, "images of the same size translated together")
    skip_existing: bool = option(False, "leave inputs whose output already exists (to continue an interrupted run)")
    side_by_side: bool = option(False, "write the input and its translation side by side, for comparison")
    max_pixels: int = option(1024 * 1024, "larger images are translated in overlapping tiles with shared statistics (bounded memory, no seams)")
    tile: int = option(512, "tile side in pixels, for images above --max-pixels")
    temporal_smoothing: float = option(
        0.0, "videos: blend each translated frame with this fraction of the previous output, which reduces flicker (0 to 0.9)"
    )

    def validate(self) -> "TranslateConfig":
        for name in ("checkpoint", "input", "output"):
            if getattr(self, name) is None:
                raise ConfigError(f"{_flag(self, name)} is required")
        _positive(self, "batch_size", "max_pixels")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"--quality must be between 1 and 100, got {self.quality}")
        if self.tile < 128:
            raise ConfigError(f"--tile must be at least 128 pixels, got {self.tile}")
        if not 0.0 <= self.temporal_smoothing <= 0.9:
            raise ConfigError(f"--temporal-smoothing must be between 0 and 0.9, got {self.temporal_smoothing}")
        return self


@dataclass
class EvaluateConfig:
    outputs: Path | None = option(None, "folder of translated images to score (or use --checkpoint to translate --inputs first)")
    references: Path | None = option(
        None, "folder of the images the translations should have become, with the same file names: PSNR and SSIM"
    )
    target: Path | None = option(None, "folder of real target-domain images, any names: FID and KID")
    inputs: Path | None = option(
        None, "folder of the untranslated inputs (same names): the comparison sheet's first column and the identity baseline"
    )
    checkpoint: Path | None = option(None, "a checkpoint or run folder: translate --inputs with it, then score the result")
    all_checkpoints: bool = option(False, "with a run folder as --checkpoint: score every checkpoint it kept, to see the metrics over training")
    report: Path | None = option(
        None, "folder for metrics.json, metrics.md, comparison.png (and the translations); default: RUN/evaluation or OUTPUTS_evaluation"
    )
    direction: Direction = option("a2b", "with --checkpoint: a2b translates domain A images into B; b2a the other way")
    device: str = option("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    precision: Precision = option("auto", "arithmetic of the translation: bf16 where the hardware has bf16, else fp32 (auto); fp32; bf16; fp16")
    inception_weights: Path | None = option(
        None, "torch-fidelity's Inception weights file for FID and KID; default: its file in the torch hub cache. Never downloaded"
    )
    sheet_images: int = option(8, "images (rows) on the comparison sheet")

    def validate(self) -> "EvaluateConfig":
        if (self.outputs is None) == (self.checkpoint is None):
            raise ConfigError("give either --outputs (translated images) or --checkpoint with --inputs (to translate them first)")
        if self.checkpoint is not None and self.inputs is None:
            raise ConfigError("--checkpoint needs --inputs: the images to translate and score")
        if self.all_checkpoints and self.checkpoint is None:
            raise ConfigError("--all-checkpoints needs --checkpoint RUN_DIR")
        if self.references is None and self.target is None:
            raise ConfigError("nothing to compare with: give --references (PSNR, SSIM) and/or --target (FID, KID)")
        _non_negative(self, "sheet_images")
        return self

    def report_folder(self) -> Path:
        if self.report is not None:
            return Path(self.report)
        if self.checkpoint is not None:
            from .training.checkpoint import run_folder

            run = Path(self.checkpoint)
            return (run if run.is_dir() else run_folder(run)) / "evaluation"
        return Path(f"{self.outputs}_evaluation")


@dataclass
class TuneConfig:
    param: tuple[str, ...] = option(
        (), "a parameter to search, repeatable: NAME=V1,V2,... (choices), NAME=LOW:HIGH (a range; whole numbers make it "
        "an integer range) or NAME=LOW:HIGH:log; NAME is any training option, e.g. lr, lambda_cycle, generator, rotate"
    )
    space: Path | None = option(None, "a YAML file of parameters to search: NAME: [V1, V2] or NAME: {low: X, high: Y, log: true}")
    sampler: Sampler = option("tpe", "how trials pick parameters: tpe (Bayesian), random, or grid (every combination of the choices)")
    trials: int | None = option(None, "finished trials wanted, counting those of an earlier, interrupted run (default: the grid's size, or 20)")
    trial_steps: int = option(500, "training steps of each trial")
    objective: Objective = option(
        "psnr", "what a trial is scored by on the validation split: psnr or ssim against valB/ (paired by name), fid or kid against valB/"
    )
    eval_every: int = option(100, "steps between a trial's validation scores; trials scoring below the median of earlier ones at the same step are stopped")
    prune: bool = option(True, "stop unpromising trials early (median pruning)")
    val_a: Path | None = option(None, "validation images to translate (default: valA/ beside --data's trainA/)")
    val_b: Path | None = option(None, "their true translations for psnr/ssim, or target-domain images for fid/kid (default: valB/)")
    inception_weights: Path | None = option(None, "Inception weights for --objective fid or kid (see stylecycle evaluate)")

    def validate(self) -> "TuneConfig":
        _positive(self, "trial_steps", "eval_every")
        if self.trials is not None:
            _positive(self, "trials")
        return self


@dataclass
class ServeConfig:
    checkpoints: Path = option(Path("runs"), "folder of runs and exported models to offer, where runs started from the page are saved too")
    data_root: Path = option(Path("."), "training folders typed on the page must lie inside this folder")
    host: str = option("127.0.0.1", "address to listen on; the default lets only this machine in (the page has no login)")
    port: int = option(7860, "port to listen on")
    device: str = option("auto", "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps, for translating")
    max_upload_mb: float = option(50.0, "largest file a browser may upload, in megabytes")
    max_pixels: int = option(40_000_000, "largest image a browser may upload, in pixels (decoded only below it)")
    max_files: int = option(50, "most files translated in one request")

    def validate(self) -> "ServeConfig":
        _positive(self, "port", "max_upload_mb", "max_pixels", "max_files")
        if not Path(self.data_root).is_dir():
            raise ConfigError(f"--data-root {self.data_root} is not a folder")
        return self
