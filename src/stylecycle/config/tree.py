"""The option tree: one dataclass per section of a training run, and one per command.

Each field carries its help text in ``metadata``; :mod:`stylecycle.cli` turns the fields into
flags mechanically, so a new option is added by adding a field here and nowhere else. Where a
field's values are the library's (a loss, a norm, a generator of the registry), its type or its
choices come from the module that implements them, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..losses import CycleLoss, GanLoss
from ..nn.discriminators import DiscriminatorKind, smallest_input_side
from ..nn.generators import ConvPadding, Upsample, is_resnet, list_generators
from ..nn.init import Init
from ..nn.norm import Norm
from ..nn.vgg import Vgg
from ..precision import Precision
from ..training.diffaugment import parse_policy
from ..training.schedulers import LrPolicy
from .options import (
    channels_last_option,
    check_choices,
    device_option,
    direction_option,
    flag_of,
    inception_weights_option,
    non_negative,
    option,
    parse_duration,
    positive,
    precision_option,
)
from .recipes import METHOD_DEFAULTS, RECIPES

OutputFormat = Literal["auto", "png", "jpeg", "webp"]
Sampler = Literal["tpe", "random", "grid"]
Objective = Literal["psnr", "ssim", "fid", "kid"]
Direction = Literal["a2b", "b2a"]
Method = Literal["cyclegan", "cut", "fastcut", "distill"]
DistillDirection = Literal["a2b", "b2a", "both"]
ColourInit = Literal["identity", "transfer"]
DISTILLED: dict[str, tuple[Direction, ...]] = {"a2b": ("a2b",), "b2a": ("b2a",), "both": ("a2b", "b2a")}  # what each distills
ONE_SIDED: tuple[Method, ...] = ("cut", "fastcut")  # methods with one generator, A -> B, and no cycle
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
DEFAULT_TRIALS = 20  # trials of a search that is not a grid, unless --trials says otherwise
# Modes whose images keep their own shapes, which cannot be stacked into batches of several.
UNCROPPED = ("scale_width", "none")


@dataclass
class DataConfig:
    root: Path | None = option(None, "dataset folder holding trainA/ and trainB/ (the public CycleGAN layout)", flag="--data")
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
        positive(self, "size", "load_size", "batch_size")
        non_negative(self, "workers", "rotate", "color_jitter")
        if self.max_dataset_size is not None:
            positive(self, "max_dataset_size")
        if self.load_size < self.size and self.preprocess in ("resize_and_crop", "scale_width_and_crop"):
            raise ConfigError(f"--load-size ({self.load_size}) must be at least --size ({self.size}): images are cropped after resizing")
        if not 0.0 < self.crop_scale <= 1.0:
            raise ConfigError(f"--crop-scale must be in (0, 1], got {self.crop_scale}")
        if self.preprocess in UNCROPPED and self.batch_size > 1:
            raise ConfigError(f"--preprocess {self.preprocess} keeps each image's own shape, so it needs --batch-size 1")


@dataclass
class ModelConfig:
    method: Method = option(
        "cyclegan",
        "cyclegan: two generators and the cycle (Zhu et al. 2017); cut: one generator A -> B, its content kept by "
        "PatchNCE on its own encoder's features (Park et al. 2020: less memory, no colour inversions); fastcut: CUT "
        "without the identity PatchNCE, with --lambda-nce 10 and flip-equivariance (about twice as fast); distill: a "
        "student generator learns to translate as --teacher does (`stylecycle distill`)",
        flag="--model",
    )
    teacher: Path | None = option(None, "distill: the trained model (checkpoint or run folder) whose translations the student learns")
    distill_direction: DistillDirection = option(
        "a2b", "distill: which of the teacher's directions the student learns (both: two students)"
    )
    generator: str = option(
        "resnet_9blocks",
        "generator: ResNet with 9 or 6 residual blocks (mobile_resnet: depthwise-separable blocks, for small fast "
        "students), U-Net for 128 or 256 pixel training crops, "
        "or lut (a per-image colour look-up table alone: colour styles, no artefacts, any image size at once)",
        choices=list_generators,
    )
    n_blocks: int | None = option(None, "residual blocks of a resnet generator, overriding the number in its name")
    ngf: int = option(64, "width (channels of the first layer) of the generators")
    colour_lut: bool = option(
        False, "a per-image 3D colour look-up table before the generator's network: it learns the style's colours in few steps"
    )
    lut_size: int = option(17, "entries per colour axis of the look-up table (--generator lut, --colour-lut)")
    colour_init: ColourInit = option(
        "identity",
        "what the colour table starts as: the identity, or the colour transfer that carries the A folder's colour "
        "distribution onto the B folder's (optimal transport, computed in seconds before the first step)",
    )
    abstraction: bool = option(
        False,
        "an abstraction stage before the colour table: edge-preserving smoothing into flat patches and dark lines "
        "along edges, set by a few weights that learn from the discriminator alone (painted, drawn and printed styles)",
    )
    attention: bool = option(False, "a self-attention block (SAGAN, gated, starting closed) in the middle of the resnet bottleneck")
    upsample: Upsample = option(
        "transpose", "generator upsampling: transposed convolution (the reference), or resize-conv (no checkerboard artefacts)"
    )
    antialias: bool = option(
        False,
        "anti-aliased down- and upsampling in resnet generators (fixed blur filters, the layout of CUT's generator): "
        "no aliasing, no checkerboards",
    )
    conv_padding: ConvPadding = option(
        "zeros",
        "how the generators' down- and upsampling convolutions pad: with zeros (the reference networks), or by "
        "reflection, so that no layer can tell where the picture ends and paint a band along its border "
        "(transposed convolutions, --upsample transpose, cannot reflect: use --antialias or --upsample resize-conv)",
    )
    dropout: float = option(0.0, "dropout probability in the generators' residual blocks (resnet) or deep levels (unet)")
    discriminator: DiscriminatorKind = option(
        "patch", "discriminator: PatchGAN (patch), per-pixel 1x1 GAN (pixel), or PatchGANs at several scales (multiscale)"
    )
    ndf: int = option(64, "width (channels of the first layer) of the discriminators")
    n_layers_d: int = option(3, "stride-2 layers of the PatchGAN discriminators (3 gives 70x70 patches)")
    d_scales: int = option(2, "image scales (full, half, ...) judged by the multiscale discriminator")
    spectral_norm: bool = option(False, "spectral normalisation of every discriminator convolution")
    norm: Norm = option("instance", "normalisation in all networks: instance, batch, sync_batch (statistics over all DDP ranks) or none")
    norm_affine: bool = option(False, "learnable gamma and beta for InstanceNorm")
    init: Init = option("normal", "weight initialisation of all networks")
    init_gain: float = option(0.02, "standard deviation (normal) or gain (xavier, orthogonal) of the initialisation")
    global_skip: bool = option(
        False,
        "add each generator's input to its output (before tanh): it starts as the identity and learns "
        "only the change of style, converging much faster on small budgets; off is the paper's network",
    )

    def has_colour_stage(self) -> bool:
        """Whether the generators carry a colour look-up table (``--colour-lut``, or the ``lut`` generator)."""
        return carries_colour_table(self.generator, self.colour_lut)

    def validate(self) -> None:
        check_choices(self)
        positive(self, "ngf", "ndf", "n_layers_d", "d_scales", "init_gain")
        if self.antialias and self.upsample != "transpose":
            raise ConfigError(f"--antialias brings its own upsampling: drop --upsample {self.upsample}")
        if self.lut_size < 2:
            raise ConfigError(f"--lut-size must be at least 2, got {self.lut_size}")
        if self.colour_init != "identity" and not self.has_colour_stage():
            raise ConfigError(f"--colour-init {self.colour_init} starts the colour table: it needs --colour-lut or --generator lut")
        if self.conv_padding != "zeros" and self.generator == "lut":
            raise ConfigError(f"--conv-padding {self.conv_padding} pads the generators' convolutions: --generator lut has none")
        if not is_resnet(self.generator):
            for name in RESNET_ONLY:
                if getattr(self, name):
                    raise ConfigError(f"{flag_of(self, name)} applies to resnet generators only, not --generator {self.generator}")
        if self.n_blocks is not None:
            non_negative(self, "n_blocks")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--dropout must be in [0, 1), got {self.dropout}")


RESNET_ONLY = ("n_blocks", "attention", "antialias")  # the model options only resnet generators take


def carries_colour_table(generator: str, colour_lut: bool) -> bool:
    """Whether a generator of this name, with or without ``--colour-lut``, has a colour stage: the
    rule behind :meth:`ModelConfig.has_colour_stage`, for option dicts before a config exists."""
    return colour_lut or generator == "lut"


def applicable(recipe: dict[str, dict[str, Any]], given: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A recipe's options ({section: {field: value}}) less those the options given rule out. A
    recipe only fills in what is not given, so ``--generator unet_256`` under the default recipe
    is a U-Net without anti-aliasing, and ``--no-colour-lut`` a run without the colour tables'
    own learning rate, not an error about an option nobody typed."""
    model, given_model = recipe.get("model", {}), given.get("model", {})
    generator = given_model.get("generator", model.get("generator", ModelConfig.generator))
    colour_stage = carries_colour_table(generator, given_model.get("colour_lut", model.get("colour_lut", False)))
    ruled_out = {
        "model": {
            *(RESNET_ONLY if not is_resnet(generator) else ()),
            *(("antialias",) if given_model.get("upsample", "transpose") != "transpose" else ()),
            *(("colour_init",) if not colour_stage else ()),
        },
        "optim": {*(("colour_lr", "colour_content") if not colour_stage else ())},
    }
    return {section: {k: v for k, v in values.items() if k not in ruled_out.get(section, set())} for section, values in recipe.items()}


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
    lambda_style: float = option(
        0.0, "weight of the style loss: Gram matrices of VGG features of each translation against the target domain's images"
    )
    vgg: Vgg = option("vgg16", "the VGG network of the perceptual and style losses")
    perceptual_layers: str = option("relu2_2", "comma-separated VGG layers of the perceptual loss")
    style_layers: str = option("relu1_2,relu2_2,relu3_3,relu4_3", "comma-separated VGG layers of the style loss")
    vgg_weights: Path | None = option(
        None,
        "ImageNet weights of the VGG (a torchvision .pth file); default: torchvision's file in the torch hub cache, downloaded there if missing",
    )

    lambda_nce: float = option(1.0, "cut, fastcut: weight of PatchNCE, the content loss (fastcut's default: 10)")
    nce_idt: bool = option(
        True, "cut: PatchNCE also between each B image and its translation, which keeps G from changing B images (fastcut: off)"
    )
    nce_layers: str = option(
        "0,4,8,12,16",
        "cut, fastcut: the generator's layers (indices into its network) whose features PatchNCE compares; the default is "
        "CUT's: the input, both downsamplings and residual blocks 1 and 5 of an --antialias resnet",
    )
    nce_patches: int = option(256, "cut, fastcut: places sampled per layer and image; each one's negatives are the others")
    nce_temperature: float = option(0.07, "cut, fastcut: temperature of PatchNCE's softmax")
    nce_width: int = option(256, "cut, fastcut: width of the two-layer MLP that projects each layer's features for PatchNCE")
    flip_equivariance: bool = option(
        False, "cut, fastcut: translate a horizontally flipped input half of the time and compare its features flipped back (fastcut: on)"
    )

    def validate(self) -> None:
        non_negative(self, "lambda_gp", "lambda_cycle", "lambda_identity", "lambda_perceptual", "lambda_style", "lambda_nce")
        positive(self, "nce_patches", "nce_temperature", "nce_width")
        try:
            self.nce_layer_indices()
        except ValueError:
            raise ConfigError(f"--nce-layers must be comma-separated layer indices, got {self.nce_layers!r}") from None
        for name in ("lambda_a", "lambda_b"):
            if getattr(self, name) is not None:
                non_negative(self, name)

    def cycle_weight(self, source: str) -> float:
        """Weight of the cycle that starts in domain ``source`` ("a" or "b")."""
        specific = self.lambda_a if source == "a" else self.lambda_b
        return self.lambda_cycle if specific is None else specific

    def uses_vgg(self) -> bool:
        return self.lambda_perceptual > 0 or self.lambda_style > 0

    def nce_layer_indices(self) -> list[int]:
        indices = sorted({int(index) for index in self.nce_layers.split(",") if index.strip()})
        if not indices or indices[0] < 0:
            raise ValueError(self.nce_layers)
        return indices


