"""Affine warps, as PIL's `Image.transform(size, AFFINE, ...)` and `Image.rotate`.

Coefficients follow PIL: the output pixel with centre (X, Y) = (x + 0.5, y + 0.5)
reads the input at (a0 X + a1 Y + a2, a3 X + a4 Y + a5).

Nearest interpolation reproduces PIL's 16.16 fixed-point path (`affine_fixed` in
libImaging/Geometry.c): the coefficients are rounded to multiples of 2**-16 and the
source pixel is `floor` of the fixed-point coordinate. Every per-pixel quantity is an
integer below 2**24 held in float32, so the chosen source pixel is exact and the same
in graph mode, under XLA and on any device. (PIL's pure translations take a float
path, `ImagingScaleAffine`, which agrees with this except when the shift's
fractional part lies within 2**-17 of a rounding tie.)

Bilinear interpolation uses the same fixed-point source coordinate: the weights are
exact multiples of 2**-16, the weighted sum of the four neighbours is computed exactly
in float64 and truncated, as PIL truncates. PIL computes the coordinate in double
precision rather than 16.16 fixed point, so a result can differ from PIL's by one level
where the exact value lies within about 0.01 of an integer (about 1% of pixels on
photographs); documented and tested.

Out-of-image source positions get `fill_value`.
"""

from __future__ import annotations

import math

import tensorflow as tf

from randaugment.ops._common import as_images, as_params, check_interpolation

_ONE = 65536.0  # 1.0 in 16.16 fixed point


def _fix(value: tf.Tensor) -> tf.Tensor:
    """PIL's FIX(): float64 to 16.16 fixed point, `floor(v * 65536 + 0.5)`."""
    return tf.floor(value * _ONE + 0.5)


