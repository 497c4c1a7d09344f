"""Shared helpers of the op kernels: argument checks, broadcasting, rounding."""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import control_flow_util

INTERPOLATIONS = ("nearest", "bilinear")


def in_xla_context() -> bool:
    """Whether the code is being traced for XLA (`jit_compile=True`)."""
    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


def floor_divide(numerator: tf.Tensor, denominator) -> tf.Tensor:
    """`floor(n / d)` for non-negative integers held in float64 (below 2**52), exactly
    and the same in every mode.

    A float division is not enough: Grappler (graph mode) and XLA rewrite a division
    by a constant as a multiplication by its reciprocal, one rounding off, which can
    land just below an integer (147 / 98 = 1.5 but 147 * fl(1/98) < 1.5). The
    quotient of the float division is corrected by at most one, with exact integer
    products.
    """
    denominator = tf.convert_to_tensor(denominator, numerator.dtype)
    quotient = tf.floor(numerator / denominator)
    quotient = tf.where(quotient * denominator > numerator, quotient - 1.0, quotient)
    return tf.where((quotient + 1.0) * denominator <= numerator, quotient + 1.0, quotient)


def as_images(images: tf.Tensor, name: str = "images") -> tf.Tensor:
    """Converts `images` to a float32 tensor of rank 4, or raises."""
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
        raise TypeError(
            f"Kernels take float32 images with values in [0, 255]. "
            f"Received: {name}.dtype={images.dtype.name}"
        )
    if images.shape.rank is not None and images.shape.rank != 4:
        raise ValueError(
            f"Kernels take a batch of images of shape [B, H, W, C]. "
            f"Received: {name}.shape={images.shape}"
        )
    return tf.cast(images, tf.float32)


def as_params(params, images: tf.Tensor, name: str) -> tf.Tensor:
    """Converts one parameter per image to float32 `[B]`."""
    params = tf.cast(tf.convert_to_tensor(params), tf.float32)
    if params.shape.rank is not None and params.shape.rank != 1:
        raise ValueError(
            f"`{name}` must hold one value per image, shape [B]. Received: {name}.shape={params.shape}"
        )
    return params


def per_image(params: tf.Tensor) -> tf.Tensor:
    """Reshapes `[B]` to `[B, 1, 1, 1]` so that it broadcasts over pixels."""
    return tf.reshape(params, [-1, 1, 1, 1])


def check_interpolation(interpolation: str) -> str:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}. Received: interpolation={interpolation!r}"
        )
    return interpolation


def check_channels(images: tf.Tensor, allowed: tuple[int, ...], op: str) -> int:
    """Returns the static channel count, checked against `allowed`."""
    channels = images.shape[-1]
    if channels is None:
        raise ValueError(
            f"`{op}` needs a static channel count. Received: images.shape={images.shape}"
        )
    if channels not in allowed:
        raise ValueError(
            f"`{op}` is defined for images with {' or '.join(map(str, allowed))} channels. "
            f"Received: images.shape={images.shape}"
        )
    return channels


# Blend factors are rounded to a multiple of 2**-14. For integer x, d in [0, 255] and
# |factor| < 4, `factor * (x - d)` then has at most 24 significant bits and
# `d + factor * (x - d)` too, so both are exact in float32: no rounding happens, and
# every backend (graph, XLA with its excess precision and fused multiply-adds, GPU)
# gives the same result. PIL, given the rounded factor, computes exactly the same
# thing (its float32 arithmetic is exact too), so the kernels equal
# `ImageEnhance.*.enhance(rounded factor)` bit for bit. With an unrounded factor PIL's
# float32 roundings can land on the other side of an integer: one level of
# difference, on a few percent of pixels at most.
BLEND_FACTOR_BITS = 14


def quantize_factor(factor: tf.Tensor) -> tf.Tensor:
    """Rounds blend factors to the nearest multiple of 2**-14."""
    scale = float(2**BLEND_FACTOR_BITS)
    return tf.round(tf.cast(factor, tf.float32) * scale) / scale


def blend(
    degenerate: tf.Tensor,
    images: tf.Tensor,
    factor: tf.Tensor,
    dtype: tf.DType = tf.float32,
    quantized: bool = False,
) -> tf.Tensor:
    """PIL's `Image.blend(degenerate, image, factor)` on uint8-valued float32 images.

    Returns `clip(floor(d + f * (x - d)), 0, 255)` with f rounded to a multiple of
    2**-14, computed exactly (see `BLEND_FACTOR_BITS`). PIL truncates the float
    result to uint8 (floor, for the values it keeps) and clips when it extrapolates.

    `degenerate` broadcasts against `images` (a scalar, a per-image mean `[B, 1, 1, 1]`,
    a one-channel gray image); `factor` too (per image: `[B, 1, 1, 1]`).

    The result has `dtype`: float32, or uint8, for which the floor is left to the
    cast (it truncates, the floor of these values once clipped to [0, 255]).
    """
    # The degenerate image broadcasts instead of being expanded with zeros_like, which
    # Grappler once mixed up between sibling partitions (docs/design.md).
    degenerate = tf.cast(degenerate, tf.float32)
    factor = factor if quantized else quantize_factor(factor)  # `quantized`: already is
    return clip_levels(degenerate + factor * (images - degenerate), dtype)


def clip_levels(values: tf.Tensor, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """`clip(floor(values), 0, 255)` as `dtype` (float32 or uint8).

    For uint8 the floor is the cast's truncation, after the clip (clipping and flooring
    commute on [0, 255]): one pass fewer.
    """
    if dtype == tf.uint8:
        return tf.cast(tf.clip_by_value(values, 0.0, 255.0), tf.uint8)
    return tf.clip_by_value(tf.floor(values), 0.0, 255.0)


def luminance(images: tf.Tensor) -> tf.Tensor:
    """PIL's RGB to "L" conversion, exact: `(19595 R + 38470 G + 7471 B + 2**15) >> 16`.

    Returns `[B, H, W, 1]`. For one channel it is the identity. Every intermediate is
    an integer below 2**24, so float32 holds it exactly.
    """
    if images.shape[-1] == 1:
        return images
    r, g, b = tf.unstack(images, num=3, axis=-1)
    total = r * 19595.0 + g * 38470.0 + b * 7471.0 + 32768.0
    return tf.floor(total / 65536.0)[..., tf.newaxis]
