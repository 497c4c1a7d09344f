"""Per-pixel value maps: the ops whose output pixel depends only on the input pixel
(and, for auto_contrast and equalize, on the image's own histogram).

Every function here maps uint8-valued float32 images to uint8-valued float32 images
and works channel by channel, for any number of channels.
"""

from __future__ import annotations

import tensorflow as tf

from randaugment.ops._common import (
    as_images,
    as_params,
    blend,
    floor_divide,
    in_xla_context,
    per_image,
)

_BINS = 256


def identity(images: tf.Tensor) -> tf.Tensor:
    """Returns the images unchanged.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].

    Returns:
        The same images.
    """
    return as_images(images)


def invert_values(x: tf.Tensor, unused_param=None) -> tf.Tensor:
    return 255.0 - x


def invert_bits(param: tf.Tensor):
    """invert on uint8 as bit operations: `(255, 0, 255)`, x ^ 255 for every value."""
    full = tf.fill(tf.shape(param), 255.0)
    return full, tf.zeros_like(full), full


def invert(images: tf.Tensor) -> tf.Tensor:
    """`255 - x` on every pixel, as `PIL.ImageOps.invert`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
    """
    return invert_values(as_images(images))


def posterize_values(x: tf.Tensor, bits: tf.Tensor) -> tf.Tensor:
    """Keeps the `bits` high bits of each value; `bits` broadcasts against `x`."""
    bits = tf.clip_by_value(tf.round(bits), 0.0, 8.0)
    # 2 ** (8 - bits) from a table: tf.pow is not exact in every mode.
    steps = tf.constant([2.0 ** (8 - b) for b in range(9)], tf.float32)
    step = tf.gather(steps, tf.cast(bits, tf.int32))
    return tf.floor(x / step) * step


# posterize keeps the high bits, x & (256 - 2**(8 - bits)): from a table (no tf.pow).
_KEEP_MASKS = tuple(256.0 - 2 ** (8 - b) for b in range(9))


def posterize_bits(bits: tf.Tensor):
    """posterize on uint8 as `(x & keep) ^ (flip * (x >= threshold))`: `(keep, 0, 0)`,
    with `bits` rounded and clipped as in `posterize_values`. float32 `[B]` each."""
    bits = tf.cast(tf.clip_by_value(tf.round(bits), 0.0, 8.0), tf.int32)
    keep = tf.gather(tf.constant(_KEEP_MASKS, tf.float32), bits)
    return keep, tf.zeros_like(keep), tf.zeros_like(keep)


def posterize(images: tf.Tensor, bits: tf.Tensor) -> tf.Tensor:
    """Keeps the `bits` most significant bits of every value, as `PIL.ImageOps.posterize`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        bits: float32 `[B]`, bits kept per image, rounded to the nearest integer
            (half to even) and clipped to [0, 8]. 8 is the identity, 0 gives black.
    """
    images = as_images(images)
    return posterize_values(images, per_image(as_params(bits, images, "bits")))


