"""Blends with a degenerate image, as `PIL.ImageEnhance`: color, contrast, sharpness.

(`brightness`, the blend with black, is a per-pixel value map and lives in `_value`.)
"""

from __future__ import annotations

import tensorflow as tf

from randaugment.ops._common import (
    as_images,
    as_params,
    blend,
    check_channels,
    clip_levels,
    floor_divide,
    luminance,
    per_image,
    quantize_factor,
)


def color(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """Blends with the grayscale image, as `PIL.ImageEnhance.Color(img).enhance(factor)`.

    The grayscale image is PIL's "L" conversion (ITU-R 601-2 luma, in integers).

    Args:
        images: float32 `[B, H, W, C]` with C = 3 (RGB) or C = 1 (then the identity),
            values in [0, 255].
        factor: float32 `[B]`. 1 is the identity, 0 gives grayscale, above 1
            saturates.

    Raises:
        ValueError: for a channel count other than 1 or 3.
    """
    images = as_images(images)
    if check_channels(images, (1, 3), "color") == 1:
        return images
    factor = per_image(as_params(factor, images, "factor"))
    return blend(luminance(images), images, factor)


def contrast_means(images: tf.Tensor) -> tf.Tensor:
    """PIL's `int(mean(L) + 0.5)` of each image's grayscale, float32 `[B]`."""
    gray = luminance(images)  # integers in [0, 255]
    height, width = images.shape[1], images.shape[2]
    if height is not None and width is not None and height * width * 255 < 2**24:
        # Every partial sum is an integer below 2**24: exact in float32, in any order.
        total = tf.cast(tf.reduce_sum(gray, axis=[1, 2, 3]), tf.float64)
        count = float(max(height * width, 1))
    else:
        total = tf.reduce_sum(tf.cast(gray, tf.float64), axis=[1, 2, 3])
        count = tf.maximum(tf.cast(tf.reduce_prod(tf.shape(gray)[1:3]), tf.float64), 1.0)
    # int(total / count + 0.5) = floor((2 total + count) / (2 count)), exactly.
    return tf.cast(floor_divide(2.0 * total + count, 2.0 * count), tf.float32)


def contrast_values(
    x: tf.Tensor, means: tf.Tensor, factor: tf.Tensor, dtype=tf.float32, quantized=False
):
    """The contrast blend given the per-image grayscale means; all args broadcast."""
    return blend(means, x, factor, dtype, quantized)


def contrast(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """Blends with the image's mean gray, as `PIL.ImageEnhance.Contrast(img).enhance(factor)`.

    The degenerate image is flat at `int(mean + 0.5)` of the grayscale image, in every
    channel.

    Args:
        images: float32 `[B, H, W, C]` with C = 3 or C = 1, values in [0, 255].
        factor: float32 `[B]`. 1 is the identity, 0 gives flat gray.

    Raises:
        ValueError: for a channel count other than 1 or 3.
    """
    images = as_images(images)
    check_channels(images, (1, 3), "contrast")
    factor = per_image(as_params(factor, images, "factor"))
    return contrast_values(images, per_image(contrast_means(images)), factor)


def _interior_mask(images: tf.Tensor) -> tf.Tensor:
    """1.0 inside the one-pixel border, 0.0 on it: float32 `[1, H, W, 1]`."""
    height = tf.shape(images)[1]
    width = tf.shape(images)[2]
    y = tf.range(height)[:, tf.newaxis]
    x = tf.range(width)[tf.newaxis, :]
    interior = (y > 0) & (y < height - 1) & (x > 0) & (x < width - 1)
    return tf.cast(interior, tf.float32)[tf.newaxis, :, :, tf.newaxis]


def _smoothed_interior(images: tf.Tensor) -> tf.Tensor:
    """PIL's SMOOTH value at every pixel, valid inside the one-pixel border.

    The interior value is `round(S / 13)` for the integer weighted sum S (a sum / 13 is
    never exactly half-way), i.e. `floor(S / 13 + 0.5)`. S / 13 lies at least 0.5 / 13
    away from the floor's breakpoints, so the float32 rounding of the average pool and
    of the constants 9/13 and 4/13 (all below 1e-4 here) cannot move it across one.
    The 3x3 box sum comes from an average pool (one optimised pass, with GPU and XLA
    kernels; no depthwise convolution, which crashed on GPU in the original TF code).
    """
    average = tf.nn.avg_pool2d(images, ksize=3, strides=1, padding="SAME")
    return tf.floor(average * (9.0 / 13.0) + images * (4.0 / 13.0) + 0.5)


def _smoothed_interior_summed(images: tf.Tensor) -> tf.Tensor:
    """`_smoothed_interior` from a 3x3 box sum of shifted slices: `round(S / 13)` with
    S = box sum + 4 x, an integer below 2**12, so float32 holds it exactly and the
    rounding is that of the exact quotient (never half-way).

    More passes over the pixels than the average pool, but no fixed cost per call:
    on CPU the pool (a oneDNN primitive) costs tens of microseconds however few
    the images, which is what a family of a few images per slot pays.
    """
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]  # [B, H, W + 2, C]
    box = rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]  # [B, H, W, C]
    return tf.floor((box + 4.0 * images) / 13.0 + 0.5)


