"""Every kernel against Pillow (or, without a Pillow equivalent, a NumPy definition).

Per op, one batch in which every image gets a different parameter, sweeping the
op's whole range (ends, identity value, negative values for signed ops, and a
few values beyond the table's range), on real photographs at several sizes
(RGB and grayscale, including odd, non-square, 1x1 and 2x3) and on random
images; the exact ops also on flat and two-valued images. Each image is
compared with Pillow's result for that image and that parameter.

The references are written from Pillow and from the ops' definitions only;
nothing here is derived from the kernels' outputs. ``PIL_REFERENCES`` (op name
-> reference) is exported for the completeness test.

Tolerances (uint8 levels):
- exact: identity, auto_contrast, equalize, posterize, solarize, invert,
  solarize_add, cutout. Pillow's formulas are integer lookup tables.
- within 1 on every pixel: brightness, color, contrast, sharpness. Pillow
  blends in float32 (``Blend.c``: the product and the sum each rounded) and
  truncates; where the exact value lies within ~3e-5 of an integer those
  roundings can cross it, and a kernel that computes exactly (or rounds its
  factor) lands one level away. For factors on a 2**-14 grid Pillow's float32
  arithmetic is exact, and there the blend ops must match bit for bit.
- nearest warps (rotate, shear, translate): exact except at rounding ties.
  Pillow computes nearest affine warps in 16.16 fixed point (Geometry.c
  ``affine_fixed``; pure translations in double, ``ImagingScaleAffine``), so a
  pixel whose exact source coordinate lies within ~1e-3 of a pixel boundary can
  legitimately pick the neighbouring source pixel (or fill instead of the edge
  pixel). Every mismatch must be such a tie, and ties may account for at most
  0.1% of the batch's pixels (at least 2 pixels allowed, for the tiny sizes).
- bilinear warps: every pixel within 1 level, at most 3% of pixels off by one,
  apart from ties of the inside/outside decision. Pillow computes the source
  coordinate in double and truncates the interpolated value; a kernel with
  fixed-point or float32 coordinates differs by ~1e-3 pixel, which moves the
  value by less than one level but can cross an integer, where truncation then
  gives one level less or more ("nice" shifts such as 0.6 pixel make that
  common: about 2% of values on random images). Where Pillow's inside/outside
  decision is itself a tie (source within 2e-3 of the image edge; float32
  parameters put whole lines of pixels within 1e-7 of it), fill versus sample
  may differ on at most 1% of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

from randaugment import ops

NEAREST = Image.Resampling.NEAREST
BILINEAR = Image.Resampling.BILINEAR
AFFINE = Image.Transform.AFFINE

# Batch sizes: as many images as parameters; parameter-free ops use this many.
NO_PARAM_BATCH = 12

# ---------------------------------------------------------------------------
# Pillow plumbing


def to_pil(image: np.ndarray) -> Image.Image:
    """uint8 [H, W, C] with C in (1, 3) -> PIL image in mode "L" or "RGB"."""
    if image.shape[-1] == 1:
        return Image.fromarray(image[..., 0], "L")
    if image.shape[-1] == 3:
        return Image.fromarray(image, "RGB")
    raise ValueError(f"Pillow references cover 1 or 3 channels, not {image.shape[-1]}")


def from_pil(image: Image.Image) -> np.ndarray:
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def fillcolor(value: float, channels: int):
    return int(value) if channels == 1 else (int(value),) * channels


def pil_rotate_matrix(angle: float, width: int, height: int) -> tuple[float, ...]:
    """The affine matrix ``Image.rotate`` passes to ``transform`` (Pillow's Image.py).

    Used only to locate rounding ties of the reference, not to compute it.
    """
    angle = -math.radians(angle % 360.0)
    a, b = round(math.cos(angle), 15), round(math.sin(angle), 15)
    d, e = round(-math.sin(angle), 15), round(math.cos(angle), 15)
    cx, cy = width / 2, height / 2
    c = a * -cx + b * -cy + cx
    f = d * -cx + e * -cy + cy
    return (a, b, c, d, e, f)


# ---------------------------------------------------------------------------
# References: uint8 [H, W, C] (+ parameter) -> uint8 [H, W, C]


def _pil_op(fn):
    def reference(image, *args):
        return from_pil(fn(to_pil(image), *args))

    return reference


def _enhance(cls):
    return _pil_op(lambda im, f: cls(im).enhance(float(f)))


def _posterize(image, bits):
    bits = int(bits)
    assert bits == float(bits)
    if bits == 0:
        # Pillow >= 11 rejects bits=0; by definition (keep 0 bits: mask 0) it is black.
        return np.zeros_like(image)
    return from_pil(ImageOps.posterize(to_pil(image), bits))


def _solarize_add(image, addition, threshold=128):
    # From the definition: pixels below the threshold get +addition, clipped.
    wide = image.astype(np.int64)
    added = np.clip(wide + int(addition), 0, 255)
    return np.where(wide < threshold, added, wide).astype(np.uint8)


def _affine_matrix(op: str, param: float, width: int, height: int) -> tuple[float, ...]:
    if op == "rotate":
        return pil_rotate_matrix(param, width, height)
    return {
        "shear_x": (1, param, 0, 0, 1, 0),
        "shear_y": (1, 0, 0, param, 1, 0),
        "translate_x": (1, 0, param, 0, 1, 0),
        "translate_y": (1, 0, 0, 0, 1, param),
    }[op]


def _geometric_reference(op: str):
    def reference(image, param, *, fill_value=128.0, interpolation="nearest"):
        pil = to_pil(image)
        resample = {"nearest": NEAREST, "bilinear": BILINEAR}[interpolation]
        fill = fillcolor(fill_value, image.shape[-1])
        if op == "rotate":
            out = pil.rotate(float(param), resample=resample, fillcolor=fill)
        else:
            matrix = _affine_matrix(op, float(param), pil.width, pil.height)
            out = pil.transform(pil.size, AFFINE, matrix, resample=resample, fillcolor=fill)
        return from_pil(out)

    return reference


def _cutout_reference(image, size, center, fill_value=128.0):
    # From the kernel's documented definition: side round(size), rows
    # [floor(cy) - side // 2, floor(cy) - side // 2 + side), same for columns,
    # clipped to the image.
    side = int(round(max(float(size), 0.0)))
    x0 = math.floor(center[0]) - side // 2
    y0 = math.floor(center[1]) - side // 2
    out = image.copy()
    h, w = image.shape[:2]
    out[max(y0, 0) : max(min(y0 + side, h), 0), max(x0, 0) : max(min(x0 + side, w), 0)] = int(
        fill_value
    )
    return out


# ---------------------------------------------------------------------------
# Parameter sweeps: (height, width) -> float32 [n]


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.float32)


def _rotate_params(h, w):
    return _f32([*np.linspace(-30, 30, 17), 0.5, -7.3, 13.7, 45, -135, 90, -90, 180])


def _shear_params(h, w):
    return _f32([*np.linspace(-0.3, 0.3, 13), 0.05, -0.123, 0.5, -0.7, 1.0, -1.0])


def _translate_params(size):
    return _f32(
        [*np.linspace(-0.45 * size, 0.45 * size, 13), 0, 1, -1, 2.5, -2.5, 0.3, size, -size - 3]
    )


def _factor_params(h, w):
    return _f32([*np.linspace(0.1, 1.9, 19), 0.0, 1.0, 0.55, 2.5, 3.0])


def _posterize_params(h, w):
    return _f32([*range(9), *range(8, -1, -1), 4, 6])


def _solarize_params(h, w):
    table = [256 * (1 - m) for m in (0.1, 0.33, 0.5, 0.9)]
    return _f32(
        [0, 1, 2, 32, 64, 100.5, 127, 127.9, 128, 128.5, 129, 160, 200, 254, 255, 255.5, 256]
        + table
    )


def _solarize_add_params(h, w):
    return _f32([0, 1, 10, 30, 55, 80, 110, 127, 128, 200, 255, -1, -10, -55, -110, -255])


@dataclass(frozen=True)
class Reference:
    op: str
    source: str  # what the kernel is compared with
    reference: Callable
    params: Callable | None  # (height, width) -> float32 [n], or None: no parameter
    tolerance: str  # "exact", "within_1", "nearest_warp"


PIL_REFERENCES: dict[str, Reference] = {
    r.op: r
    for r in [
        Reference("identity", "the input", lambda im: im.copy(), None, "exact"),
        Reference(
            "auto_contrast",
            "PIL.ImageOps.autocontrast",
            _pil_op(ImageOps.autocontrast),
            None,
            "exact",
        ),
        Reference("equalize", "PIL.ImageOps.equalize", _pil_op(ImageOps.equalize), None, "exact"),
        Reference("invert", "PIL.ImageOps.invert", _pil_op(ImageOps.invert), None, "exact"),
        Reference(
            "posterize",
            "PIL.ImageOps.posterize (bits 0: NumPy definition)",
            _posterize,
            _posterize_params,
            "exact",
        ),
        Reference(
            "solarize",
            "PIL.ImageOps.solarize",
            _pil_op(lambda im, t: ImageOps.solarize(im, float(t))),
            _solarize_params,
            "exact",
        ),
        Reference(
            "solarize_add",
            "NumPy definition (no Pillow equivalent)",
            _solarize_add,
            _solarize_add_params,
            "exact",
        ),
        Reference(
            "brightness",
            "PIL.ImageEnhance.Brightness",
            _enhance(ImageEnhance.Brightness),
            _factor_params,
            "within_1",
        ),
        Reference(
            "color",
            "PIL.ImageEnhance.Color",
            _enhance(ImageEnhance.Color),
            _factor_params,
            "within_1",
        ),
        Reference(
            "contrast",
            "PIL.ImageEnhance.Contrast",
            _enhance(ImageEnhance.Contrast),
            _factor_params,
            "within_1",
        ),
        Reference(
            "sharpness",
            "PIL.ImageEnhance.Sharpness",
            _enhance(ImageEnhance.Sharpness),
            _factor_params,
            "within_1",
        ),
        Reference(
            "rotate",
            "PIL.Image.rotate",
            _geometric_reference("rotate"),
            _rotate_params,
            "nearest_warp",
        ),
        Reference(
            "shear_x",
            "PIL.Image.transform AFFINE (1, s, 0, 0, 1, 0)",
            _geometric_reference("shear_x"),
            _shear_params,
            "nearest_warp",
        ),
        Reference(
            "shear_y",
            "PIL.Image.transform AFFINE (1, 0, 0, s, 1, 0)",
            _geometric_reference("shear_y"),
            _shear_params,
            "nearest_warp",
        ),
        Reference(
            "translate_x",
            "PIL.Image.transform AFFINE (1, 0, t, 0, 1, 0)",
            _geometric_reference("translate_x"),
            lambda h, w: _translate_params(w),
            "nearest_warp",
        ),
        Reference(
            "translate_y",
            "PIL.Image.transform AFFINE (1, 0, 0, 0, 1, t)",
            _geometric_reference("translate_y"),
            lambda h, w: _translate_params(h),
            "nearest_warp",
        ),
        Reference(
            "cutout",
            "NumPy definition (no Pillow equivalent)",
            _cutout_reference,
            None,  # two parameters: tested by test_cutout_matches_definition
            "exact",
        ),
    ]
}

GEOMETRIC_OPS = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
PARAMETRIZED_OPS = sorted(op for op in PIL_REFERENCES if op != "cutout")
EXACT_OPS = sorted(
    op for op, r in PIL_REFERENCES.items() if r.tolerance == "exact" and op != "cutout"
)

# ---------------------------------------------------------------------------
# Running a kernel and comparing


def run_kernel(op: str, images: np.ndarray, params: np.ndarray | None, **kwargs) -> np.ndarray:
    """Run ``ops.<op>`` eagerly on uint8 images; check the output contract; return uint8."""
    kernel = getattr(ops, op)
    x = tf.constant(images.astype(np.float32))
    out = kernel(x) if params is None else kernel(x, tf.constant(params, tf.float32), **kwargs)
    assert out.dtype == tf.float32, f"{op}: output dtype {out.dtype.name}"
    out = out.numpy()
    assert out.shape == images.shape, f"{op}: output shape {out.shape} for {images.shape}"
    assert np.all(np.isfinite(out)), f"{op}: non-finite output"
    assert out.min(initial=0.0) >= 0.0 and out.max(initial=0.0) <= 255.0, (
        f"{op}: output outside [0, 255]: [{out.min()}, {out.max()}]"
    )
    assert np.array_equal(out, np.round(out)), f"{op}: output is not integer-valued"
    return out.astype(np.uint8)


def _describe(op, case, params, images, out, ref, positions, limit=8) -> str:
    lines = []
    for pos in positions[:limit]:
        i, y, x, c = (int(v) for v in pos)
        param = "" if params is None else f" param={float(params[i])!r}"
        lines.append(
            f"  {op}{param} on {case} image {i} ({images.shape[2]}x{images.shape[1]} WxH) "
            f"pixel (x={x}, y={y}, c={c}): kernel {int(out[i, y, x, c])}, "
            f"reference {int(ref[i, y, x, c])} (input {int(images[i, y, x, c])})"
        )
    more = len(positions) - limit
    if more > 0:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def reference_batch(op: str, images: np.ndarray, params, **kwargs) -> np.ndarray:
    reference = PIL_REFERENCES[op].reference
    if params is None:
        return np.stack([reference(im, **kwargs) for im in images])
    return np.stack([reference(im, p, **kwargs) for im, p in zip(images, params, strict=True)])


def assert_exact(op, case, params, images, out, ref):
    wrong = np.argwhere(out != ref)
    assert not len(wrong), (
        f"{op} differs from {PIL_REFERENCES[op].source} on {len(wrong)} of {out.size} values:\n"
        + _describe(op, case, params, images, out, ref, wrong)
    )


def assert_within_1(op, case, params, images, out, ref):
    diff = np.abs(out.astype(np.int64) - ref)
    wrong = np.argwhere(diff > 1)
    assert not len(wrong), (
        f"{op} differs from {PIL_REFERENCES[op].source} by more than 1 on {len(wrong)} of "
        f"{out.size} values (max {diff.max()}):\n"
        + _describe(op, case, params, images, out, ref, wrong)
    )


def source_coordinates(op, param, height, width):
    """Exact (float64) source coordinates Pillow samples for every output pixel [H, W]."""
    a, b, c, d, e, f = _affine_matrix(op, float(param), width, height)
    ys, xs = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    return a * xs + b * ys + c, d * xs + e * ys + f


def tie_mask(op, params, height, width, eps):
    """[B, H, W]: pixels whose source coordinate is within eps of a pixel boundary."""
    masks = []
    for p in params:
        sx, sy = source_coordinates(op, p, height, width)
        near = (np.abs(sx - np.round(sx)) < eps) | (np.abs(sy - np.round(sy)) < eps)
        masks.append(near)
    return np.stack(masks)


# Tie width: Pillow's 16.16 coefficients are off by up to 2**-17 each, which
# accumulates over up to (W + H) steps: 144 * 2**-17 ~ 1.1e-3 for 72x72.
TIE_EPS = 2e-3
MAX_TIE_FRACTION = 1e-3
MAX_EDGE_TIE_FRACTION = 1e-2


def assert_nearest_warp(op, case, params, images, out, ref):
    wrong = np.any(out != ref, axis=-1)  # [B, H, W]
    if not wrong.any():
        return
    ties = tie_mask(op, params, images.shape[1], images.shape[2], TIE_EPS)
    not_tie = np.argwhere(wrong & ~ties)
    not_tie = np.array([(i, y, x, 0) for i, y, x in not_tie])
    assert not len(not_tie), (
        f"{op} differs from {PIL_REFERENCES[op].source} on {len(not_tie)} pixels that are "
        f"not rounding ties:\n" + _describe(op, case, params, images, out, ref, not_tie)
    )
    n_pixels = wrong.size
    allowed = max(2, MAX_TIE_FRACTION * n_pixels)
    assert wrong.sum() <= allowed, (
        f"{op}: {int(wrong.sum())} of {n_pixels} pixels differ at rounding ties "
        f"(allowed {allowed:.0f}):\n"
        + _describe(op, case, params, images, out, ref, [(*p, 0) for p in np.argwhere(wrong)])
    )


COMPARE = {"exact": assert_exact, "within_1": assert_within_1, "nearest_warp": assert_nearest_warp}


def _params_for(op, height, width):
    make = PIL_REFERENCES[op].params
    return None if make is None else make(height, width)


def check_op(op, case, **kwargs):
    params = _params_for(op, case.height, case.width)
    n = NO_PARAM_BATCH if params is None else len(params)
    images = case.make(n)
    out = run_kernel(op, images, params, **kwargs)
    ref = reference_batch(op, images, params, **kwargs)
    COMPARE[PIL_REFERENCES[op].tolerance](op, case, params, images, out, ref)


# ---------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("op", sorted(op for op in PIL_REFERENCES if op != "cutout"))
def test_matches_pillow(op, image_case):
    """Photographs and random images, one parameter per image across the range."""
    check_op(op, image_case)


@pytest.mark.parametrize("op", EXACT_OPS)
def test_exact_ops_on_flat_and_two_valued_images(op, special_case):
    """Histogram ops fall back to the identity on flat images; two-valued images
    stretch to 0/255 (auto_contrast) or hit equalize's step computation."""
    check_op(op, special_case)


@pytest.mark.parametrize("op", ["brightness", "color", "contrast", "sharpness"])
def test_blend_ops_on_flat_and_two_valued_images(op, special_case):
    check_op(op, special_case)


def _bilinear_compare(op, case, params, images, out, ref):
    diff = np.abs(out.astype(np.int64) - ref)  # [B, H, W, C]
    # Pixels where Pillow's inside/outside decision (fill or sample) is a tie.
    h, w = images.shape[1:3]
    edge_ties = []
    for p in params:
        sx, sy = source_coordinates(op, p, h, w)
        near = (
            (np.abs(sx) < TIE_EPS)
            | (np.abs(sx - w) < TIE_EPS)
            | (np.abs(sy) < TIE_EPS)
            | (np.abs(sy - h) < TIE_EPS)
        )
        edge_ties.append(near)
    edge_ties = np.stack(edge_ties)[..., None]
    bad = np.argwhere((diff > 1) & ~edge_ties)
    assert not len(bad), (
        f"{op} (bilinear) differs from {PIL_REFERENCES[op].source} by more than 1 on "
        f"{len(bad)} values (max {diff.max()}):\n"
        + _describe(op, case, params, images, out, ref, bad)
    )
    off_by_one = ((diff == 1) & ~edge_ties).mean()
    assert off_by_one <= 0.03, (
        f"{op} (bilinear): {off_by_one:.2%} of values off by one (allowed 3%):\n"
        + _describe(op, case, params, images, out, ref, np.argwhere(diff == 1))
    )
    # At an inside/outside tie Pillow's double-precision coordinate and a
    # fixed-point or float32 one may disagree on fill versus sample. Parameters
    # exact in float32 (e.g. shear -0.2 on 17 rows) put whole lines of pixels
    # within 1e-7 of the edge, so ties are rarer than 1% but not 0.1%.
    edge_wrong = np.any(diff > 1, axis=-1)
    assert edge_wrong.sum() <= max(2, MAX_EDGE_TIE_FRACTION * edge_wrong.size), (
        f"{op} (bilinear): {int(edge_wrong.sum())} of {edge_wrong.size} pixels differ at "
        f"inside/outside ties (allowed {MAX_EDGE_TIE_FRACTION:.0%})"
    )


@pytest.mark.parametrize("op", GEOMETRIC_OPS)
def test_geometric_bilinear_close_to_pillow(op, image_case):
    params = _params_for(op, image_case.height, image_case.width)
    images = image_case.make(len(params))
    out = run_kernel(op, images, params, interpolation="bilinear")
    ref = reference_batch(op, images, params, interpolation="bilinear")
    _bilinear_compare(op, image_case, params, images, out, ref)


@pytest.mark.parametrize("fill_value", [0.0, 255.0, 37.0])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("op", GEOMETRIC_OPS)
def test_geometric_fill_value(op, interpolation, fill_value, make_photos):
    case = "photo-rgb-31x45"
    params = _params_for(op, 31, 45)
    images = make_photos(len(params), 31, 45)
    kwargs = {"fill_value": fill_value, "interpolation": interpolation}
    out = run_kernel(op, images, params, **kwargs)
    ref = reference_batch(op, images, params, **kwargs)
    if interpolation == "nearest":
        assert_nearest_warp(op, case, params, images, out, ref)
    else:
        _bilinear_compare(op, case, params, images, out, ref)


def test_cutout_matches_definition(image_case_with_special):
    case = image_case_with_special
    h, w = case.height, case.width
    sizes = _f32([0, 1, 2, 3, 4, 5, 6.7, 8, 10, 4.3, 16, 31, 100, 1, 3, 7, 2, 9, 5, 0])
    rng = np.random.default_rng(h * 100 + w)
    centers = np.stack(
        [rng.uniform(-3, w + 3, len(sizes)), rng.uniform(-3, h + 3, len(sizes))], axis=1
    )
    # Include the corners and the exact centre.
    centers[:4] = [[0, 0], [w - 1, h - 1], [w / 2, h / 2], [w - 0.5, 0.5]]
    centers = centers.astype(np.float32)
    images = case.make(len(sizes))
    for fill_value in (128.0, 0.0):
        out = ops.cutout(
            tf.constant(images.astype(np.float32)),
            tf.constant(sizes),
            tf.constant(centers),
            fill_value=fill_value,
        )
        assert out.dtype == tf.float32 and out.shape == images.shape
        out = out.numpy().astype(np.uint8)
        ref = np.stack(
            [
                _cutout_reference(im, s, c, fill_value)
                for im, s, c in zip(images, sizes, centers, strict=True)
            ]
        )
        wrong = np.argwhere(out != ref)
        assert not len(wrong), f"cutout (fill {fill_value}) differs:\n" + "\n".join(
            f"  image {i} size={sizes[i]} center={tuple(centers[i])} pixel (x={x}, y={y}, c={c}): "
            f"kernel {out[i, y, x, c]}, reference {ref[i, y, x, c]}"
            for i, y, x, c in wrong[:8]
        )


def test_color_is_identity_on_grayscale(make_photos):
    images = make_photos(6, 17, 9, channels=1)
    params = _f32([0.0, 0.1, 0.5, 1.0, 1.9, 3.0])
    out = run_kernel("color", images, params)
    np.testing.assert_array_equal(out, images)


# ---------------------------------------------------------------------------
# Other channel counts. Documented in the kernels' docstrings: the value maps
# (randaugment/ops/_value.py), sharpness and the warps work channel by channel
# for any channel count; color and contrast need RGB (or one channel) and raise
# ValueError otherwise. Reference: Pillow in mode "L", one channel at a time.

CHANNEL_WISE_OPS = sorted(op for op in PARAMETRIZED_OPS if op not in ("color", "contrast"))


@pytest.mark.parametrize("channels", [2, 4])
@pytest.mark.parametrize("op", CHANNEL_WISE_OPS)
def test_other_channel_counts_work_channel_by_channel(op, channels, make_photos):
    h, w = 17, 9
    params = _params_for(op, h, w)
    n = NO_PARAM_BATCH if params is None else len(params)
    rgb = make_photos(n, h, w)
    images = np.concatenate([rgb, 255 - rgb[..., :1]], axis=-1)[..., :channels]
    out = run_kernel(op, images, params)
    ref = np.concatenate(
        [reference_batch(op, images[..., c : c + 1], params) for c in range(channels)], axis=-1
    )
    COMPARE[PIL_REFERENCES[op].tolerance](
        op, f"photo-c{channels}-{h}x{w}", params, images, out, ref
    )


@pytest.mark.parametrize("channels", [2, 4])
@pytest.mark.parametrize("op", ["color", "contrast"])
def test_color_and_contrast_reject_other_channel_counts(op, channels):
    images = tf.zeros([2, 5, 5, channels])
    with pytest.raises(ValueError, match="channel"):
        getattr(ops, op)(images, tf.constant([0.5, 1.5]))


@pytest.mark.slow
@pytest.mark.parametrize("size", [(224, 224), (97, 160)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("op", sorted(op for op in PIL_REFERENCES if op != "cutout"))
def test_matches_pillow_large_photographs(op, size, make_photos):
    """As test_matches_pillow at training sizes (slow: run with ``pytest -m slow``)."""

    @dataclass(frozen=True)
    class Case:
        height: int
        width: int

        def make(self, n):
            return make_photos(n, self.height, self.width)

        def __str__(self):
            return f"photo-rgb-{self.height}x{self.width}"

    check_op(op, Case(*size))
    if op in GEOMETRIC_OPS:
        case = Case(*size)
        params = _params_for(op, *size)
        images = case.make(len(params))
        out = run_kernel(op, images, params, interpolation="bilinear")
        ref = reference_batch(op, images, params, interpolation="bilinear")
        _bilinear_compare(op, case, params, images, out, ref)


@pytest.mark.parametrize("op", ["brightness", "color", "contrast", "sharpness"])
def test_blend_ops_exact_for_factors_on_a_2_to_the_14_grid(op, image_case):
    """Factors that are multiples of 2**-14 (below 4): Pillow's float32 blend
    ``d + f * (x - d)`` is then exact (f * (x - d) has at most 24 significant bits,
    and the sum too wherever it is not clipped), so its truncated result is the
    exact one and any correct kernel must match it bit for bit."""
    factors = _f32(np.round(_factor_params(0, 0).astype(np.float64) * 2**14) / 2**14)
    images = image_case.make(len(factors))
    out = run_kernel(op, images, factors)
    ref = reference_batch(op, images, factors)
    assert_exact(op, image_case, factors, images, out, ref)