def _split(value: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Fixed-point float64 integers to (quotient, remainder) by 65536, as float32."""
    quotient = tf.floor(value / _ONE)
    remainder = value - quotient * _ONE
    return tf.cast(quotient, tf.float32), tf.cast(remainder, tf.float32)


def _source_coordinates(coeffs: tf.Tensor, height, width):
    """Fixed-point source coordinates of every output pixel.

    Args:
        coeffs: float64 `[B, 6]` PIL affine coefficients.

    Returns:
        (xq, xr, yq, yr): float32 `[B, H, W]`; the source x coordinate is
        `xq + xr / 65536` with `xq` an integer and `0 <= xr < 65536`, likewise y.
    """
    a0, a1, a2, a3, a4, a5 = tf.unstack(coeffs, num=6, axis=1)
    f0, f1, f3, f4 = _fix(a0), _fix(a1), _fix(a3), _fix(a4)
    f2 = _fix(a2 + a0 * 0.5 + a1 * 0.5)
    f5 = _fix(a5 + a3 * 0.5 + a4 * 0.5)
    ys = tf.cast(tf.range(height), tf.float64)[tf.newaxis, :]
    xs = tf.cast(tf.range(width), tf.float64)[tf.newaxis, :]

    def axis(origin, per_row, per_col):
        # origin + y * per_row + x * per_col, split so that the per-pixel sum is exact
        # in float32: the row and column terms are computed on small tensors.
        row_q, row_r = _split(origin[:, tf.newaxis] + ys * per_row[:, tf.newaxis])  # [B, H]
        col_q, col_r = _split(xs * per_col[:, tf.newaxis])  # [B, W]
        q = row_q[:, :, tf.newaxis] + col_q[:, tf.newaxis, :]
        r = row_r[:, :, tf.newaxis] + col_r[:, tf.newaxis, :]  # in [0, 2 * 65536)
        carry = tf.cast(r >= _ONE, tf.float32)
        return q + carry, r - carry * _ONE

    xq, xr = axis(f2, f1, f0)
    yq, yr = axis(f5, f4, f3)
    return xq, xr, yq, yr


# -- the nearest warp of rand_augment: int32 fixed point ------------------------------
#
# The geometric ops of the op table have |a0|, |a1|, |a3|, |a4| <= 1 and |a2|, |a5| at
# most 1.5 times the longer side (a rotation about the centre), so PIL's 16.16
# fixed-point coordinates fit in int32 for images up to `MAX_FIXED_POINT_SIDE` pixels a
# side: the per-pixel sum of a row part and a column part, and the floor, are then one
# int32 add and one arithmetic shift (instead of the exact float32 split above), and
# out-of-image sources are clamped onto a one-pixel border of fill value.
MAX_FIXED_POINT_SIDE = 8192
_PART_LIMIT = 2.0**30 - 1.0  # |row part| + |column part| stays below 2**31


def fixed_point_parts(coeffs: tf.Tensor, height, width) -> tuple[tf.Tensor, tf.Tensor]:
    """Row and column parts of PIL's fixed-point source coordinates, int32.

    Args:
        coeffs: float64 `[B, 6]` PIL affine coefficients.

    Returns:
        (rows `[B, 2, H]`, cols `[B, 2, W]`): the source of output pixel (x, y) is
        column `(rows[b, 0, y] + cols[b, 0, x]) >> 16` and row
        `(rows[b, 1, y] + cols[b, 1, x]) >> 16`, as PIL's `affine_fixed` computes it.
        Exact while the coordinates stay within +-2**14 pixels; a part beyond that is
        clamped, which keeps the pixel outside the image (its value is the fill
        either way) for images up to `MAX_FIXED_POINT_SIDE` pixels a side and
        |a0|, |a1|, |a3|, |a4| <= 1.
    """
    plane = tf.reshape(coeffs, [-1, 2, 3])  # per plane (x, y): per column, per row, offset
    per_col, per_row, offset = tf.unstack(plane, num=3, axis=2)  # [B, 2] each
    origin = offset + per_col * 0.5 + per_row * 0.5  # PIL's order of operations
    ys = tf.cast(tf.range(height), tf.float64)
    xs = tf.cast(tf.range(width), tf.float64)

    def part(value):
        return tf.cast(tf.clip_by_value(value, -_PART_LIMIT, _PART_LIMIT), tf.int32)

    rows = part(_fix(origin)[..., tf.newaxis] + ys * _fix(per_row)[..., tf.newaxis])
    cols = part(xs * _fix(per_col)[..., tf.newaxis])
    return rows, cols


def warp_nearest_from_parts(images, rows, cols, fill_value: float) -> tf.Tensor:
    """`warp_affine(images, coeffs, fill_value, "nearest")` in int32 fixed point, given
    `rows, cols = fixed_point_parts(coeffs, H, W)`.

    Bit-identical to `warp_affine` where `fixed_point_parts` is exact (the geometric
    ops of the op table on images up to `MAX_FIXED_POINT_SIDE` pixels a side), in
    fewer and cheaper passes over the pixels. Any image dtype (uint8 on CPU).
    """
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]

    def source(plane, size):
        fixed = rows[:, plane, :, tf.newaxis] + cols[:, plane, tf.newaxis, :]  # [B, H, W]
        source = tf.bitwise.right_shift(fixed, 16)  # floor: an arithmetic shift
        # Onto the border of fill value of the padded image: -1 and `size` are fill.
        return tf.minimum(tf.maximum(source, -1), size)

    col, row = source(0, width), source(1, height)
    stride = width + 2
    first = tf.range(batch) * ((height + 2) * stride) + (stride + 1)  # pixel (0, 0)
    index = row * stride + col + first[:, tf.newaxis, tf.newaxis]
    padded = tf.pad(
        images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=tf.cast(fill_value, images.dtype)
    )
    out = tf.gather_nd(tf.reshape(padded, [-1, channels]), index[..., tf.newaxis])
    out.set_shape(images.shape)
    return out


def _gather_pixels(flat_images, row, col, width):
    """Pixels at integer float32 (row, col) `[B, H, W]` of `flat_images` `[B, H*W, C]`."""
    index = tf.cast(row * tf.cast(width, tf.float32) + col, tf.int32)  # exact: < 2**24
    shape = tf.shape(index)
    pixels_per_image = shape[1] * shape[2]
    index = index + tf.reshape(tf.range(shape[0]) * pixels_per_image, [-1, 1, 1])
    # One gather_nd over the flattened batch: on CPU about twice as fast as a
    # batch_dims gather.
    channels = tf.shape(flat_images)[-1]
    return tf.gather_nd(tf.reshape(flat_images, [-1, channels]), index[..., tf.newaxis])


def warp_affine(
    images: tf.Tensor,
    coeffs: tf.Tensor,
    fill_value: float = 128.0,
    interpolation: str = "nearest",
) -> tf.Tensor:
    """Applies one PIL affine transform per image.

    Args:
        images: `[B, H, W, C]`, values in [0, 255]: float32, or uint8 (what
            `rand_augment` uses where every op runs on the CPU).
        coeffs: float64 `[B, 6]`, PIL's `(a, b, c, d, e, f)` per image.
        fill_value: value of pixels whose source lies outside the image (an integer
            for uint8 images).
        interpolation: "nearest" or "bilinear".

    Returns:
        `[B, H, W, C]`, the dtype of `images`.
    """
    check_interpolation(interpolation)
    shape = tf.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    xq, xr, yq, yr = _source_coordinates(coeffs, height, width)
    inside = (xq >= 0.0) & (xq < w) & (yq >= 0.0) & (yq < h)
    flat = tf.reshape(images, [batch, -1, channels])
    fill = tf.cast(fill_value, tf.float32)
    if interpolation == "nearest":
        fill = tf.cast(fill_value, images.dtype)
        # Each image gets one extra pixel of fill value after its own; out-of-image
        # sources read it, so the gather itself fills (no pass to mask the output).
        fill_pixels = tf.fill(tf.stack([batch, 1, channels]), fill)
        padded = tf.concat([flat, fill_pixels], axis=1)  # [B, H*W + 1, C]
        pixels_per_image = height * width
        index = tf.cast(yq * w + xq, tf.int32)  # exact: < 2**24
        index = tf.where(inside, index, pixels_per_image)
        index = index + tf.reshape(tf.range(batch) * (pixels_per_image + 1), [-1, 1, 1])
        out = tf.gather_nd(tf.reshape(padded, [-1, channels]), index[..., tf.newaxis])
        out.set_shape(images.shape)
        return out
    else:
        # PIL: subtract half a pixel, take floor and fraction, clamp the neighbours.
        def shift(q, r):
            r = r - 32768.0
            borrow = tf.cast(r < 0.0, tf.float32)
            return q - borrow, r + borrow * _ONE

        x0, fx = shift(xq, xr)
        y0, fy = shift(yq, yr)
        # Weights in units of 2**-16, exact; the weighted sum of four uint8 values is
        # an integer below 255 * 2**32, exact in float64.
        wx = tf.cast(fx, tf.float64)[..., tf.newaxis]
        wy = tf.cast(fy, tf.float64)[..., tf.newaxis]
        xa = tf.clip_by_value(x0, 0.0, w - 1.0)
        xb = tf.clip_by_value(x0 + 1.0, 0.0, w - 1.0)
        ya = tf.clip_by_value(y0, 0.0, h - 1.0)
        yb = tf.clip_by_value(y0 + 1.0, 0.0, h - 1.0)

        def pixels(row, col):
            return tf.cast(_gather_pixels(flat, row, col, width), tf.float64)

        top = pixels(ya, xa) * (_ONE - wx) + pixels(ya, xb) * wx
        bottom = pixels(yb, xa) * (_ONE - wx) + pixels(yb, xb) * wx
        out = tf.cast(tf.floor((top * (_ONE - wy) + bottom * wy) / (_ONE * _ONE)), tf.float32)
    # Arithmetic on a 0/1 mask (exact on these integer values) rather than tf.where,
    # which is several times slower on CPU for large tensors.
    out = fill + tf.cast(inside, tf.float32)[..., tf.newaxis] * (out - fill)
    out = tf.cast(out, images.dtype)
    out.set_shape(images.shape)
    return out


# Derived from `p` arithmetically rather than with zeros_like/ones_like: when the
# partition path still used tf.dynamic_partition, Grappler's symbolic shapes mixed up
# zeros_like of sibling partitions (docs/design.md). Kept as a cheap precaution.
def _zeros(p):
    return tf.cast(p, tf.float64) * 0.0


def _ones(p):
    return tf.cast(p, tf.float64) * 0.0 + 1.0


def _coefficients(a0, a1, a2, a3, a4, a5) -> tf.Tensor:
    return tf.stack([tf.cast(v, tf.float64) for v in (a0, a1, a2, a3, a4, a5)], axis=1)


def rotation_coefficients(angles: tf.Tensor, height, width) -> tf.Tensor:
    """PIL `Image.rotate(angle)` about the centre as affine coefficients, float64 `[B, 6]`."""
    angles = tf.cast(angles, tf.float64)
    angles = angles - 360.0 * tf.floor(angles / 360.0)  # Python's angle % 360.0
    theta = -angles * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    cx = tf.cast(width, tf.float64) / 2.0
    cy = tf.cast(height, tf.float64) / 2.0
    # Each product is kept apart from the following add (PIL rounds them separately).
    c = _no_contract(_no_contract(cos * -cx) + _no_contract(sin * -cy)) + cx
    f = _no_contract(_no_contract(-sin * -cx) + _no_contract(cos * -cy)) + cy
    return _coefficients(cos, sin, c, -sin, cos, f)


def _no_contract(x: tf.Tensor) -> tf.Tensor:
    """A no-op `maximum` that keeps compilers from fusing `x` into a multiply-add."""
    return tf.maximum(x, tf.constant(-1.0e300, x.dtype))


def shear_x_coefficients(s, height, width):
    return _coefficients(_ones(s), s, _zeros(s), _zeros(s), _ones(s), _zeros(s))


def shear_y_coefficients(s, height, width):
    return _coefficients(_ones(s), _zeros(s), _zeros(s), s, _ones(s), _zeros(s))


def translate_x_coefficients(t, height, width):
    return _coefficients(_ones(t), _zeros(t), t, _zeros(t), _ones(t), _zeros(t))


def translate_y_coefficients(t, height, width):
    return _coefficients(_ones(t), _zeros(t), _zeros(t), _zeros(t), _ones(t), t)


def _geometric(name, images, params, coeff_fn, fill_value, interpolation):
    images = as_images(images)
    params = as_params(params, images, name)
    check_interpolation(interpolation)
    shape = tf.shape(images)
    return warp_affine(images, coeff_fn(params, shape[1], shape[2]), fill_value, interpolation)


def rotate(images, angles, *, fill_value: float = 128.0, interpolation: str = "nearest"):
    """Rotates each image about its centre, as `PIL.Image.rotate(angle, resample, fillcolor=...)`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        angles: float32 `[B]`, degrees, counter-clockwise.
        fill_value: value of uncovered pixels. Default 128.
        interpolation: "nearest" (default) or "bilinear".
    """
    return _geometric("angles", images, angles, rotation_coefficients, fill_value, interpolation)


def shear_x(images, factors, *, fill_value: float = 128.0, interpolation: str = "nearest"):
    """Shears along x, as PIL's `transform(size, AFFINE, (1, s, 0, 0, 1, 0))`.

    The output pixel at (x, y) reads the input at (x + s y, y): rows shift in
    proportion to their distance from the top edge.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        factors: float32 `[B]`, the shear factor s.
        fill_value: value of uncovered pixels. Default 128.
        interpolation: "nearest" (default) or "bilinear".
    """

    return _geometric(
        "factors", images, factors, COEFFICIENTS["shear_x"], fill_value, interpolation
    )


def shear_y(images, factors, *, fill_value: float = 128.0, interpolation: str = "nearest"):
    """Shears along y, as PIL's `transform(size, AFFINE, (1, 0, 0, s, 1, 0))`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        factors: float32 `[B]`, the shear factor s.
        fill_value: value of uncovered pixels. Default 128.
        interpolation: "nearest" (default) or "bilinear".
    """

    return _geometric(
        "factors", images, factors, COEFFICIENTS["shear_y"], fill_value, interpolation
    )


def translate_x(images, pixels, *, fill_value: float = 128.0, interpolation: str = "nearest"):
    """Translates along x, as PIL's `transform(size, AFFINE, (1, 0, t, 0, 1, 0))`.

    The output pixel at x reads the input at x + t: a positive t moves the content
    left.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        pixels: float32 `[B]`, the shift t in pixels.
        fill_value: value of uncovered pixels. Default 128.
        interpolation: "nearest" (default) or "bilinear".
    """

    return _geometric(
        "pixels", images, pixels, COEFFICIENTS["translate_x"], fill_value, interpolation
    )


def translate_y(images, pixels, *, fill_value: float = 128.0, interpolation: str = "nearest"):
    """Translates along y, as PIL's `transform(size, AFFINE, (1, 0, 0, 0, 1, t))`.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        pixels: float32 `[B]`, the shift t in pixels (positive moves content up).
        fill_value: value of uncovered pixels. Default 128.
        interpolation: "nearest" (default) or "bilinear".
    """

    return _geometric(
        "pixels", images, pixels, COEFFICIENTS["translate_y"], fill_value, interpolation
    )


#: Affine coefficients (float64 `[B, 6]`) of each geometric op, from its parameter.
COEFFICIENTS = {
    "rotate": rotation_coefficients,
    "shear_x": shear_x_coefficients,
    "shear_y": shear_y_coefficients,
    "translate_x": translate_x_coefficients,
    "translate_y": translate_y_coefficients,
}


def cutout(images, sizes, centers, *, fill_value: float = 128.0):
    """Fills a square per image with `fill_value` (the original TF code's cutout).

    The square has side `round(size)` pixels (half to even: 2.5 -> 2) and covers rows
    `[floor(cy) - round(size) // 2, floor(cy) - round(size) // 2 + round(size))` and the
    analogous columns, clipped to the image.

    Args:
        images: float32 `[B, H, W, C]`, values in [0, 255].
        sizes: float32 `[B]`, side of the square in pixels; 0 is the identity.
        centers: float32 `[B, 2]`, (x, y) centre of the square in pixels. In
            `rand_augment` the centre is drawn uniformly over the image.
        fill_value: value of the square. Default 128.
    """
    images = as_images(images)
    sizes = tf.round(tf.maximum(as_params(sizes, images, "sizes"), 0.0))
    centers = tf.floor(tf.cast(tf.convert_to_tensor(centers), tf.float32))
    half = tf.floor(sizes / 2.0)
    x0 = centers[:, 0] - half
    y0 = centers[:, 1] - half
    shape = tf.shape(images)
    ys = tf.cast(tf.range(shape[1]), tf.float32)[tf.newaxis, :, tf.newaxis]
    xs = tf.cast(tf.range(shape[2]), tf.float32)[tf.newaxis, tf.newaxis, :]

    def col(v):
        return v[:, tf.newaxis, tf.newaxis]

    inside = (ys >= col(y0)) & (ys < col(y0 + sizes)) & (xs >= col(x0)) & (xs < col(x0 + sizes))
    mask = tf.cast(inside, tf.float32)[..., tf.newaxis]
    return images + mask * (tf.cast(fill_value, tf.float32) - images)
