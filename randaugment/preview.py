"""`python -m randaugment preview`: a picture of what a policy does to one image.

    python -m randaugment preview                      # the sample photograph, RandAugment
    python -m randaugment preview photo.jpg --policy trivial --grid 5x3 -o trivial.png
    python -m randaugment preview --timm rand-m9-mstd0.5-inc1
    python -m randaugment preview --policy augmix --sweep

writes a PNG and prints its path. The grid shows augmented copies of one image, made
by one call of the policy's functional op on a batch of copies (so each copy drew its
own ops), each tile labelled with the ops it drew, the top-left tile the original.
`--sweep` shows instead one row per op of the policy at magnitudes 0, 0.25, 0.5, 0.75
and 1 with the policy's ranges.

The labels come from the policy's plan sampler (`randaugment._plan`) called with the
seed and arguments the functional op uses; `tests/test_preview.py` re-applies every
drawn plan one kernel at a time and checks it gives the tiles. Everything here is
TensorFlow and NumPy: the labels are drawn with a small bitmap font
(`randaugment._font`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from randaugment import _arguments as args
from randaugment._font import ADVANCE, GLYPH_HEIGHT, LINE_HEIGHT, draw_text
from randaugment._plan import (
    WEIGHT_BITS,
    draw_mix_plan,
    draw_plan,
    draw_subpolicy_plan,
    draw_trivial_plan,
)
from randaugment._ranges import specs_for
from randaugment.table import DEFAULT_OPS, OpSpec

PROG = "python -m randaugment preview"
POLICIES = ("rand", "trivial", "augmix", "auto-imagenet", "auto-cifar10", "auto-svhn")
DEFAULT_OUTPUT = "randaugment-preview.png"
SWEEP_MAGNITUDES = (0.0, 0.25, 0.5, 0.75, 1.0)
MAX_GRID = 16


def wrap(pieces: Sequence[str], width: int, indent: str = "  ") -> list[str]:
    """Joins `pieces` into lines of at most `width` characters, breaking between
    pieces (continuation lines indented); a piece longer than a line is cut."""
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = indent
        line += piece
        while len(line) > width:
            lines.append(line[:width])
            line = indent + line[width:]
    if line.strip() or not lines:
        lines.append(line)
    return lines


# -- the policies, and the plan each image drew ---------------------------------------------

#: Short op names, for labels that would not fit with the full names.
SHORT_NAMES = {
    "identity": "id",
    "auto_contrast": "autocontr",
    "equalize": "equal",
    "rotate": "rot",
    "shear_x": "shearx",
    "shear_y": "sheary",
    "translate_x": "transx",
    "translate_y": "transy",
    "brightness": "bright",
    "color": "color",
    "contrast": "contrast",
    "sharpness": "sharp",
    "posterize": "poster",
    "solarize": "solar",
    "invert": "invert",
    "solarize_add": "soladd",
    "cutout": "cutout",
}


@dataclasses.dataclass(frozen=True)
class Policy:
    """A policy and its arguments, as the preview runs it.

    Attributes:
        kind: "rand", "trivial", "auto" or "augmix".
        kwargs: the functional op's keyword arguments (besides `images` and `seed`).
        shown: the arguments the title shows, e.g. "num_ops=2, magnitude=0.9".
        timm: the timm config string the policy comes from, or None.
    """

    kind: str
    kwargs: dict
    shown: str = ""
    timm: str | None = None

    @property
    def name(self) -> str:
        """The functional op's name."""
        return self.function.__name__

    def title(self, seed: int | None = None) -> str:
        """The call, for the picture's title (`seed` None: the sweep's, without it)."""
        if self.timm is not None:
            call = f"timm '{self.timm}' as {self.name}"
            return call if seed is None else f"{call}, seed={seed}"
        shown = ", ".join(p for p in (self.shown, None if seed is None else f"seed={seed}") if p)
        return f"{self.name}({shown})"

    @property
    def function(self):
        import randaugment

        return {
            "rand": randaugment.rand_augment,
            "trivial": randaugment.trivial_augment,
            "auto": randaugment.auto_augment,
            "augmix": randaugment.aug_mix,
        }[self.kind]

    def op_names(self) -> tuple[str, ...]:
        """The ops the policy draws from, in the order its plan indexes them."""
        from randaugment import policies

        if self.kind == "rand":
            return tuple(self.kwargs.get("ops") or DEFAULT_OPS)
        if self.kind == "trivial":
            return tuple(self.kwargs.get("ops") or policies.TRIVIAL_AUGMENT_OPS)
        if self.kind == "auto":
            return policies._policy_tables(self.kwargs.get("policy", "imagenet"))[0]
        return policies.AUGMIX_ALL_OPS if self.kwargs.get("all_ops") else policies.AUGMIX_OPS

    def specs(self) -> tuple[OpSpec, ...]:
        """The op records with the policy's ranges."""
        table = {
            "rand": self.kwargs.get("ranges") or "default",
            "trivial": "trivial_wide",
            "auto": "torchvision",
            "augmix": "augmix",
        }[self.kind]
        return specs_for(self.op_names(), table)

    def augment(self, images: np.ndarray, seed: int) -> np.ndarray:
        """The functional op on `images` with `seed`, as a uint8 array."""
        return np.asarray(self.function(images, seed=seed, **self.kwargs))

    def draw(self, batch_size: int, seed: int):
        """The plan the functional op draws for a batch of `batch_size` with `seed`: a
        `randaugment._plan.Plan` (a `MixPlan` for AugMix), from the same sampler,
        seed and arguments."""
        from randaugment import policies

        k = self.kwargs
        seed = args.as_seed(seed)
        batch = tf.constant(batch_size, tf.int32)
        count = len(self.op_names())
        if self.kind == "rand":
            plan = draw_plan(
                seed,
                batch,
                k.get("num_ops", 2),
                count,
                float(k.get("magnitude", 0.5)),
                float(k.get("magnitude_stddev", 0.0)),
                float(k.get("rate", 1.0)),
            )
            if self._applies_nothing():  # rand_augment returns its input
                plan = plan._replace(apply=tf.zeros_like(plan.apply))
            return plan
        if self.kind == "trivial":
            return draw_trivial_plan(seed, batch, count, k.get("num_magnitude_bins", 31))
        if self.kind == "auto":
            _, ops, probabilities, bins = policies._policy_tables(k.get("policy", "imagenet"))
            plan, _ = draw_subpolicy_plan(
                seed,
                batch,
                tf.constant(ops, tf.int32),
                tf.constant(probabilities, tf.float32),
                tf.constant(bins, tf.int32),
                policies.AUTO_AUGMENT_BINS,
            )
            return plan
        return draw_mix_plan(
            seed,
            batch,
            count,
            k.get("width", 3),
            k.get("depth", -1),
            k.get("severity", 3),
            policies.AUGMIX_BINS,
            float(k.get("alpha", 1.0)),
        )

    def _applies_nothing(self) -> bool:
        k = self.kwargs
        magnitude = float(k.get("magnitude", 0.5))
        return (
            k.get("num_ops", 2) == 0
            or float(k.get("rate", 1.0)) == 0.0
            or (magnitude == 0.0 and float(k.get("magnitude_stddev", 0.0)) == 0.0)
        )

    def drawn_ops(self, plan) -> list:
        """Per image, the ops it applied in order: a list of op names; for AugMix a
        pair `(weights, chains)`: the mixing weights (the original's first, fractions
        summing to about 1) and each chain's list of op names."""
        names = self.op_names()
        if self.kind != "augmix":
            op, apply = plan.op.numpy(), plan.apply.numpy()
            return [
                [names[o] for o, a in zip(op[b], apply[b], strict=True) if a]
                for b in range(op.shape[0])
            ]
        op, apply = plan.chains.op.numpy(), plan.chains.apply.numpy()
        weights = plan.weights.numpy() / 2.0**WEIGHT_BITS
        out = []
        for b in range(op.shape[0]):
            chains = [
                [names[o] for o, a in zip(op[b, w], apply[b, w], strict=True) if a]
                for w in range(op.shape[1])
            ]
            out.append((weights[b].tolist(), chains))
        return out


