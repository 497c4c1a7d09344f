"""`rand_augment`: the functional op."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import tensorflow as tf

from randaugment._apply import apply_plan
from randaugment._plan import draw_plan
from randaugment.ops._common import INTERPOLATIONS, in_xla_context
from randaugment.ops._geometric import MAX_FIXED_POINT_SIDE
from randaugment.table import DEFAULT_OPS, OPS_BY_NAME

METHODS = ("auto", "partition", "fused")
_SUPPORTED_CHANNELS = (1, 3)

# Draws the seed of calls made with seed=None. A TF generator, not Python's random:
# it runs on every call of a traced function rather than freezing at trace time.
_UNSEEDED = None


def nondeterministic_key() -> int:
    """A fresh 63-bit key from the OS, to seed TF generators of unseeded calls.

    (Not `tf.random.Generator.from_non_deterministic_state()`, which raises once TF op
    determinism is enabled; an unseeded call should still work then.)
    """
    return int.from_bytes(os.urandom(8), "little") >> 1


def _unseeded_seed() -> tf.Tensor:
    global _UNSEEDED
    if _UNSEEDED is None:
        with tf.init_scope():
            _UNSEEDED = tf.random.Generator.from_seed(nondeterministic_key())
    return _UNSEEDED.uniform_full_int([2], dtype=tf.int32)


def _in_tf_data() -> bool:
    """Whether the code is being traced for a `tf.data` function (which runs on CPU).

    tf.data names the graphs of its functions "Dataset_..." (TF 2.21); should that
    change, this returns False and a machine with a GPU keeps float32 in `tf.data`:
    slower, never wrong (`tests/test_rand_augment.py` checks the detection).
    """
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        if getattr(graph, "name", "").startswith("Dataset_"):
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


def _work_dtype() -> tf.DType:
    """The dtype the images are held in between ops: the levels are integers in
    [0, 255] either way, so both give bit-identical results.

    uint8 where every op runs on a CPU (a `tf.data` function, or no GPU visible):
    on CPU it moves a quarter of the bytes of float32 and its gathers, casts and
    copies are two to three times faster. float32 where a GPU may run the graph
    (graph mode with a GPU visible, and XLA): TF has no GPU kernels for uint8
    GatherV2, GatherNd or DynamicStitch.
    """
    if in_xla_context():
        return tf.float32
    if _in_tf_data() or not _gpu_visible():
        return tf.uint8
    return tf.float32


def _gpu_visible() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def _check_number(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a float in [{low}, {high}]. Received: {name}={value!r}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}]. Received: {name}={value!r}")
    return float(value)


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
    """Checks every argument; returns the normalised values. Shared with the layer."""
    if isinstance(num_ops, bool) or not isinstance(num_ops, numbers.Integral):
        raise TypeError(f"`num_ops` must be a non-negative integer. Received: num_ops={num_ops!r}")
    if num_ops < 0:
        raise ValueError(f"`num_ops` must be a non-negative integer. Received: num_ops={num_ops!r}")
    magnitude = _check_number("magnitude", magnitude, 0.0, 1.0)
    magnitude_stddev = _check_number("magnitude_stddev", magnitude_stddev, 0.0, 1.0)
    rate = _check_number("rate", rate, 0.0, 1.0)
    if ops is None:
        ops = DEFAULT_OPS
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise TypeError(f"`ops` must be a list of op names. Received: ops={ops!r}")
    ops = tuple(ops)
    if not ops:
        raise ValueError(f"`ops` must name at least one op. Received: ops={ops!r}")
    unknown = [name for name in ops if name not in OPS_BY_NAME]
    if unknown:
        raise ValueError(
            f"Unknown op name(s) {unknown} in `ops`. Valid names: {sorted(OPS_BY_NAME)}. "
            f"Received: ops={list(ops)!r}"
        )
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"`value_range` must be a pair (low, high). Received: value_range={value_range!r}"
        ) from None
    if not low < high or math.isnan(low) or math.isnan(high):
        raise ValueError(
            f"`value_range` must have low < high. Received: value_range={value_range!r}"
        )
    fill_value = _check_number("fill_value", fill_value, 0.0, 255.0)
    if fill_value != int(fill_value):
        raise ValueError(
            "`fill_value` must be a whole number of levels in [0, 255] (images are "
            f"augmented on 256 levels, as PIL's uint8 images). Received: fill_value={fill_value!r}"
        )
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}. "
            f"Received: interpolation={interpolation!r}"
        )
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
    return num_ops, magnitude, magnitude_stddev, rate, ops, (low, high), fill_value


def _as_seed(seed) -> tf.Tensor:
    if seed is None:
        return _unseeded_seed()
    if isinstance(seed, bool):
        raise TypeError(
            f"`seed` must be an int or an int tensor of shape [2]. Received: seed={seed!r}"
        )
    if isinstance(seed, numbers.Integral):
        return tf.constant([int(seed) % (2**31), 0], tf.int32)
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer or (seed.shape.rank is not None and seed.shape != (2,)):
        raise ValueError(
            f"`seed` must be an int or an int tensor of shape [2]. "
            f"Received: seed with dtype {seed.dtype.name} and shape {seed.shape}"
        )
    return tf.cast(seed, tf.int32)


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
) -> tf.Tensor:
    """Applies RandAugment to a batch of images, drawing the ops per image.

    Each image gets its own `num_ops` ops, drawn uniformly with replacement from `ops`,
    each with its own random sign (for signed ops) and magnitude noise, applied in
    sequence. Pixel results match Pillow's uint8 ops (see `docs/ops.md`).

    Args:
        images: `[B, H, W, C]` or a single image `[H, W, C]`; uint8, float16,
            bfloat16, float32 or float64; C = 3 (RGB) or 1 (grayscale). Batch size
            and image size may be unknown when traced.
        num_ops: N, the number of ops applied to each image. 0 returns the input.
        magnitude: strength of every op as a fraction of its maximum, in [0, 1].
            From timm's or the TF reference code's M (on a scale of 10): M / 10
            (M=9 -> 0.9). From torchvision's `magnitude` (bins 0..30 with the default
            `num_magnitude_bins=31`): M / 30 (M=9 -> 0.3). keras-cv's `magnitude` is
            already on this scale.
        magnitude_stddev: per-image, per-slot noise on the magnitude (mean 0, this
            standard deviation, an Irwin-Hall approximation of a Gaussian so that it is
            exact in every backend), clipped to [0, 1]. Default 0.
        rate: probability that each slot applies its op. Default 1.
        ops: names of the ops to draw from (see `randaugment.available_ops()`).
            Default: the paper's 14 (`randaugment.DEFAULT_OPS`).
        value_range: `(low, high)` of the input values; (0, 255) by default, (0, 1)
            for images scaled to [0, 1]. The ops work on 256 levels, as PIL's uint8
            images do: float values are clipped into `value_range` and rounded to the
            nearest of 256 levels before the ops. An image whose levels come out of
            the ops unchanged (every slot skipped, identity, magnitude 0, or ops that
            cancel out such as two inverts) is returned exactly as given, neither
            clipped nor quantized; any other image comes back on the 256 levels of
            `value_range`.
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

    Returns:
        The augmented images, same shape and dtype as `images`.

    Raises:
        ValueError: for a rank other than 3 or 4, a channel count other than 1 or 3,
            or an argument out of range (the message names it and echoes its value);
            for geometric ops with nearest interpolation on images more than 8192
            pixels a side (known from the static shape; unknown sizes are not
            checked, and results beyond that size are not exact).
        TypeError: for a non-numeric image dtype or an argument of the wrong type.

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
    num_ops, magnitude, magnitude_stddev, rate, ops, (low, high), fill_value = validate_arguments(
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
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    if not (dtype.is_floating or dtype == tf.uint8):
        raise TypeError(
            "`images` must be uint8 or float (float16, bfloat16, float32, float64). "
            f"Received: images.dtype={dtype.name}"
        )
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"`images` must have rank 4 [B, H, W, C] or rank 3 [H, W, C]. "
            f"Received: images.shape={images.shape}"
        )
    if images.shape[-1] not in _SUPPORTED_CHANNELS:
        raise ValueError(
            "`images` must have 3 channels (RGB) or 1 (grayscale) as a static last "
            f"dimension. Received: images.shape={images.shape}"
        )
    if dtype == tf.uint8 and (low, high) != (0.0, 255.0):
        raise ValueError(
            f"uint8 images hold values in (0, 255). Received: value_range={value_range!r} "
            "with images.dtype=uint8"
        )
    specs = tuple(OPS_BY_NAME[name] for name in ops)
    side = max((d for d in images.shape[-3:-1] if d is not None), default=0)
    geometric = [s.name for s in specs if s.family == "geometric"]
    if geometric and interpolation == "nearest" and side > MAX_FIXED_POINT_SIDE:
        raise ValueError(
            f"The geometric ops ({', '.join(geometric)}) compute coordinates in 32-bit fixed "
            f"point, exact for images up to {MAX_FIXED_POINT_SIDE} pixels a side. Received: "
            f"images.shape={images.shape}; leave the geometric ops out of `ops` or use "
            'interpolation="bilinear"'
        )
    if num_ops == 0 or (magnitude == 0.0 and magnitude_stddev == 0.0) or rate == 0.0:
        return tf.identity(images)
    if method == "auto":
        method = "fused" if in_xla_context() else "partition"
    elif method == "partition" and in_xla_context():
        raise ValueError(
            '`method="partition"` has dynamic shapes and cannot compile with XLA '
            '(jit_compile=True); use method="fused" or "auto". Received: method="partition"'
        )
    # Grappler's constant folding gave wrong results (graph mode only) when a constant
    # seed let it fold the whole plan into the partition path; a
    # PlaceholderWithDefault is never folded.
    seed = tf.raw_ops.PlaceholderWithDefault(input=_as_seed(seed), shape=[2])
    original = images
    if rank == 3:
        images = images[tf.newaxis]
    work = _work_dtype()
    if dtype == tf.uint8:
        levels = tf.cast(images, work)
    else:
        x = tf.cast(images, tf.float32)
        levels = tf.round((tf.clip_by_value(x, low, high) - low) * (255.0 / (high - low)))
        levels = tf.cast(levels, work)
    plan = draw_plan(
        seed, tf.shape(images)[0], num_ops, len(specs), magnitude, magnitude_stddev, rate
    )
    out = apply_plan(levels, plan, specs, fill_value, interpolation, method)
    if dtype == tf.uint8:
        out = tf.cast(out, tf.uint8)
    else:
        # Back to `value_range` in float64 for float64 input, float32 otherwise. (The
        # `maximum` is a no-op that keeps XLA from fusing a multiply-add.)
        scale_dtype = tf.float64 if dtype == tf.float64 else tf.float32
        scaled = tf.maximum(tf.cast(out, scale_dtype) * ((high - low) / 255.0), -3.0e38) + low
        # Clip in the output dtype: rounding can put a level a hair outside the range.
        scaled = tf.clip_by_value(tf.cast(scaled, dtype), tf.cast(low, dtype), tf.cast(high, dtype))
        # An image that no op changed comes back exactly as it was.
        changed = tf.reduce_any(tf.not_equal(out, levels), axis=[1, 2, 3])
        untouched = tf.reshape(~changed, [-1, 1, 1, 1])
        out = tf.where(untouched, images, scaled)
    if rank == 3:
        out = out[0]
    out.set_shape(original.shape)
    return out
