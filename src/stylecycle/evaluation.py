"""Scores for translated images: PSNR and SSIM against paired references, FID and KID against
a folder of the target domain, computed by torchmetrics.

PSNR and SSIM compare each translation with the image it should have become (paired by file
name), on 8-bit RGB scaled to [0, 1] as scikit-image does. FID and KID compare the distribution
of the translations with that of real target-domain images, through the Inception features that
torch-fidelity (and so torchmetrics) use. The features are computed once per image and handed
to torchmetrics' metrics as they are, so FID and KID share one Inception pass and a target
folder is read once however many checkpoints are scored against it.

The Inception weights come from ``--inception-weights`` or torch's hub cache, where they are
downloaded on first use (:mod:`stylecycle.pretrained`); where they cannot be had (offline, no
connection), FID and KID are reported as unavailable, with the reason, while PSNR and SSIM are
still computed.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import nn

from .atomic import atomic_path
from .config import EvaluateConfig
from .data.datasets import candidate_files
from .data.io import pil_to_uint8, read_pil, save_pil
from .errors import (
    CheckpointError,
    ConfigError,
    DataError,
    ImageReadError,
    StylecycleError,
    first_line,
)
from .pretrained import weights_file
from .training.checkpoint import read_weights_file

log = logging.getLogger("stylecycle")

# torch-fidelity's Inception v3 (the TensorFlow FID network, converted), whose file torch's hub
# cache holds under this name.
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FEATURES = 2048
KID_SUBSETS = 100
SSIM_SIGMA = 1.5
SSIM_BORDER = int(3.5 * SSIM_SIGMA + 0.5)  # half the Gaussian window torchmetrics (and scikit-image) use
SHEET_HEIGHT = 160
SHEET_GAP = 4
SHEET_LABEL = 18  # height of the column titles
# Metric: (label, whether higher is better, decimals).
IDENTITY = "identity (input unchanged)"  # the summary row of the untranslated inputs
METRICS = {
    "psnr": ("PSNR (dB)", True, 2),
    "ssim": ("SSIM", True, 3),
    "checkerboard": ("checkerboard (x reference)", False, 2),
    "border": ("border error (x interior)", False, 2),
    "fid": ("FID", False, 2),
    "kid": ("KID", False, 4),
}
PAIRED = ("psnr", "ssim", "checkerboard", "border")  # the metrics of a translation against its reference
BORDER = 4  # pixels of the frame the border score looks at
BORDER_STRETCH = 32  # about how long the stretches of the frame are that the border score compares (a blob's size)
EPS = 1e-10


class MetricUnavailable(StylecycleError):
    """A metric cannot be computed here (no Inception weights, too few images); says why."""


def inception_features(weights: Path | None = None) -> nn.Module:
    """torch-fidelity's Inception v3, returning the 2048 pool features of uint8 NCHW images of any
    size (it resizes them to 299x299 itself), with the weights from ``weights`` or the hub cache
    (downloaded there if missing, as torch-fidelity does)."""
    try:
        path = weights_file(INCEPTION_URL, weights, needed_for="FID and KID", flag="--inception-weights")
    except ConfigError as exc:
        raise MetricUnavailable(str(exc)) from exc
    # torch-fidelity unpickles the file in full; reading it without unpickling code first means
    # a file that is not plain weights is refused before that happens.
    try:
        read_weights_file(path)
    except CheckpointError as exc:
        raise MetricUnavailable(f"cannot read Inception weights {path}: {first_line(exc.__cause__ or exc)}") from exc
    from torchmetrics.image.fid import NoTrainInceptionV3

    try:
        network = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=[str(INCEPTION_FEATURES)], feature_extractor_weights_path=str(path)
        )
    except (RuntimeError, KeyError) as exc:
        raise MetricUnavailable(f"{path} does not hold torch-fidelity's Inception v3 weights: {first_line(exc)}") from exc
    return network


def unit_batch(image: Image.Image) -> torch.Tensor:
    """An RGB image as a float 1x3xHxW batch in [0, 1], the scale the scores are defined on."""
    return pil_to_uint8(image).unsqueeze(0).float().div(255.0)


def paired_scores(output: Image.Image, reference: Image.Image) -> dict[str, float]:
    """PSNR and SSIM (Gaussian window of sigma 1.5, as in the SSIM paper) of one translation.

    SSIM is averaged over the window positions that lie inside the image, as the paper and
    scikit-image do: torchmetrics' mean also counts the border, where the window reaches into
    reflected padding, which moved the score by up to 0.02 on our test photographs."""
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    if output.size != reference.size:
        raise DataError(f"is {output.width}x{output.height} but its reference is {reference.width}x{reference.height}")
    if min(output.size) <= 2 * SSIM_BORDER:
        raise DataError(f"is {output.width}x{output.height}: SSIM needs both sides above {2 * SSIM_BORDER} pixels")
    out, ref = unit_batch(output), unit_batch(reference)
    _, ssim_map = structural_similarity_index_measure(out, ref, data_range=1.0, sigma=SSIM_SIGMA, return_full_image=True)
    return {
        "psnr": float(peak_signal_noise_ratio(out, ref, data_range=1.0)),
        "ssim": float(ssim_map[..., SSIM_BORDER:-SSIM_BORDER, SSIM_BORDER:-SSIM_BORDER].mean()),
        "checkerboard": (checkerboard_energy(out) + EPS) / (checkerboard_energy(ref) + EPS),
        "border": border_error_ratio(out, ref),
    }


def checkerboard_energy(image: torch.Tensor) -> float:
    """The share of an image's spectral power (NxCxHxW, channels averaged, mean removed) on the
    frequencies of periods 2 and 4 pixels along either axis: where the pattern of a stride-2 transposed
    convolution (and of two of them) lies. Scored against the reference's, so a picture's own
    fine texture is not counted against it."""
    grey = image.float().mean(dim=(0, 1))  # NxCxHxW: the batch and channels averaged
    power = torch.fft.fft2(grey - grey.mean()).abs().square()
    height, width = power.shape
    rows = {round(height * f) % height for f in (0.25, 0.5, 0.75)} - {0}
    columns = {round(width * f) % width for f in (0.25, 0.5, 0.75)} - {0}
    on_lines = torch.zeros_like(power, dtype=torch.bool)
    on_lines[sorted(rows), :] = True
    on_lines[:, sorted(columns)] = True
    return float(power[on_lines].sum() / (power.sum() + EPS))


def border_error_ratio(output: torch.Tensor, reference: torch.Tensor) -> float:
    """The mean error in the worst stretch of the frame over the mean error inside the frame
    (NxCxHxW, sides above 2 x BORDER). The frame is each edge's outermost BORDER pixels, cut into
    stretches of about BORDER_STRETCH pixels: a blob in one corner or a band along part of one
    edge, which a mean over the whole frame dilutes, shows in full. About 1 where the edges are
    translated like the rest (a little above, as the worst of several stretches), far more for a
    band."""
    error = (output.float() - reference.float()).abs().mean(dim=(0, 1))
    edges = [error[:BORDER], error[-BORDER:], error[:, :BORDER].T, error[:, -BORDER:].T]  # each BORDER x length
    worst = max(
        float(stretch.mean()) for edge in edges for stretch in torch.tensor_split(edge, max(1, edge.shape[1] // BORDER_STRETCH), dim=1)
    )
    return (worst + EPS) / (float(error[BORDER:-BORDER, BORDER:-BORDER].mean()) + EPS)


@torch.no_grad()
def feature_matrix(images: Iterable[Image.Image], features: nn.Module) -> torch.Tensor:
    """One row of features per image (images one at a time: their sizes may differ)."""
    rows = [features(pil_to_uint8(image).unsqueeze(0)).reshape(1, -1).double() for image in images]
    return torch.cat(rows) if rows else torch.zeros(0, 0, dtype=torch.float64)


class _GivenFeatures(nn.Module):
    """Hands torchmetrics' FID and KID features computed beforehand (see the module's docstring)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def distribution_scores(fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    """FID and KID (mean and standard deviation over subsets) between two feature matrices."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    if min(len(fake), len(real)) < 2:
        raise MetricUnavailable(f"FID and KID need at least 2 images on each side, got {len(fake)} translated and {len(real)} target")
    given = _GivenFeatures(fake.shape[1])
    fid = FrechetInceptionDistance(feature=given).double()
    with warnings.catch_warnings():  # that KID keeps every feature: ours are in memory already
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=given, subsets=KID_SUBSETS, subset_size=min(len(fake), len(real)))
    for metric in (fid, kid):
        metric.update(real, real=True)
        metric.update(fake, real=False)
    kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}


@dataclass
class Item:
    """One translated image and what it is compared with: its paired reference and the input it
    was translated from (both optional)."""

    name: str
    output: Image.Image
    reference: Image.Image | None = None
    input: Image.Image | None = None


@dataclass
class Report:
    """Mean scores of the translations (and of the untranslated inputs: the identity baseline),
    the scores of each image, and why any metric is missing."""

    summary: dict[str, dict[str, float | int]] = field(default_factory=dict)
    per_image: list[dict[str, float | str]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {"summary": self.summary, "per_image": self.per_image, "unavailable": self.unavailable, "skipped": self.skipped}, indent=2
        )

    def to_markdown(self) -> str:
        """The summary table, the reasons for missing metrics, then a table of every image."""
        names = [m for m in METRICS if any(m in row for row in self.summary.values()) or m in self.unavailable]
        lines = [
            "| | images | " + " | ".join(f"{METRICS[m][0]} {'↑' if METRICS[m][1] else '↓'}" for m in names) + " |",
            "|---|---:|" + "---:|" * len(names),
        ]
        for row_name, row in self.summary.items():
            cells = [format_metric(m, row.get(m), self.unavailable) for m in names]
            lines.append(f"| {row_name} | {row.get('images', '')} | " + " | ".join(cells) + " |")
        reasons: dict[str, list[str]] = {}
        for metric, reason in self.unavailable.items():
            reasons.setdefault(reason, []).append(METRICS[metric][0])
        notes = [f"- {' and '.join(labels)} unavailable: {reason}" for reason, labels in reasons.items()]
        notes += [f"- skipped {len(self.skipped)} image(s): " + "; ".join(self.skipped)] if self.skipped else []
        lines += [""] + notes if notes else []
        paired = [m for m in PAIRED if any(m in row for row in self.per_image)]
        if paired:
            columns = [
                (key, f"{METRICS[m][0]}{suffix}")
                for suffix, prefix in (("", ""), (" identity", "identity_"))
                for m in paired
                for key in [prefix + m]
                if any(key in row for row in self.per_image)
            ]
            lines += ["", "| image | " + " | ".join(title for _, title in columns) + " |", "|---|" + "---:|" * len(columns)]
            for scores in self.per_image:
                lines.append(
                    f"| {scores['image']} | "
                    + " | ".join(format_metric(key.removeprefix("identity_"), scores.get(key), {}) for key, _ in columns)
                    + " |"
                )
        return "\n".join(lines) + "\n"


def format_metric(metric: str, value: float | str | None, unavailable: dict[str, str]) -> str:
    """A table cell: the value at the metric's precision, "∞", "unavailable" or "–"."""
    if value is None:
        return "unavailable" if metric in unavailable else "–"
    return "∞" if math.isinf(float(value)) else f"{float(value):.{METRICS[metric][2]}f}"


class Evaluator:
    """Scores items one at a time and keeps a few of them for the comparison sheet.

    ``target_features`` (the target domain's feature matrix) enables FID and KID, with
    ``features`` (the network that made it) applied to the translations and inputs."""

    def __init__(
        self,
        features: nn.Module | None = None,
        target_features: torch.Tensor | None = None,
        *,
        sheet_images: int = EvaluateConfig.sheet_images,
    ) -> None:
        self.features, self.target_features = features, target_features
        self.sheet_images = sheet_images

    def evaluate(self, items: Iterable[Item], report: Report | None = None) -> tuple[Report, list[list[tuple[str, Image.Image]]]]:
        """Score ``items`` into ``report`` (a new one by default); also returns the sheet's rows."""
        report = report or Report()
        fake_features: list[torch.Tensor] = []
        input_features: list[torch.Tensor] = []
        sheet: list[list[tuple[str, Image.Image]]] = []
        for item in items:
            try:
                report.per_image.append({"image": item.name, **self.paired(item)})
            except DataError as exc:
                report.skipped.append(f"{item.name}: {exc}")
                log.warning("evaluate: skipped %s: %s", item.name, exc)
                continue
            if self.target_features is not None:  # features now, so no image is kept in memory
                fake_features.append(feature_matrix([item.output], self.features))  # type: ignore[arg-type]
                if item.input is not None:
                    input_features.append(feature_matrix([item.input], self.features))  # type: ignore[arg-type]
            if len(sheet) < self.sheet_images:
                columns = (("input", item.input), ("translation", item.output), ("reference", item.reference))
                sheet.append([(title, image) for title, image in columns if image is not None])
        rows = {"translated": (fake_features, ""), IDENTITY: (input_features, "identity_")}
        for name, (features, prefix) in rows.items():
            scored = [row for row in report.per_image if f"{prefix}psnr" in row]
            if name == "translated" or scored or features:
                means = {m: sum(float(row[prefix + m]) for row in scored) / len(scored) for m in PAIRED if scored}
                report.summary[name] = {"images": max(len(scored), len(features)) if prefix else len(report.per_image), **means}
            if self.target_features is not None and (features or name == "translated"):
                try:
                    report.summary[name].update(
                        distribution_scores(torch.cat(features) if features else torch.zeros(0, 0), self.target_features)
                    )
                except MetricUnavailable as exc:
                    report.unavailable.update({"fid": str(exc), "kid": str(exc)})
        return report, sheet

    @staticmethod
    def paired(item: Item) -> dict[str, float]:
        """PSNR and SSIM of the translation, and of the input (the identity baseline), against
        the reference, when there is one."""
        if item.reference is None:
            return {}
        scores = paired_scores(item.output, item.reference)
        if item.input is not None:
            scores.update({f"identity_{k}": v for k, v in paired_scores(item.input, item.reference).items()})
        return scores


def comparison_sheet(rows: list[list[tuple[str, Image.Image]]]) -> Image.Image:
    """One row per image (input | translation | reference), scaled to a common height, with the
    column titles on top: the picture to judge the scores by."""

    def scaled(image: Image.Image) -> Image.Image:
        return image.resize((max(1, round(image.width * SHEET_HEIGHT / image.height)), SHEET_HEIGHT), Image.Resampling.LANCZOS)

    rows = [[(title, scaled(image)) for title, image in row] for row in rows]
    columns = max(len(row) for row in rows)
    widths = [max(row[c][1].width for row in rows if c < len(row)) for c in range(columns)]
    sheet = Image.new("RGB", (sum(widths) + SHEET_GAP * (columns - 1), SHEET_LABEL + len(rows) * (SHEET_HEIGHT + SHEET_GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    widest: list[tuple[str, Image.Image]] = max(rows, key=len)
    for c, (title, _) in enumerate(widest):
        draw.text((sum(widths[:c]) + SHEET_GAP * c + 2, 3), title, fill="black")
    for r, row in enumerate(rows):
        for c, (_, image) in enumerate(row):
            sheet.paste(image, (sum(widths[:c]) + SHEET_GAP * c, SHEET_LABEL + r * (SHEET_HEIGHT + SHEET_GAP)))
    return sheet


def write_report(report: Report, sheet: list[list[tuple[str, Image.Image]]], folder: Path) -> dict[str, Path]:
    """``metrics.json``, ``metrics.md`` and ``comparison.png`` in ``folder``, each written atomically."""
    paths = {"json": folder / "metrics.json", "markdown": folder / "metrics.md", "sheet": folder / "comparison.png"}
    for key, text in (("json", report.to_json()), ("markdown", report.to_markdown())):
        with atomic_path(paths[key]) as tmp:
            tmp.write_text(text)
    if sheet:
        save_pil(comparison_sheet(sheet), paths["sheet"])
    else:
        del paths["sheet"]
    return paths


def image_files(folder: Path | None, flag: str) -> dict[str, Path]:
    """The images under ``folder`` keyed by their path relative to it without the extension (how
    outputs, references and inputs are paired: ``translate`` may change an extension)."""
    if folder is None:
        return {}
    files = candidate_files(folder)
    if not files:
        raise DataError(f"{flag} {folder} holds no images")
    keyed: dict[str, Path] = {}
    for path in files:
        keyed.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
    return keyed


def read_target_features(target: Path, features: nn.Module, skipped: list[str], flag: str = "--target") -> torch.Tensor:
    """The feature matrix of every readable image under ``target`` (given by ``flag``);
    unreadable ones are logged and added to ``skipped``."""
    return feature_matrix(readable(sorted(image_files(target, flag).values()), skipped), features)


def readable(paths: Iterable[Path], skipped: list[str]) -> Iterator[Image.Image]:
    for path in paths:
        try:
            yield read_pil(path)
        except ImageReadError as exc:
            skipped.append(str(exc))
            log.warning("evaluate: %s", exc)


def folder_items(outputs: Path, references: Path | None, inputs: Path | None, skipped: list[str]) -> Iterator[Item]:
    """The translations under ``outputs`` with their references and inputs, paired by name.
    With references, only outputs that have one are scored (the rest are listed as skipped)."""
    found = image_files(outputs, "--outputs")
    refs, ins = image_files(references, "--references"), image_files(inputs, "--inputs")
    if references is not None and not set(found) & set(refs):
        raise DataError(f"no image under --outputs {outputs} has a reference of the same name under --references {references}")
    for key, path in found.items():
        if references is not None and key not in refs:
            skipped.append(f"{path}: no reference named {key}.* under {references}")
            continue
        try:
            yield Item(
                name=key,
                output=read_pil(path),
                reference=read_pil(refs[key]) if key in refs else None,
                input=read_pil(ins[key]) if key in ins else None,
            )
        except ImageReadError as exc:
            skipped.append(str(exc))
            log.warning("evaluate: %s", exc)


def load_features(weights: Path | None, report: Report) -> nn.Module | None:
    """The Inception network, or None with the reason noted in ``report``."""
    try:
        return inception_features(weights)
    except MetricUnavailable as exc:
        report.unavailable.update({"fid": str(exc), "kid": str(exc)})
        log.warning("evaluate: FID and KID unavailable: %s", exc)
        return None