def solarize_values(x: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
    return tf.where(x >= threshold, 255.0 - x, x)


def solarize_bits(threshold: tf.Tensor):
    """solarize on uint8 as bit operations: `(255, t, 255)`, inverting (x ^ 255) the
    values >= the threshold, i.e. >= ceil(threshold); a threshold above 255 inverts
    none (then `(255, 255, 0)`)."""
    threshold = tf.clip_by_value(tf.math.ceil(threshold), 0.0, 256.0)
    flip = tf.where(threshold <= 255.0, 255.0, 0.0)
    return tf.fill(tf.shape(threshold), 255.0), tf.minimum(threshold, 255.0), flip


def solarize(images: tf.Tensor, threshold: tf.Tensor) -> tf.Tensor:
    """Inverts every value `>= threshold`, as `PIL.ImageOps.solarize`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        threshold: float32 `[B]`. 256 (or more) is the identity, 0 inverts everything.
    """
    images = as_images(images)
    return solarize_values(images, per_image(as_params(threshold, images, "threshold")))


def solarize_add_values(x: tf.Tensor, addition: tf.Tensor, threshold: float = 128.0):
    added = tf.clip_by_value(x + tf.round(addition), 0.0, 255.0)
    return tf.where(x < threshold, added, x)


def solarize_add(images: tf.Tensor, addition: tf.Tensor, threshold: float = 128.0) -> tf.Tensor:
    """Adds `addition` to every value below `threshold`, clipped to [0, 255].

    The `solarize_add` op of the original TF RandAugment code (which used an integer
    addition); there is no PIL counterpart.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        addition: float32 `[B]`, rounded to the nearest integer (half to even). 0 is
            the identity.
        threshold: values `< threshold` are changed. Default 128.
    """
    images = as_images(images)
    return solarize_add_values(
        images, per_image(as_params(addition, images, "addition")), threshold
    )


def brightness_values(x: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    return blend(0.0, x, factor)


def brightness(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """Blends with a black image, as `PIL.ImageEnhance.Brightness(img).enhance(factor)`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        factor: float32 `[B]`. 1 is the identity, 0 gives black, above 1 brightens
            (clipped to 255).
    """
    images = as_images(images)
    return brightness_values(images, per_image(as_params(factor, images, "factor")))


# ---------------------------------------------------------------------------------
# Histogram-based maps: auto_contrast and equalize. Both are a 256-entry table per
# image and channel, built with PIL's own integer/float64 formulas, applied with one
# gather. The histogram is a segment sum (DESIGN.md section 5: no HistogramFixedWidth).


def channel_offsets(height, width, channels) -> tf.Tensor:
    """`c * 256` at every value of channel c of one flattened image: int32 `[1, H W C]`."""
    return tf.tile(tf.range(channels) * _BINS, tf.reshape(height * width, [1]))[tf.newaxis, :]


def table_index(images: tf.Tensor, channel: tf.Tensor | None = None) -> tf.Tensor:
    """Each value's entry in the flattened `[B, C, 256]` tables: `(b C + c) 256 + x`.

    int32 `[B, H, W, C]`; shared by `histograms` and `apply_tables` so that a family
    that needs both computes it once. `channel` is `channel_offsets(H, W, C)`, when
    already computed.
    """
    shape = tf.shape(images)
    batch = shape[0]
    channels = images.shape[-1] if images.shape[-1] is not None else shape[3]
    # Two adds whose broadcasts run along whole rows: the channel offsets of one image
    # [1, H W C] (period C) and the image offsets [B, 1]. (Adding [B, 1, 1, C] offsets
    # in one go broadcasts along an inner dimension of C, which Eigen does several
    # times slower than the cast and both adds together.)
    if channel is None:
        channel = channel_offsets(shape[1], shape[2], channels)
    image = (tf.range(batch) * (channels * _BINS))[:, tf.newaxis]
    index = tf.reshape(tf.cast(images, tf.int32), tf.stack([batch, -1])) + channel + image
    return tf.reshape(index, shape)  # the values are already integers


def histograms(images: tf.Tensor, index: tf.Tensor | None = None) -> tf.Tensor:
    """Per image and channel histograms of uint8-valued images: int32 `[B, C, 256]`.

    `index` is `table_index(images)`, when already computed.
    """
    shape = tf.shape(images)
    batch, channels = shape[0], shape[3]
    ids = tf.reshape(table_index(images) if index is None else index, [-1])
    size = batch * channels * _BINS
    if in_xla_context():
        # Bincount has no XLA kernel; a segment sum has (and the counts are the same).
        counts = tf.math.unsorted_segment_sum(tf.cast(ids >= 0, tf.int32), ids, size)
    else:
        # The op itself: `tf.math.bincount` first reduces the whole input to its
        # maximum (a full pass) to size the output, which is known here.
        counts = tf.raw_ops.DenseBincount(
            input=ids, size=size, weights=tf.zeros([0], tf.int32), binary_output=False
        )
    return tf.reshape(counts, [batch, channels, _BINS])


def apply_tables(images: tf.Tensor, tables: tf.Tensor, index: tf.Tensor | None = None):
    """Maps every value through its image's and channel's table.

    Args:
        images: uint8-valued `[B, H, W, C]`, float32 or uint8.
        tables: `[B, C, 256]`, the dtype of `images`.
        index: `table_index(images)`, when already computed.
    """
    index = table_index(images) if index is None else index
    # gather_nd of scalars is about twice as fast as gather on CPU.
    out = tf.gather_nd(tf.reshape(tables, [-1]), index[..., tf.newaxis])
    out.set_shape(images.shape)
    return out


def apply_image_tables(images: tf.Tensor, tables: tf.Tensor) -> tf.Tensor:
    """Maps every value through its image's table, the same for all channels.

    Args:
        images: uint8-valued `[B, H, W, C]`, float32 or uint8.
        tables: `[B, 256]`, the dtype of `images`.
    """
    offsets = tf.reshape(tf.range(tf.shape(images)[0]) * _BINS, [-1, 1, 1, 1])
    index = tf.cast(images, tf.int32) + offsets
    out = tf.gather_nd(tf.reshape(tables, [-1]), index[..., tf.newaxis])
    out.set_shape(images.shape)
    return out


def bin_range(hist: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Lowest and highest non-empty bin of each histogram, as float32 (no int ArgMax)."""
    bins = tf.range(_BINS, dtype=tf.float32)
    present = hist > 0
    lo = tf.reduce_min(tf.where(present, bins, 255.0), axis=-1)
    hi = tf.reduce_max(tf.where(present, bins, 0.0), axis=-1)
    return lo, hi


def auto_contrast_tables(hist: tf.Tensor, bins=None, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """PIL's `ImageOps.autocontrast` tables (cutoff 0) for int32 histograms `[..., 256]`,
    as `dtype`.

    `bins` is `bin_range(hist)`, when already computed.

    PIL computes `int(ix * scale + offset)` in float64 with `scale = 255 / (hi - lo)` and
    `offset = -lo * scale`; the same float64 operations are done here so that the
    results agree exactly, including where the product lands just below an integer.
    """
    lo, hi = bin_range(hist) if bins is None else bins
    lo = tf.cast(lo, tf.float64)[..., tf.newaxis]
    hi = tf.cast(hi, tf.float64)[..., tf.newaxis]
    stretch = hi > lo
    scale = 255.0 / tf.where(stretch, hi - lo, 1.0)
    offset = -lo * scale
    ix = tf.range(_BINS, dtype=tf.float64)
    # PIL rounds the product and the sum separately. XLA (and GPU compilers) may fuse
    # `ix * scale + offset` into one fused multiply-add with a single rounding, which
    # changes the result where it lands on an integer. A `maximum` that cannot change
    # the (non-negative) product stands between the multiply and the add, so that no
    # backend can contract them.
    product = tf.maximum(ix * scale, -1.0)
    offset = tf.maximum(offset, -1.0e6)
    value = tf.clip_by_value(tf.floor(product + offset), 0.0, 255.0)
    return tf.cast(tf.where(stretch, value, ix), dtype)


def auto_contrast(images: tf.Tensor) -> tf.Tensor:
    """Stretches each channel to the full range, as `PIL.ImageOps.autocontrast(img)`.

    The darkest value of each channel becomes 0 and the brightest 255; a channel with
    one value only is left unchanged.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
    """
    images = as_images(images)
    return apply_tables(images, auto_contrast_tables(histograms(images)))


def _strictly_upper(n: int) -> tf.Tensor:
    """float64 `[n, n]`, 1 above the diagonal: `x @ it` sums the entries before each."""
    return tf.constant([[float(j > i) for j in range(n)] for i in range(n)], tf.float64)


def _exclusive_cumsum(hist: tf.Tensor) -> tf.Tensor:
    """Count of values below each bin, float64 `[..., 256]`, exact.

    Under XLA, a matmul with a strictly upper triangular matrix of ones (XLA's cumsum
    over 256 bins was slow on CPU), in float64: exact for any count, and immune to
    TF32, in which GPUs since Ampere run float32 matmuls by default (10-bit mantissas:
    counts above 2048 would be rounded). Otherwise the same in blocks of 16 bins
    (cheaper).
    """
    flat = tf.reshape(tf.cast(hist, tf.float64), [-1, _BINS])
    if not in_xla_context():
        # In blocks of 16 bins: the counts below each bin within its block, plus the
        # counts of the blocks before it (two small products, 8 nodes). TF's Cumsum
        # kernel costs about as much for a few hundred short rows as for a long one;
        # at small image sizes it was the dearest node of the histogram family.
        strictly_upper = _strictly_upper(16)
        blocks = tf.reshape(flat, [-1, 16, 16])
        within = tf.matmul(blocks, strictly_upper)
        before = tf.matmul(tf.reduce_sum(blocks, axis=-1), strictly_upper)
        return tf.reshape(within + before[..., tf.newaxis], tf.shape(hist))
    strictly_upper = _strictly_upper(_BINS)
    return tf.reshape(tf.matmul(flat, strictly_upper), tf.shape(hist))


def equalize_tables(hist: tf.Tensor, bins=None, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """PIL's `ImageOps.equalize` tables for int32 histograms `[..., 256]`, as `dtype`.

    `bins` is `bin_range(hist)`, when already computed.

    `step = (total - count of the last non-empty bin) // 255`; entry i is
    `(step // 2 + count of values below i) // step`, clipped to 255 (as PIL's
    `Image.point` clips). One non-empty bin or `step == 0` gives the identity.
    All integer arithmetic, done in float64 where exact. (Pillow divided by 256
    in older releases; this follows the current one.)
    """
    lo, hi = bin_range(hist) if bins is None else bins
    below = _exclusive_cumsum(hist)
    # total - count of the last non-empty bin = the count below that bin. Per
    # histogram values only: no pass over the 256 bins beyond the prefix sum.
    below_last = tf.gather(
        below, tf.cast(hi, tf.int32)[..., tf.newaxis], batch_dims=hist.shape.rank - 1
    )[..., 0]
    step = floor_divide(below_last, 255.0)
    # More than one non-empty bin: the lowest is below the highest.
    valid = (lo < hi) & (step > 0.0)
    safe_step = tf.where(valid, step, 1.0)[..., tf.newaxis]
    value = floor_divide(tf.floor(safe_step / 2.0) + below, safe_step)
    value = tf.minimum(value, 255.0)
    ix = tf.range(_BINS, dtype=tf.float64)
    return tf.cast(tf.where(valid[..., tf.newaxis], value, ix), dtype)


def equalize(images: tf.Tensor) -> tf.Tensor:
    """Equalizes each channel's histogram, as `PIL.ImageOps.equalize(img)`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
    """
    images = as_images(images)
    return apply_tables(images, equalize_tables(histograms(images)))
