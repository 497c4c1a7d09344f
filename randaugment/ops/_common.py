"""Shared helpers of the op kernels: argument checks, broadcasting, rounding."""

from __future__ import annotations

import tensorflow as tf

INTERPOLATIONS = ("nearest", "bilinear")


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


def blend(degenerate: tf.Tensor, images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """PIL's `Image.blend(degenerate, image, factor)` on uint8-valued float32 images.

    PIL computes `temp = d + f * (x - d)` in float32 (two roundings: the product, then
    the sum), truncates to uint8 and clips when it extrapolates. The same two
    roundings are reproduced here exactly, whatever the backend: the product and the
    sum are computed in float64, where they are exact, and each is rounded to float32
    by a cast. A fused multiply-add (which XLA and GPUs may use for `d + f * (x - d)`)
    cannot change the result, because nothing is left to round inside float64.
    `factor` broadcasts against the images (per image: `[B, 1, 1, 1]`).
    """
    # `degenerate` broadcasts (a scalar, a per-image mean, a 1-channel gray image).
    # No zeros_like() of a partition here: Grappler's symbolic shapes treat all
    # outputs of a dynamic_partition alike and mixed them up once.
    degenerate = tf.cast(degenerate, tf.float32)
    diff = tf.cast(images - degenerate, tf.float64)
    factor = tf.cast(tf.cast(factor, tf.float32), tf.float64)
    product = tf.cast(tf.cast(factor * diff, tf.float32), tf.float64)
    out = tf.cast(tf.cast(degenerate, tf.float64) + product, tf.float32)
    return tf.clip_by_value(tf.floor(out), 0.0, 255.0)


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