def label_lines(policy: Policy, drawn, width: int, short: bool) -> list[str]:
    """One tile's label, as lines of at most `width` characters."""

    def name(op: str) -> str:
        return SHORT_NAMES.get(op, op) if short else op

    def ops(names: list[str]) -> list[str]:
        return [f"{name(op)}+" for op in names[:-1]] + [name(op) for op in names[-1:]]

    if policy.kind != "augmix":
        return wrap(ops(drawn), width) if drawn else ["no op applied"]
    weights, chains = drawn
    lines = [f"{round(100 * weights[0])}% original"]
    for weight, chain in zip(weights[1:], chains, strict=True):
        lines += wrap([f"{round(100 * weight)}% ", *ops(chain)], width, indent="    ")
    return lines


def tile_labels(policy: Policy, drawn: list, width: int) -> list[list[str]]:
    """Every tile's label lines: with the full op names where that wraps at most one
    line more than the longest label has lines unwrapped, with `SHORT_NAMES` else."""
    if not drawn:
        return []
    full = [label_lines(policy, d, width, short=False) for d in drawn]
    unwrapped = [label_lines(policy, d, 10**6, short=False) for d in drawn]
    if max(map(len, full)) <= max(map(len, unwrapped)) + 1:
        return full
    return [label_lines(policy, d, width, short=True) for d in drawn]


