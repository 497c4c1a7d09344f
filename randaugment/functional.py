"""`rand_augment`: the functional op."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

from randaugment import _arguments as args
from randaugment._apply import apply_plan
from randaugment._plan import draw_plan
from randaugment._ranges import check_ranges, specs_for
from randaugment._targets import (
    augment_inputs,
    check_box_format,
    check_mask_fill_value,
    passthrough,
)
from randaugment.ops._common import in_xla_context
from randaugment.ops._geometric import MAX_FIXED_POINT_SIDE
from randaugment.table import DEFAULT_OPS


def validate_arguments(
    num_ops,
    magnitude,
    magnitude_stddev,
    rate,
    ops,
    value_range,
    fill_value,
    interpolation,
    method="auto",
):
    """Checks every argument; returns the normalised values. Shared with the layer.

    `magnitude`, `magnitude_stddev` and `rate` may be scalar tensors or variables
    (checked at run time, see `_arguments.runtime_range_checks`).
    """
    num_ops = args.check_num_ops(num_ops)
    magnitude = args.check_number_or_tensor("magnitude", magnitude, 0.0, 1.0)
    magnitude_stddev = args.check_number_or_tensor("magnitude_stddev", magnitude_stddev, 0.0, 1.0)
    rate = args.check_number_or_tensor("rate", rate, 0.0, 1.0)
    ops = args.check_ops(ops, DEFAULT_OPS)
    value_range = args.check_value_range(value_range)
    fill_value = args.check_fill_value(fill_value)
    args.check_interpolation(interpolation)
    args.check_method(method)
    return num_ops, magnitude, magnitude_stddev, rate, ops, value_range, fill_value


def check_fixed_point_size(specs, images, interpolation) -> None:
    """Refuses nearest geometric ops on images beyond the fixed-point warp's limit
    (known from the static shape; unknown sizes are not checked)."""
    shape = tf.TensorShape(images.shape)
    side = max((d for d in shape[-3:-1] if d is not None), default=0) if shape.rank else 0
    geometric = [s.name for s in specs if s.family == "geometric"]
    if geometric and interpolation == "nearest" and side > MAX_FIXED_POINT_SIDE:
        raise ValueError(
            f"The geometric ops ({', '.join(geometric)}) compute coordinates in 32-bit fixed "
            f"point, exact for images up to {MAX_FIXED_POINT_SIDE} pixels a side. Received: "
            f"images.shape={shape}; leave the geometric ops out of `ops` or use "
            'interpolation="bilinear"'
        )


def resolve_method(method: str) -> str:
    """ "auto" is "fused" (static shapes) under XLA and "partition" otherwise."""
    if method == "auto":
        return "fused" if in_xla_context() else "partition"
    if method == "partition" and in_xla_context():
        raise ValueError(
            '`method="partition"` has dynamic shapes and cannot compile with XLA '
            '(jit_compile=True); use method="fused" or "auto". Received: method="partition"'
        )
    return method


@tf.autograph.experimental.do_not_convert
def rand_augment(
    images,
    *,
    num_ops: int = 2,
    magnitude: float = 0.5,
    magnitude_stddev: float = 0.0,
    rate: float = 1.0,
    ops: Sequence[str] | None = None,
    value_range: tuple[float, float] = (0, 255),
    fill_value: float = 128.0,
    interpolation: str = "nearest",
    seed=None,
    method: str = "auto",
    check_numerics: bool = False,
    ranges: str | None = None,
    bounding_box_format: str | None = None,
    mask_fill_value: float = 0,
):
    """Applies RandAugment to a batch of images, drawing the ops per image.

    Each image gets its own `num_ops` ops, drawn uniformly with replacement from `ops`,
    each with its own random sign (for signed ops) and magnitude noise, applied in
    sequence. Pixel results match Pillow's uint8 ops (see `docs/ops.md`).

    Args:
        images: `[B, H, W, C]`, a single image `[H, W, C]`, or a ragged batch
            (`tf.RaggedTensor` `[B, (H), (W), C]`: each image augmented at its own
            size, with the draws it would get at its position in a dense batch; CPU
            only, one image at a time). Any integer dtype (uint8 is the fast path)
            or float16, bfloat16, float32, float64; C = 3 (RGB) or 1 (grayscale).
            Batch size and image size may be unknown when traced. Images with no
            pixels (H or W = 0) are returned as given.
        num_ops: N, the number of ops applied to each image. 0 returns the input.
        magnitude: strength of every op as a fraction of its maximum, in [0, 1]: a
            float, or a scalar tensor or `tf.Variable` (to change it between
            calls without retracing, e.g. a schedule; checked when the op runs).
            From timm's or the TF reference code's M (on a scale of 10): M / 10
            (M=9 -> 0.9). From torchvision's `magnitude` (bins 0..30 with the default
            `num_magnitude_bins=31`): M / 30 (M=9 -> 0.3). keras-cv's `magnitude` is
            already on this scale.
        magnitude_stddev: per-image, per-slot noise on the magnitude (mean 0, this
            standard deviation, an Irwin-Hall approximation of a Gaussian so that it is
            exact in every backend), clipped to [0, 1]. Default 0. A float or a
            scalar tensor, as `magnitude`.
        rate: probability that each slot applies its op. Default 1. A float or a
            scalar tensor, as `magnitude`.
        ops: names of the ops to draw from (see `randaugment.available_ops()`).
            Default: the paper's 14 (`randaugment.DEFAULT_OPS`).
        value_range: `(low, high)` of the input values; (0, 255) by default, (0, 1)
            for images scaled to [0, 1]. The ops work on 256 levels, as PIL's uint8
            images do: float values (and integer values other than uint8 in
            (0, 255)) are clipped into `value_range` and rounded to the nearest of
            256 levels before the ops, and map back as `low + level * (high - low)
            / 255`, rounded to the nearest integer (ties to even) for integer
            dtypes. An image whose levels come out of the ops unchanged (every slot
            skipped, identity, magnitude 0, or ops that cancel out such as two
            inverts) is returned exactly as given, neither clipped nor quantized.
            For integer images, `value_range` must lie within the dtype's range.
        fill_value: whole number in [0, 255] (in uint8 units, whatever `value_range`) of
            pixels uncovered by geometric ops and of cutout. Default 128.
        interpolation: "nearest" (default) or "bilinear", for geometric ops.
        seed: an int, or an int tensor of shape [2] (e.g. a per-batch seed in
            `tf.data`; see the docs on seeds). The same seed gives bit-identical output
            in eager, `tf.function`, `tf.data` and `jit_compile=True`. `None` draws a
            fresh seed on every call from a TF random generator.
        method: "auto" (default), "partition" or "fused": how per-image selection is
            run (see `docs/design.md`). "auto" uses "fused" (static shapes) under XLA,
            "partition" otherwise. Both give the same output for the same seed.
        check_numerics: what to do with float images holding NaN or infinite
            values. False (default): such an image is returned as given, never
            augmented (its values are never turned into levels). True: raise an
            `InvalidArgumentError` when the op runs.
        ranges: the parameter ranges of the ops: None or "default" (this
            library's table, `docs/ops.md`), or another named table of
            `randaugment.RANGES` ("torchvision", "timm", "timm_increasing", ...;
            `docs/policies.md`).

    Returns:
        The augmented images, same shape and dtype as `images`.

    Raises:
        ValueError: for a rank other than 3 or 4, a channel count other than 1 or 3,
            or an argument out of range (the message names it and echoes its value);
            for geometric ops with nearest interpolation on images more than 8192
            pixels a side (known from the static shape; unknown sizes are not
            checked, and results beyond that size are not exact).
        TypeError: for images that do not hold numbers (bool, complex, strings) or
            an argument of the wrong type.
        tf.errors.InvalidArgumentError: when the op runs, for a tensor `magnitude`,
            `magnitude_stddev` or `rate` outside [0, 1] (not under
            `jit_compile=True`: XLA drops assertions), and for non-finite values
            with `check_numerics=True`.

    Example:
        >>> import tensorflow as tf
        >>> from randaugment import rand_augment
        >>> images = tf.zeros([8, 32, 32, 3], tf.uint8)
        >>> out = rand_augment(images, num_ops=2, magnitude=0.9, seed=0)
        >>> out.shape, out.dtype.name
        (TensorShape([8, 32, 32, 3]), 'uint8')

        In a `tf.data` pipeline, give each batch its own seed:

        >>> ds = tf.data.Dataset.from_tensor_slices(tf.zeros([16, 32, 32, 3], tf.uint8))
        >>> ds = ds.batch(4).enumerate().map(
        ...     lambda i, x: rand_augment(x, seed=tf.stack([7, tf.cast(i, tf.int32)])))
        >>> [b.shape[0] for b in ds]
        [4, 4, 4, 4]
    """
    num_ops, magnitude, magnitude_stddev, rate, ops, value_range, fill_value = validate_arguments(
        num_ops,
        magnitude,
        magnitude_stddev,
        rate,
        ops,
        value_range,
        fill_value,
        interpolation,
        method,
    )
    args.check_bool("check_numerics", check_numerics)
    specs = specs_for(ops, check_ranges(ranges))
    box_format = check_box_format(bounding_box_format)
    mask_fill_value = check_mask_fill_value(mask_fill_value)
    if not isinstance(images, (tf.RaggedTensor, Mapping)):
        images = tf.convert_to_tensor(images)
    check_fixed_point_size(specs, _images_of(images), interpolation)

    def zero(value):  # known to be 0 at trace time (tensors are not)
        return isinstance(value, float) and value == 0.0

    nothing = num_ops == 0 or zero(rate) or (zero(magnitude) and zero(magnitude_stddev))
    if nothing:
        return passthrough(images, value_range, box_format, mask_fill_value)
    method = resolve_method(method)
    seed = args.as_seed(seed)
    magnitude, magnitude_stddev, rate = (
        args.as_float32(v) for v in (magnitude, magnitude_stddev, rate)
    )

    def draw(batch_size):
        checks = args.runtime_range_checks(
            magnitude=(magnitude, 0.0, 1.0),
            magnitude_stddev=(magnitude_stddev, 0.0, 1.0),
            rate=(rate, 0.0, 1.0),
        )
        with tf.control_dependencies(checks):
            checked_seed = tf.identity(seed)
        return draw_plan(
            checked_seed, batch_size, num_ops, len(specs), magnitude, magnitude_stddev, rate
        )

    def apply(levels, plan, targets=None):
        return apply_plan(levels, plan, specs, fill_value, interpolation, method, targets)

    return augment_inputs(
        images, value_range, draw, apply, check_numerics, box_format, mask_fill_value
    )


def _images_of(inputs):
    """The images of an input: itself, or a dict's "images" (checked later)."""
    if isinstance(inputs, Mapping):
        images = inputs.get("images")
        return images if hasattr(images, "shape") else tf.zeros([0, 0, 0, 3])
    return inputs
