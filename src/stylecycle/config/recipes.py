"""Recipes: named sets of defaults for the training options a user does not give.

Each is ``{section: {field: value}}`` over the fields' own defaults (which are the ``paper``
recipe's); :meth:`stylecycle.config.Config.from_recipe` applies them. A run that names none
trains with ``fast``, the quality benchmark's best on a CPU budget (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

# The CycleGAN paper's settings are the fields' own defaults.
PAPER: dict[str, dict[str, Any]] = {}

# Small budgets (minutes on 2 CPU cores), and the networks of the fast recipe. Generators that
# start as the identity carry the style after few steps; 34x34 discriminator patches suit the
# small crops.
PREVIEW: dict[str, dict[str, Any]] = {
    "data": {"size": 96, "load_size": 112, "workers": 0},
    "model": {"generator": "resnet_6blocks", "ngf": 32, "ndf": 32, "n_layers_d": 2, "global_skip": True},
    "loss": {"lambda_identity": 0.0},
    "train": {"max_steps": 1500},
}

# The settings of CUT's reference code (taesungp/contrastive-unpaired-translation) that differ
# from the CycleGAN paper's: its anti-aliased generator, Xavier initialisation, 200 + 200 epochs;
# FastCUT trains 150 + 50.
CUT: dict[str, dict[str, Any]] = {
    "model": {"method": "cut", "antialias": True, "init": "xavier"},
    "train": {"epochs": 200, "decay_epochs": 200},
}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "paper": PAPER,
    "cyclegan": PAPER,  # the old name of "paper", which older checkpoints, configs and scripts give
    # The formulation of the founding design document: discriminators trained first, then the
    # generators; MSE cycle loss with weight 1; no identity loss and no image pool; Adam at
    # lr 2e-4 with PyTorch's default betas. Its "one Adam optimiser for D_X and one for D_Y" is
    # what our single discriminator optimiser computes: Adam's update is per parameter, and the
    # two discriminators share no parameters and no hyper-parameters.
    "seed": {
        "loss": {"cycle_loss": "mse", "lambda_cycle": 1.0, "lambda_identity": 0.0},
        "optim": {"lr": 2e-4, "beta1": 0.9, "beta2": 0.999, "pool_size": 0, "d_first": True},
    },
    "preview": PREVIEW,
    # The default, `make demo`'s and the web page's "fast preview": the quality benchmark's best
    # at 5 and 20 minutes, over two seeds (benchmarks/quality.py, docs/benchmarks.md): preview's
    # networks, anti-aliased (no checkerboards), behind an abstraction stage (patches and lines,
    # set by the discriminator) and a colour look-up table that starts from the colour transfer
    # between the two folders and trains with the networks from the first step, at a quarter of
    # their learning rate: at the full rate, training moves a colour grade's table away from the
    # better transfer it starts from (+1.3 dB on the grade at 5 minutes, level elsewhere).
    "fast": {
        **PREVIEW,
        "model": {**PREVIEW["model"], "colour_lut": True, "antialias": True, "colour_init": "transfer", "abstraction": True},
        "optim": {"colour_lr": 5e-5},
    },
    "cut": CUT,
    "fastcut": {"model": {**CUT["model"], "method": "fastcut"}, "train": {"epochs": 150, "decay_epochs": 50}},
    # `stylecycle distill`'s student: the fastest measured (benchmarks/distill.py --speed: 15.7x the
    # 9-block, 64-wide teacher at 1024x1024 and 12.4x at 6000x4000 tiled, on 2 CPU cores).
    "distill": {
        "model": {"method": "distill", "generator": "mobile_resnet_9blocks", "ngf": 16, "global_skip": True},
        "data": {"crop_scale": 0.5},
        "train": {"max_steps": 4000},
    },
    "standard": {
        "data": {"size": 128, "load_size": 143},
        "model": {"global_skip": True},
        "train": {"max_steps": 20000},
    },
}

# What each --model brings to whichever recipe it is trained with, below the options given: the
# weights of CUT's two variants (its code sets them per mode in the same way).
METHOD_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "cyclegan": {},
    "cut": {},  # the fields' own defaults are CUT's
    "fastcut": {"loss": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True}},
    "distill": {},
}
