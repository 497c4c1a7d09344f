"""The op table: one record per op, written once as data.

The samplers (`rand_augment` and the other policies), the engine, the docs page
`docs/ops.md` and the completeness tests are all derived from `OPS`. A record says which
kernel runs, which family applies it, the family-specific formula the engine uses
(an affine matrix, a value table, a bit triple or a histogram table: the engine knows
families, never op names), and how a magnitude m in [0, 1] becomes the kernel's
parameter:

    parameter = low + sign * (high - low) * m        (sign = +-1 if `signed`, else +1)

then, where set, multiplied by the image width or height (`relative_to`) and rounded
(`rounded`). Magnitude 0 gives `low`, the identity, for every op; the strength grows
with m. Changing a range changes users' results: it is a breaking change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import tensorflow as tf

from randaugment import ops
from randaugment.ops import _geometric, _value

#: How a parameter is rounded to an integer, by `OpSpec.rounding`.
ROUNDINGS = {"nearest": tf.round, "down": tf.math.floor, "up": tf.math.ceil}


@dataclass(frozen=True)
class OpSpec:
    """One RandAugment op.

    Attributes:
        name: the op's one spelling, everywhere (config, errors, docs).
        kernel: `randaugment.ops.<name>`.
        family: which family function applies it (see `randaugment._apply`):
            "identity", "geometric" (one affine warp), "lut" (a per-pixel value map:
            one 256-entry table per image; on uint8 images posterize, solarize and
            invert run as bit operations and brightness as a multiply instead),
            "histogram" (a value map built from the image's histograms), "contrast"
            (a blend with its mean gray), "color", "sharpness" or "cutout".
        low: the parameter at magnitude 0 (the identity), or None for ops without one.
        high: the parameter at magnitude 1.
        signed: whether a random sign flips the deviation from `low`.
        relative_to: None, "width", "height" or "shorter side": the parameter is a
            fraction of that side, in pixels once multiplied.
        rounded: whether the parameter is rounded to an integer (posterize's bits).
        rounding: how, when `rounded`: "nearest" (ties to even; the default),
            "down" or "up" (some policies' tables truncate, e.g. timm's).
        unit: what the parameter means, for the docs.
        default: whether the op is one of the paper's 14 (drawn by default).
        affine: geometric ops: `(params float64 [B], height, width)` -> PIL's affine
            coefficients, float64 `[B, 6]` (the warp's sampling map; boxes go
            through its inverse).
        table: value-map ops: `(levels float32 [B, 256], params [B, 1])` -> the
            256-entry table of each image, `[B, 256]`.
        bits: ops that are bit operations on uint8 images, `(x & keep) ^ (flip *
            (x >= threshold))`: `params [B]` -> `(keep, threshold, flip)`, float32
            `[B]` each.
        histogram_table: histogram ops: `(hist int32 [..., 256], (lo, hi), dtype)` ->
            tables `[..., 256]` (lo, hi: the lowest and highest non-empty bins).
        uint8_family: the family on uint8 images, where a cheaper one exists ("bits"
            for posterize, solarize and invert; "scale", a multiply, for
            brightness); None: `family`.
    """

    name: str
    kernel: Callable
    family: str
    low: float | None = None
    high: float | None = None
    signed: bool = False
    relative_to: str | None = None
    rounded: bool = False
    rounding: str = "nearest"
    unit: str = ""
    default: bool = True
    affine: Callable | None = None
    table: Callable | None = None
    bits: Callable | None = None
    histogram_table: Callable | None = None
    uint8_family: str | None = None

    def family_for(self, dtype: tf.DType) -> str:
        """The family that applies this op to images held in `dtype`."""
        if dtype == tf.uint8 and self.uint8_family is not None:
            return self.uint8_family
        return self.family

    def with_range(self, low: float, high: float, **changes) -> OpSpec:
        """The same op with another parameter range (a policy's table): `low` at
        magnitude 0, `high` at magnitude 1, and any other field in `changes`
        (`relative_to`, `signed`, `rounded`, `rounding`, `unit`)."""
        if not self.has_parameter:
            raise ValueError(f"Op {self.name!r} has no parameter, so no range.")
        return replace(self, low=float(low), high=float(high), **changes)

    @property
    def has_parameter(self) -> bool:
        return self.low is not None

    def parameter(self, magnitude, sign=1.0, height=None, width=None) -> tf.Tensor:
        """The kernel parameter for `magnitude` (float or float32 tensor), as float32.

        Args:
            magnitude: in [0, 1], scalar or `[B]`.
            sign: +1 or -1 (ignored unless `signed`), broadcasting with `magnitude`.
            height, width: image size, needed when `relative_to` is set.
        """
        if not self.has_parameter:
            raise ValueError(f"Op {self.name!r} has no parameter.")
        magnitude = tf.cast(magnitude, tf.float32)
        sign = tf.cast(sign, tf.float32) if self.signed else 1.0
        # The `maximum`s are no-ops that keep compilers from fusing a product into the
        # following add (one rounding instead of two), so that every backend computes
        # the same parameter bit for bit.
        value = self.low + tf.maximum(sign * (self.high - self.low) * magnitude, -3.0e38)
        if self.relative_to is not None:
            if self.relative_to == "shorter side" and height is not None and width is not None:
                side = tf.minimum(tf.cast(height, tf.float32), tf.cast(width, tf.float32))
            else:
                side = {"width": width, "height": height}.get(self.relative_to)
            if side is None:
                raise ValueError(f"Op {self.name!r} needs the image {self.relative_to}.")
            value = tf.maximum(value * tf.cast(side, tf.float32), -3.0e38)
        if self.rounded:
            value = ROUNDINGS[self.rounding](value)
        return value

    def describe_range(self) -> str:
        """The parameter at magnitudes 0 and 1, in words (for the docs)."""
        if not self.has_parameter:
            return "no parameter"
        sign = "+-" if self.signed else ""
        high = (
            f"{sign}{self.high - self.low:g}"
            if self.signed and self.low
            else f"{sign}{self.high:g}"
        )
        low = f"{self.low:g}"
        if self.signed and self.low:
            span = f"{low} {high}"
        else:
            span = high
        rel = f" x image {self.relative_to}" if self.relative_to else ""
        rnd = ""
        if self.rounded:
            rnd = ", rounded" if self.rounding == "nearest" else f", rounded {self.rounding}"
        return f"{low} -> {span}{rel}{rnd}"


OPS: tuple[OpSpec, ...] = (
    OpSpec("identity", ops.identity, "identity"),
    OpSpec(
        "auto_contrast",
        ops.auto_contrast,
        "histogram",
        histogram_table=_value.auto_contrast_tables,
    ),
    OpSpec("equalize", ops.equalize, "histogram", histogram_table=_value.equalize_tables),
    OpSpec(
        "rotate",
        ops.rotate,
        "geometric",
        0.0,
        30.0,
        signed=True,
        unit="degrees",
        affine=_geometric.rotation_coefficients,
    ),
    OpSpec(
        "shear_x",
        ops.shear_x,
        "geometric",
        0.0,
        0.3,
        signed=True,
        unit="shear factor",
        affine=_geometric.shear_x_coefficients,
    ),
    OpSpec(
        "shear_y",
        ops.shear_y,
        "geometric",
        0.0,
        0.3,
        signed=True,
        unit="shear factor",
        affine=_geometric.shear_y_coefficients,
    ),
    # 0.45 of the side: torchvision uses 150/331, the TF code 100/224.
    OpSpec(
        "translate_x",
        ops.translate_x,
        "geometric",
        0.0,
        0.45,
        signed=True,
        relative_to="width",
        unit="pixels",
        affine=_geometric.translate_x_coefficients,
    ),
    OpSpec(
        "translate_y",
        ops.translate_y,
        "geometric",
        0.0,
        0.45,
        signed=True,
        relative_to="height",
        unit="pixels",
        affine=_geometric.translate_y_coefficients,
    ),
    OpSpec(
        "brightness",
        ops.brightness,
        "lut",
        1.0,
        1.9,
        signed=True,
        unit="enhance factor",
        table=_value.brightness_values,
        uint8_family="scale",
    ),
    OpSpec("color", ops.color, "color", 1.0, 1.9, signed=True, unit="enhance factor"),
    OpSpec("contrast", ops.contrast, "contrast", 1.0, 1.9, signed=True, unit="enhance factor"),
    OpSpec("sharpness", ops.sharpness, "sharpness", 1.0, 1.9, signed=True, unit="enhance factor"),
    OpSpec(
        "posterize",
        ops.posterize,
        "lut",
        8.0,
        4.0,
        rounded=True,
        unit="bits kept",
        table=_value.posterize_values,
        bits=_value.posterize_bits,
        uint8_family="bits",
    ),
    OpSpec(
        "solarize",
        ops.solarize,
        "lut",
        256.0,
        0.0,
        unit="threshold",
        table=_value.solarize_values,
        bits=_value.solarize_bits,
        uint8_family="bits",
    ),
    # Opt-in extras of the original TF code.
    OpSpec(
        "invert",
        ops.invert,
        "lut",
        default=False,
        table=_value.invert_values,
        bits=_value.invert_bits,
        uint8_family="bits",
    ),
    OpSpec(
        "solarize_add",
        ops.solarize_add,
        "lut",
        0.0,
        110.0,
        unit="added to pixels < 128",
        default=False,
        table=_value.solarize_add_values,
    ),
    # Side of the square, 0.4 of the shorter side at magnitude 1 (the TF code used
    # a side of 80 pixels at 224x224, 0.36).
    OpSpec(
        "cutout",
        ops.cutout,
        "cutout",
        0.0,
        0.4,
        relative_to="shorter side",
        unit="side in pixels (fraction of the shorter side)",
        default=False,
    ),
)

OPS_BY_NAME: dict[str, OpSpec] = {spec.name: spec for spec in OPS}

IDENTITY: OpSpec = OPS_BY_NAME["identity"]

DEFAULT_OPS: tuple[str, ...] = tuple(spec.name for spec in OPS if spec.default)
GEOMETRIC_OPS: tuple[str, ...] = tuple(spec.name for spec in OPS if spec.family == "geometric")


def available_ops() -> tuple[str, ...]:
    """Names of every op in the table, the paper's 14 first.

    Example:
        >>> import randaugment
        >>> randaugment.available_ops()[:3]
        ('identity', 'auto_contrast', 'equalize')
    """
    return tuple(OPS_BY_NAME)