def smooth(images: tf.Tensor) -> tf.Tensor:
    """PIL's `ImageFilter.SMOOTH` (3x3 kernel [[1,1,1],[1,5,1],[1,1,1]] / 13).

    Like PIL, the one-pixel border is copied unchanged (so images smaller than 3x3 are
    returned as they are), and the interior is `round(sum / 13)`, exactly.
    """
    # A 0/1 mask and arithmetic (exact on integers): SelectV2 with broadcasting is
    # several times slower on CPU.
    return images + _interior_mask(images) * (_smoothed_interior(images) - images)


def sharpen(images: tf.Tensor, factor: tf.Tensor, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """`blend(smooth(images), images, factor)`, in fewer passes over the pixels.

    With s the smoothed value and m the interior mask, PIL's blend of the degenerate
    image d = x + m (s - x) is d + f (x - d) = x + (1 - f) m (s - x). With f on the
    2**-14 grid (see `quantize_factor`) both forms are exact in float32, so they are
    equal bit for bit; this one never builds d.
    """
    # [B, H, W, C]: the mask is expanded to the channels on one image, then the weight
    # broadcasts along the batch; a [B, H, W, 1] weight would broadcast along the
    # channels, several times slower on CPU.
    return sharpen_weighted(images, 1.0 - quantize_factor(factor), dtype)


def interior_mask(images: tf.Tensor) -> tf.Tensor:
    """`_interior_mask` expanded to every channel, float32 `[1, H, W, C]`."""
    return tf.broadcast_to(_interior_mask(images), tf.concat([[1], tf.shape(images)[1:]], 0))


def sharpen_weighted(
    images: tf.Tensor,
    weight: tf.Tensor,
    dtype: tf.DType = tf.float32,
    mask=None,
    box_sum: bool = False,
) -> tf.Tensor:
    """`sharpen` given `weight = 1 - quantize_factor(factor)`, `[B, 1, 1, 1]`, and
    `mask = interior_mask(images)` when already computed. `box_sum`: smooth with
    shifted slices instead of an average pool (same values; cheaper for a few
    images on CPU, dearer for many)."""
    mask = interior_mask(images) if mask is None else mask
    smoothed = _smoothed_interior_summed(images) if box_sum else _smoothed_interior(images)
    return clip_levels(images + (weight * mask) * (smoothed - images), dtype)


def sharpness(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """Blends with the smoothed image, as `PIL.ImageEnhance.Sharpness(img).enhance(factor)`.

    Works channel by channel for any channel count. The one-pixel border is unchanged
    (PIL's filter leaves it as is), so images smaller than 3x3 are returned unchanged.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        factor: float32 `[B]`. 1 is the identity, 0 gives the smoothed image, above 1
            sharpens.
    """
    images = as_images(images)
    factor = per_image(as_params(factor, images, "factor"))
    return sharpen(images, factor)