# -- pictures ----------------------------------------------------------------------------

PAD = 6
MIN_CELL = 96  # labels get at least this many pixels of width


def _canvas(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def _title_lines(title: str, width_px: int) -> list[str]:
    pieces = [p + " " for p in title.split(" ")]
    return [line.rstrip() for line in wrap(pieces, max(1, (width_px - 2 * PAD) // ADVANCE))]


@dataclasses.dataclass
class Grid:
    """A grid picture and what is in it.

    Attributes:
        picture: uint8 `[H, W, 3]`.
        tiles: uint8 `[rows * columns, h, w, 3]`: the original, then the augmented
            copies (copy i is image i of one call on `rows * columns - 1` copies).
        boxes: each tile's `(top, left)` in the picture.
        labels: each tile's label lines.
        plan: the plan of the call, from the policy's sampler.
        drawn: per augmented copy, the ops it applied (`Policy.drawn_ops`).
    """

    picture: np.ndarray
    tiles: np.ndarray
    boxes: list[tuple[int, int]]
    labels: list[list[str]]
    plan: object
    drawn: list


def make_grid(image: np.ndarray, policy: Policy, columns: int, rows: int, seed: int) -> Grid:
    """The preview grid: `image` and `rows * columns - 1` augmented copies, labelled."""
    count = rows * columns - 1
    height, width = image.shape[:2]
    copies = np.repeat(image[np.newaxis], max(count, 1), axis=0)
    out = policy.augment(copies, seed)[:count]
    plan = policy.draw(max(count, 1), seed)
    drawn = policy.drawn_ops(plan)[:count]
    cell = max(width, MIN_CELL)
    labels = [["original"]] + tile_labels(policy, drawn, cell // ADVANCE)
    label_height = max(len(lines) for lines in labels) * LINE_HEIGHT + 2
    picture_width = PAD + columns * (cell + PAD)
    title = _title_lines(policy.title(seed), picture_width)
    top0 = PAD + len(title) * LINE_HEIGHT + PAD
    picture = _canvas(top0 + rows * (height + label_height + PAD), picture_width)
    for i, line in enumerate(title):
        draw_text(picture, line, PAD + i * LINE_HEIGHT, PAD, (40, 40, 40))
    tiles = np.concatenate([image[np.newaxis], out])
    boxes = []
    for i, (tile, lines) in enumerate(zip(tiles, labels, strict=True)):
        row, column = divmod(i, columns)
        top = top0 + row * (height + label_height + PAD)
        left = PAD + column * (cell + PAD) + (cell - width) // 2
        picture[top : top + height, left : left + width] = tile
        boxes.append((top, left))
        for j, line in enumerate(lines):
            text_top = top + height + 2 + j * LINE_HEIGHT
            draw_text(picture, line, text_top, PAD + column * (cell + PAD))
    return Grid(picture, tiles, boxes, labels, plan, drawn)


def _parameter_text(spec: OpSpec, magnitude: float, height: int, width: int) -> str:
    if not spec.has_parameter:
        return "no parameter"
    value = float(spec.parameter(magnitude, sign=1.0, height=height, width=width))
    unit = {"degrees": " deg", "pixels": " px", "bits kept": " bits"}.get(spec.unit, "")
    if spec.relative_to or spec.family == "cutout":
        unit = " px"
    return f"{value:.3g}{unit}"


def apply_op(spec: OpSpec, image: np.ndarray, magnitude: float, interpolation: str) -> np.ndarray:
    """`spec`'s kernel on `image` at `magnitude` with sign +1 (cutout centred): uint8."""
    height, width = image.shape[:2]
    batch = tf.constant(image[np.newaxis], tf.float32)
    if not spec.has_parameter:
        return spec.kernel(batch).numpy()[0].astype(np.uint8)
    param = spec.parameter(tf.constant([magnitude], tf.float32), 1.0, height, width)
    if spec.family == "cutout":
        center = tf.constant([[width / 2, height / 2]], tf.float32)
        return spec.kernel(batch, param, center).numpy()[0].astype(np.uint8)
    if spec.family == "geometric":
        out = spec.kernel(batch, param, interpolation=interpolation)
    else:
        out = spec.kernel(batch, param)
    return out.numpy()[0].astype(np.uint8)


def make_sweep(image: np.ndarray, policy: Policy, magnitudes=SWEEP_MAGNITUDES):
    """One row per op of the policy: the op at each magnitude (sign +1), labelled with
    the magnitude and the parameter. Returns `(picture, tiles [ops, M, h, w, 3],
    boxes [ops][M] of (top, left))`."""
    specs = policy.specs()
    interpolation = policy.kwargs.get("interpolation", "nearest")
    height, width = image.shape[:2]
    cell = max(width, MIN_CELL)
    name_width = (max(len(s.name) for s in specs) + 1) * ADVANCE
    picture_width = PAD + name_width + len(magnitudes) * (cell + PAD)
    title = _title_lines(
        f"the ops of {policy.title()} at magnitudes 0 to 1, sign +1", picture_width
    )
    top0 = PAD + len(title) * LINE_HEIGHT + PAD
    row_height = 2 * LINE_HEIGHT + height + PAD
    picture = _canvas(top0 + len(specs) * row_height, picture_width)
    for i, line in enumerate(title):
        draw_text(picture, line, PAD + i * LINE_HEIGHT, PAD, (40, 40, 40))
    tiles = np.zeros((len(specs), len(magnitudes), height, width, 3), np.uint8)
    boxes = []
    for r, spec in enumerate(specs):
        top = top0 + r * row_height
        draw_text(picture, spec.name, top + 2 * LINE_HEIGHT + (height - GLYPH_HEIGHT) // 2, PAD)
        row_boxes = []
        for c, m in enumerate(magnitudes):
            x = PAD + name_width + c * (cell + PAD)
            draw_text(picture, f"m={m:g}", top, x)
            draw_text(picture, _parameter_text(spec, m, height, width), top + LINE_HEIGHT, x)
            tiles[r, c] = apply_op(spec, image, m, interpolation)
            left = x + (cell - width) // 2
            picture[top + 2 * LINE_HEIGHT : top + 2 * LINE_HEIGHT + height, left : left + width] = (
                tiles[r, c]
            )
            row_boxes.append((top + 2 * LINE_HEIGHT, left))
        boxes.append(row_boxes)
    return picture, tiles, boxes


# -- the command -----------------------------------------------------------------------------


class UsageError(Exception):
    """A bad argument or input: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints the usage too: one line is enough here
        raise UsageError(message)


def _grid(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip().lower())
    if not match or not all(1 <= int(v) <= MAX_GRID for v in match.groups()):
        raise argparse.ArgumentTypeError(
            f"must be COLUMNSxROWS, each from 1 to {MAX_GRID}, like 4x4. Received: {text!r}"
        )
    return int(match.group(1)), int(match.group(2))


def _magnitude(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a number in [0, 1], a fraction of each op's maximum (timm's m9 is "
            f"0.9). Received: {text!r}"
        )
    return value


def _count(name: str, low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high}. Received: {text!r}"
            )
        return value

    parse.__name__ = name
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Writes a PNG of augmented copies of one image, each tile labelled "
        "with the ops it drew (top left: the original), and prints its path.",
        epilog="Examples: `%(prog)s`; `%(prog)s photo.jpg --policy trivial --grid 5x3`; "
        "`%(prog)s --timm rand-m9-mstd0.5-inc1`; `%(prog)s --policy augmix --sweep`.",
    )
    parser.add_argument(
        "image",
        nargs="?",
        metavar="IMAGE",
        help="a JPEG, PNG, GIF or BMP file (default: the packaged sample photograph)",
    )
    parser.add_argument(
        "--policy",
        choices=POLICIES,
        help="rand (default): rand_augment; trivial: trivial_augment; augmix: aug_mix; "
        "auto-imagenet, auto-cifar10, auto-svhn: auto_augment with that policy",
    )
    parser.add_argument(
        "--num-ops", type=_count("num_ops", 0, 10), help="rand: ops per image (default 2)"
    )
    parser.add_argument(
        "--magnitude", type=_magnitude, help="rand: magnitude in [0, 1] (default 0.9)"
    )
    parser.add_argument(
        "--timm",
        metavar="STRING",
        help="a timm config string instead of --policy: rand-m9-mstd0.5-inc1, "
        "augmix-m5-w4-d2, trivialaugment",
    )
    parser.add_argument(
        "--grid", type=_grid, help="COLUMNSxROWS of tiles, the original included (default 4x4)"
    )
    parser.add_argument(
        "--seed", type=_count("seed", 0, 2**31 - 1), help="the op's seed (default 0)"
    )
    parser.add_argument(
        "--size",
        type=_count("size", 0, 1024),
        default=128,
        help="resize the image so that its longer side has this many pixels before "
        "augmenting (default 128; 0 keeps its size)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="one row per op of the policy at magnitudes 0, 0.25, 0.5, 0.75 and 1 instead",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        help=f"the PNG to write (default ./{DEFAULT_OUTPUT})",
    )
    return parser


def policy_from_arguments(a) -> Policy:
    """The policy of the parsed command line (`UsageError` for flags that conflict)."""
    if a.timm is not None:
        given = [f for f, v in (("--policy", a.policy), ("--num-ops", a.num_ops)) if v is not None]
        if a.magnitude is not None:
            given.append("--magnitude")
        if given:
            raise UsageError(
                f"--timm sets the policy and its settings: drop {', '.join(given)}. "
                f"Received: --timm {a.timm}"
            )
        return policy_from_timm(a.timm)
    name = a.policy or "rand"
    extra = [
        flag
        for flag, value in (("--num-ops", a.num_ops), ("--magnitude", a.magnitude))
        if value is not None
    ]
    if extra and a.sweep:
        raise UsageError(
            f"{' and '.join(extra)} do not apply with --sweep (it shows every op at "
            "magnitudes 0 to 1)"
        )
    if extra and name != "rand":
        raise UsageError(
            f"{' and '.join(extra)} apply to --policy rand only. Received: --policy {name}"
        )
    if name == "rand":
        num_ops = 2 if a.num_ops is None else a.num_ops
        magnitude = 0.9 if a.magnitude is None else a.magnitude
        kwargs = {"num_ops": num_ops, "magnitude": magnitude}
        return Policy("rand", kwargs, f"num_ops={num_ops}, magnitude={magnitude:g}")
    if name == "trivial":
        return Policy("trivial", {})
    if name == "augmix":
        return Policy("augmix", {}, "severity=3, width=3, depth=-1")
    policy = name.split("-", 1)[1]
    return Policy("auto", {"policy": policy}, f"policy='{policy}'")


def policy_from_timm(config: str) -> Policy:
    """The functional op and arguments of `randaugment.from_timm(config)`'s layer."""
    from randaugment import AugMix, RandAugment, TrivialAugment, from_timm

    try:
        layer = from_timm(config)
    except (TypeError, ValueError) as error:
        raise UsageError(f"--timm: {error}") from None
    common = {"interpolation": layer.interpolation, "fill_value": layer.fill_value}
    if isinstance(layer, RandAugment):
        kwargs = {
            "num_ops": layer.num_ops,
            "magnitude": float(layer.magnitude),
            "magnitude_stddev": float(layer.magnitude_stddev),
            "rate": float(layer.rate),
            "ops": list(layer.ops) if layer.ops is not None else None,
            "ranges": layer.ranges,
            **common,
        }
        return Policy("rand", kwargs, timm=config)
    if isinstance(layer, AugMix):
        kwargs = {
            "severity": layer.severity,
            "width": layer.width,
            "depth": layer.depth,
            "alpha": layer.alpha,
            "all_ops": layer.all_ops,
            **common,
        }
        return Policy("augmix", kwargs, timm=config)
    assert isinstance(layer, TrivialAugment), type(layer)
    kwargs = {"num_magnitude_bins": layer.num_magnitude_bins, **common}
    return Policy("trivial", kwargs, timm=config)


def read_image(path: str | None) -> np.ndarray:
    """The image at `path` (the sample photograph for None) as uint8 RGB `[H, W, 3]`."""
    if path is None:
        from randaugment._sample import sample_image

        return sample_image()
    if not os.path.exists(path):
        raise UsageError(f"IMAGE: no such file: {path!r}")
    if os.path.isdir(path):
        raise UsageError(f"IMAGE: {path!r} is a directory, not an image file")
    with open(path, "rb") as file:
        data = file.read()
    try:
        image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, ValueError):
        raise UsageError(
            f"IMAGE: cannot decode {path!r} as an image (TensorFlow reads JPEG, PNG, GIF and BMP)"
        ) from None
    image = np.asarray(image)
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UsageError(f"IMAGE: {path!r} has no pixels (shape {image.shape})")
    return image


def fit_image(image: np.ndarray, size: int) -> np.ndarray:
    """`image` resized (area-weighted down, bilinear up) so that its longer side is
    `size` pixels; unchanged for `size` 0 or an image of that size already."""
    height, width = image.shape[:2]
    if size == 0 or max(height, width) == size:
        return image
    scale = size / max(height, width)
    shape = [max(1, round(height * scale)), max(1, round(width * scale))]
    resized = tf.image.resize(image, shape, method="area" if scale < 1 else "bilinear")
    return np.asarray(tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8))


def write_png(picture: np.ndarray, path: str) -> str:
    """Writes `picture` (uint8 `[H, W, 3]`) as a PNG; returns the absolute path."""
    data = tf.io.encode_png(tf.constant(picture), compression=9).numpy()
    with open(path, "wb") as file:
        file.write(data)
    return os.path.abspath(path)


def run(argv: Sequence[str]) -> str:
    """Parses `argv`, writes the picture and returns its path (`UsageError` else)."""
    a = build_parser().parse_args(list(argv))
    policy = policy_from_arguments(a)
    if a.sweep:
        wrong = [f for f, v in (("--grid", a.grid), ("--seed", a.seed)) if v is not None]
        if wrong:
            raise UsageError(
                f"{' and '.join(wrong)} do not apply with --sweep (one row per op, sign +1)"
            )
    if not a.output.lower().endswith(".png"):
        raise UsageError(f"--output must name a .png file. Received: --output {a.output}")
    folder = os.path.dirname(os.path.abspath(a.output))
    if not os.path.isdir(folder):
        raise UsageError(f"--output: the folder {folder!r} does not exist")
    image = fit_image(read_image(a.image), a.size)
    try:
        if a.sweep:
            picture = make_sweep(image, policy)[0]
        else:
            columns, rows = a.grid or (4, 4)
            seed = 0 if a.seed is None else a.seed
            picture = make_grid(image, policy, columns, rows, seed).picture
    except ValueError as error:  # the library's own argument checks (e.g. image size)
        raise UsageError(f"cannot augment IMAGE of shape {image.shape}: {error}") from None
    return write_png(picture, a.output)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m randaugment preview`: writes the picture, prints its path.

    Args:
        argv: the arguments after `preview` (default: `sys.argv[1:]`).

    Returns:
        The exit code: 0, or 2 after one line on stderr for a bad argument, a missing
        file or a file that is not an image.

    Example:
        >>> import os, tempfile
        >>> from randaugment.preview import main
        >>> out = os.path.join(tempfile.mkdtemp(), "grid.png")
        >>> main(["--policy", "trivial", "--grid", "3x2", "-o", out])  # doctest: +ELLIPSIS
        /.../grid.png
        0
    """
    try:
        path = run(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0