@dataclass
class OptimConfig:
    lr: float = option(2e-4, "Adam learning rate of the generators, and of the discriminators unless --lr-d is given")
    lr_d: float | None = option(
        None, "Adam learning rate of the discriminators (two time-scale updates, Heusel et al. 2017, often 2-4x --lr); default: --lr"
    )
    beta1: float = option(0.5, "Adam beta1")
    beta2: float = option(0.999, "Adam beta2")
    pool_size: int = option(50, "past fakes kept to train the discriminators on (0 disables the pool)")
    ema: float = option(
        0.0,
        "keep an exponential moving average of the generators' weights with this decay per step (e.g. 0.999), and sample, "
        "translate and export with it; 0: off",
    )
    d_first: bool = option(False, "update the discriminators before the generators in each step (the seed recipe's order)")
    diffaugment: str = option(
        "",
        "differentiable augmentation of everything the discriminators see, real and fake alike (DiffAugment, Zhao et al. "
        "2020), a comma list of colour, translation, cutout: keeps them from memorising a small dataset",
    )
    colour_first: float = option(
        0.0,
        "fraction of the run (of its steps, or of its --time-budget) in which only the colour stage of --colour-lut "
        "generators trains, at the speed of a colour-only model; the generators' networks then learn the rest",
    )
    colour_lr: float | None = option(
        None,
        "Adam learning rate of the colour stages of --colour-lut generators (default: --lr); 0 holds them where "
        "--colour-init started them, and the networks learn the rest of the style around that colour mapping",
    )
    colour_content: float = option(
        1.0,
        "share of the content terms (cycle, identity, perceptual, PatchNCE) in what the colour stages of --colour-lut "
        "generators learn from, beside the discriminator's verdict: below 1 they follow the target folder's colours "
        "more and the input's less (0: the discriminator alone)",
    )
    lr_policy: LrPolicy = option(
        "linear",
        "after --epochs at the full rate: linear or cosine decay to 0 over --decay-epochs; step: times --lr-gamma "
        "every --lr-step-epochs; plateau: times --lr-gamma when the epoch's generator loss stalls for --lr-patience epochs",
    )
    lr_step_epochs: int = option(50, "epochs between learning-rate drops of the step policy")
    lr_gamma: float = option(0.1, "factor of each learning-rate drop (step and plateau policies)")
    lr_patience: int = option(5, "epochs without improvement before the plateau policy drops the learning rate")

    def validate(self) -> None:
        positive(self, "lr", "lr_step_epochs", "lr_gamma")
        if self.lr_d is not None:
            positive(self, "lr_d")
        if self.colour_lr is not None:
            non_negative(self, "colour_lr")
        non_negative(self, "pool_size", "lr_patience")
        if not 0.0 <= self.colour_content <= 1.0:
            raise ConfigError(f"--colour-content must be in [0, 1], got {self.colour_content}")
        try:
            parse_policy(self.diffaugment)
        except ValueError as error:
            raise ConfigError(f"--diffaugment: {error}") from None
        for name in ("ema", "colour_first", "beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"--{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass
class TrainConfig:
    run_dir: Path | None = option(None, "folder for checkpoints, sample grids and logs (created if missing)")
    recipe: str = option(
        "fast",
        "defaults for the options not given: fast (the default: the quality benchmark's best on a CPU budget; 96-pixel "
        "crops, half-width anti-aliased 6-block generators starting as the identity, behind a colour look-up table started "
        "from the colour transfer between the folders; 1500 steps, or --time-budget); paper (the CycleGAN paper's, which "
        "are also the options' own defaults; cyclegan is its old name); seed (discriminators first, MSE cycle loss x1, no "
        "identity loss, no image pool, Adam betas (0.9, 0.999)); preview (fast's networks without the colour table or "
        "anti-aliasing); cut and fastcut (CUT's reference settings: --model cut or fastcut, anti-aliased generators, "
        "Xavier initialisation); distill (`stylecycle distill`'s student: a 16-wide mobile ResNet); standard (128-pixel "
        "crops, generators starting as the identity, 20000 steps)",
        choices=lambda: list(RECIPES),
    )
    resume: Path | None = option(
        None, "continue the run in this folder (or from this checkpoint) exactly; its stored options apply unless given again"
    )
    epochs: int = option(100, "epochs at the initial learning rate")
    decay_epochs: int = option(100, "epochs over which the learning rate then decays linearly to zero")
    max_steps: int | None = option(None, "stop after this many steps; the lr schedule then spans them")
    time_budget: str | None = option(
        None,
        "train for this long instead (90s, 20m, 1h30m): the lr schedule spans the time, planned from the pace measured as the "
        "run goes, and the run stops and saves when it is spent; --resume with a larger budget continues. Overrides --max-steps",
    )
    seed: int = option(0, "random seed for weights, pairing and augmentation")
    deterministic: bool = option(False, "use only deterministic kernels (bit-reproducible runs; slower on GPUs)")
    threads: int = option(0, "CPU threads for the arithmetic (0: PyTorch's default, one per core)")
    device: str = device_option()
    precision: Precision = precision_option()
    channels_last: bool | None = channels_last_option()
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
        check_choices(self)
        if self.run_dir is None:
            raise ConfigError("--run-dir is required: the folder where checkpoints and samples go")
        non_negative(self, "epochs", "decay_epochs", "sample_every", "save_every", "keep_last", "threads")
        positive(self, "max_bad_steps")
        if self.max_steps is None and self.epochs + self.decay_epochs == 0:
            raise ConfigError("--epochs and --decay-epochs are both 0: nothing to train (or set --max-steps)")
        if self.max_steps is not None:
            positive(self, "max_steps")
        if self.time_budget is not None:
            parse_duration(self.time_budget, "--time-budget")


@dataclass
class Config:
    """Everything a training run needs; stored whole inside each checkpoint.

    ``Config()`` holds the options' own defaults, which are the paper's; a run that gives no
    options trains with :meth:`from_recipe`'s, the default recipe's."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> Config:
        for section in sections(self):
            section.validate()
        smallest = smallest_training_side(self.model)
        if self.data.size < smallest:
            raise ConfigError(
                f"--size {self.data.size} is too small for a discriminator with --n-layers-d "
                f"{self.model.n_layers_d}: use --size {smallest} or more, or fewer layers"
            )
        if self.optim.colour_first and not self.model.colour_lut:
            raise ConfigError("--colour-first trains the colour stage first: it needs --colour-lut")
        if self.optim.colour_lr is not None and not self.model.has_colour_stage():
            raise ConfigError("--colour-lr is the learning rate of the colour stages: it needs --colour-lut or --generator lut")
        if self.optim.colour_content < 1.0 and not self.model.has_colour_stage():
            raise ConfigError("--colour-content weighs what the colour stages learn from: it needs --colour-lut or --generator lut")
        if self.model.method == "distill" and self.model.teacher is None:
            raise ConfigError("distilling needs the teacher: its checkpoint or run folder (--checkpoint)")
        if self.model.method in ONE_SIDED:
            if not is_resnet(self.model.generator):
                raise ConfigError(
                    f"--model {self.model.method} reads the features of a resnet generator's encoder, not of --generator {self.model.generator}"
                )
            if self.loss.uses_vgg():
                raise ConfigError(
                    f"--lambda-perceptual and --lambda-style belong to --model cyclegan; --model {self.model.method} keeps content by PatchNCE"
                )
        return self

    @classmethod
    def from_recipe(cls, given: dict[str, dict[str, Any]]) -> Config:
        """The config of ``given`` ({section: {field: value}}, the options typed), on top of the
        defaults of the recipe it names: a recipe only sets defaults, any given option wins."""
        recipe = given.get("train", {}).get("recipe", TrainConfig.recipe)
        if recipe not in RECIPES:
            raise ConfigError(f"unknown --recipe {recipe!r}; known: {', '.join(RECIPES)}")
        method = given.get("model", {}).get("method", RECIPES[recipe].get("model", {}).get("method", ModelConfig.method))
        if method not in METHOD_DEFAULTS:
            raise ConfigError(f"unknown --model {method!r}; known: {', '.join(METHOD_DEFAULTS)}")
        recipe_layer = applicable(RECIPES[recipe], given)
        # The method's own defaults (FastCUT's weights, say) come between the recipe's and the options given.
        layers = (recipe_layer, METHOD_DEFAULTS[method], given)
        merged = {name: {k: v for layer in layers for k, v in layer.get(name, {}).items()} for layer in layers for name in layer}
        return cls().updated(merged)

    def updated(self, overrides: dict[str, dict[str, Any]]) -> Config:
        """A copy with some fields replaced, given as ``{section: {field: value}}``."""
        return Config(
            **{
                f.name: dataclasses.replace(section, **overrides.get(f.name, {}))
                for f, section in zip(dataclasses.fields(self), sections(self))
            }
        )


@dataclass
class TranslateConfig:
    checkpoint: Path | None = option(
        None,
        "a checkpoint file, a run folder (its newest checkpoint), an exported .safetensors file, or an original CycleGAN generator file",
    )
    input: Path | None = option(
        None, "an image or video file, a folder (searched recursively, mirrored) or a quoted glob such as 'photos/**/*.jpg'"
    )
    output: Path | None = option(None, "folder for the translations (same names, sub-folders mirrored)")
    direction: Direction = direction_option()
    device: str = device_option()
    precision: Precision = precision_option()
    channels_last: bool | None = channels_last_option()
    generator: str | None = option(
        None,
        "architecture of a bare generator file of the original CycleGAN code (latest_net_G_A.pth); stylecycle checkpoints know their own",
        choices=list_generators,
    )
    method: Method | None = option(
        None,
        "the code that trained a bare generator file: cyclegan (its latest_net_G_A.pth; name --generator) or cut / fastcut "
        "(the CUT code's latest_net_G.pth: CUT's resnet_9blocks unless --generator says otherwise, A -> B only)",
        flag="--model",
    )
    format: OutputFormat = option("auto", "output format; auto keeps JPEG, PNG and WebP as they came and writes PNG for the rest")
    quality: int = option(95, "JPEG and WebP quality, 1-100")
    batch_size: int = option(1, "images of the same size translated together")
    skip_existing: bool = option(False, "leave inputs whose output already exists (to continue an interrupted run)")
    side_by_side: bool = option(False, "write the input and its translation side by side, for comparison")
    # About 1 GB of activations at fp32 for the 9-block ResNet; the tiles' shared statistics come
    # from the whole image scaled down to this many pixels.
    max_pixels: int = option(
        1024 * 1024, "larger images are translated in overlapping tiles with shared statistics (bounded memory, no seams)"
    )
    tile: int = option(512, "tile side in pixels, for images above --max-pixels")
    temporal_smoothing: float = option(
        0.0, "videos: blend each translated frame with this fraction of the previous output, which reduces flicker (0 to 0.9)"
    )

    def validate(self) -> TranslateConfig:
        check_choices(self)
        for name in ("checkpoint", "input", "output"):
            if getattr(self, name) is None:
                raise ConfigError(f"{flag_of(self, name)} is required")
        positive(self, "batch_size", "max_pixels")
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
    all_checkpoints: bool = option(
        False, "with a run folder as --checkpoint: score every checkpoint it kept, to see the metrics over training"
    )
    teacher: Path | None = option(
        None,
        "with --checkpoint (a distilled student): its teacher, which translates --inputs too; the report adds the student's "
        "agreement with it (PSNR and SSIM of the student's translations against the teacher's) beside the other scores",
    )
    report: Path | None = option(
        None, "folder for metrics.json, metrics.md, comparison.png (and the translations); default: RUN/evaluation or OUTPUTS_evaluation"
    )
    direction: Direction = direction_option("with --checkpoint: ")
    device: str = device_option()
    precision: Precision = precision_option()
    inception_weights: Path | None = inception_weights_option()
    sheet_images: int = option(8, "images (rows) on the comparison sheet")

    def validate(self) -> EvaluateConfig:
        if (self.outputs is None) == (self.checkpoint is None):
            raise ConfigError("give either --outputs (translated images) or --checkpoint with --inputs (to translate them first)")
        if self.checkpoint is not None and self.inputs is None:
            raise ConfigError("--checkpoint needs --inputs: the images to translate and score")
        if self.all_checkpoints and self.checkpoint is None:
            raise ConfigError("--all-checkpoints needs --checkpoint RUN_DIR")
        if self.teacher is not None and (self.checkpoint is None or self.all_checkpoints):
            raise ConfigError("--teacher needs --checkpoint (one student, not --all-checkpoints)")
        if self.references is None and self.target is None:
            raise ConfigError("nothing to compare with: give --references (PSNR, SSIM) and/or --target (FID, KID)")
        non_negative(self, "sheet_images")
        return self


@dataclass
class TuneConfig:
    param: tuple[str, ...] = option(
        (),
        "a parameter to search, repeatable: NAME=V1,V2,... (choices), NAME=LOW:HIGH (a range; whole numbers make it "
        "an integer range) or NAME=LOW:HIGH:log; NAME is any training option, e.g. lr, lambda_cycle, generator, rotate",
    )
    space: Path | None = option(None, "a YAML file of parameters to search: NAME: [V1, V2] or NAME: {low: X, high: Y, log: true}")
    sampler: Sampler = option("tpe", "how trials pick parameters: tpe (Bayesian), random, or grid (every combination of the choices)")
    trials: int | None = option(
        None, f"finished trials wanted, counting those of an earlier, interrupted run (default: the grid's size, or {DEFAULT_TRIALS})"
    )
    trial_steps: int = option(500, "training steps of each trial")
    objective: Objective = option(
        "psnr", "what a trial is scored by on the validation split: psnr or ssim against valB/ (paired by name), fid or kid against valB/"
    )
    eval_every: int = option(
        100, "steps between a trial's validation scores; trials scoring below the median of earlier ones at the same step are stopped"
    )
    prune: bool = option(True, "stop unpromising trials early (median pruning)")
    val_a: Path | None = option(None, "validation images to translate (default: valA/ beside --data's trainA/)")
    val_b: Path | None = option(None, "their true translations for psnr/ssim, or target-domain images for fid/kid (default: valB/)")
    inception_weights: Path | None = inception_weights_option()

    def validate(self) -> TuneConfig:
        positive(self, "trial_steps", "eval_every")
        if self.trials is not None:
            positive(self, "trials")
        return self


@dataclass
class ServeConfig:
    checkpoints: Path = option(Path("runs"), "folder of runs and exported models to offer, where runs started from the page are saved too")
    data_root: Path = option(Path("."), "training folders typed on the page must lie inside this folder")
    host: str = option(
        "127.0.0.1",
        "address to listen on; the default lets only this machine in, any other needs logins (--auth-file) or --insecure-no-login",
    )
    port: int = option(7860, "port to listen on")
    auth_file: Path | None = option(
        None,
        "file of logins, one user:password per line (or user:HASH from `stylecycle hash-password`); default: $STYLECYCLE_AUTH, "
        "the same lines; no password is ever taken on the command line",
    )
    insecure_no_login: bool = option(
        False, "let --host open the page to other machines without a login (anyone who reaches the port can use it)"
    )
    train: bool = option(True, "offer the Train tab (--no-train serves translation only, the setting for a shared machine)")
    device: str = device_option()
    max_upload_mb: float = option(50.0, "largest file a browser may upload, in megabytes")
    max_pixels: int = option(
        40_000_000, "largest image or video frame a browser may upload, in pixels (read from the header, before decoding)"
    )
    max_video_seconds: float = option(60.0, "longest video a browser may upload, in seconds (read from the header, before decoding)")
    max_files: int = option(50, "most files translated in one request")

    def validate(self) -> ServeConfig:
        positive(self, "port", "max_upload_mb", "max_pixels", "max_files", "max_video_seconds")
        if not Path(self.data_root).is_dir():
            raise ConfigError(f"--data-root {self.data_root} is not a folder")
        return self


def smallest_training_side(model: ModelConfig) -> int:
    """The smallest crop the discriminators of ``model`` can judge."""
    scales = model.d_scales if model.discriminator == "multiscale" else 1
    return smallest_input_side(model.discriminator, model.n_layers_d, scales)


def sections(config: Config) -> list[Any]:
    return [getattr(config, f.name) for f in dataclasses.fields(config)]


# The training config's sections: name -> dataclass.
SECTION_CLASSES: dict[str, type] = typing.get_type_hints(Config)
SECTION_NAMES = tuple(SECTION_CLASSES)
