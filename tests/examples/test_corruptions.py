"""CIFAR-10-C corruptions against independent references written from their definitions.

The references here are written from Hendrycks & Dietterich's definitions (paper and
``make_cifar_c.py``): per-pixel ``colorsys`` for the HSV corruptions, exact rational
arithmetic for contrast, explicit kernels for the blurs, ``scipy.ndimage.zoom`` per
image and zoom factor for zoom blur, the reference's per-pixel loop (with its NumPy
view "swap") for glass blur, a per-pixel loop of ImageMagick's motion blur, Pillow
through files for JPEG, and area averaging for pixelate. Noises are checked by their
statistics. Constants are typed in from the reference, not taken from the module.
"""

from __future__ import annotations

import colorsys
import math
import pickle
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.cifar10 import corruptions as C  # noqa: E402
from examples.cifar10 import make_cifar10c as M  # noqa: E402

SEVERITIES = (1, 2, 3, 4, 5)


def _photos() -> np.ndarray:
    """Real photographs as 32x32: each resized whole and a central 32x32 crop."""
    import skimage.data as data

    out = []
    for make in (data.astronaut, data.chelsea, data.coffee, data.rocket):
        img = make()
        out.append(np.asarray(Image.fromarray(img).resize((32, 32), Image.Resampling.LANCZOS)))
        h, w = img.shape[:2]
        out.append(img[h // 2 - 16 : h // 2 + 16, w // 2 - 16 : w // 2 + 16])
    return np.stack(out).astype(np.uint8)


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return _photos()


@pytest.fixture(scope="module")
def images(photos) -> np.ndarray:
    """Photographs followed by uniformly random images."""
    rand = np.random.default_rng(1234).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    return np.concatenate([photos, rand])


def _gray(value: int, n: int = 64) -> np.ndarray:
    return np.full((n, 32, 32, 3), value, dtype=np.uint8)


def _uint8_trunc(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _assert_close(
    actual: np.ndarray, expected: np.ndarray, max_diff: int = 1, min_equal: float = 0.99
):
    diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    assert diff.max() <= max_diff, f"max diff {diff.max()} > {max_diff}"
    assert (diff == 0).mean() >= min_equal, f"only {(diff == 0).mean():.4f} equal"


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------
RELEASED = {
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur", "glass_blur",
    "gaussian_blur", "zoom_blur", "fog", "brightness", "contrast", "saturate", "elastic_transform",
    "pixelate", "jpeg_compression", "motion_blur", "snow", "frost", "spatter",
}  # fmt: skip


def test_registry_names_and_lists():
    assert set(C.CORRUPTIONS) == RELEASED
    assert len(C.BENCHMARK_CORRUPTIONS) == 15 and len(C.EXTRA_CORRUPTIONS) == 4
    assert set(C.BENCHMARK_CORRUPTIONS) | set(C.EXTRA_CORRUPTIONS) == RELEASED
    assert set(C.EXTRA_CORRUPTIONS) == {"speckle_noise", "gaussian_blur", "spatter", "saturate"}
    assert C.OVERLAPS_RANDAUGMENT == ("brightness", "contrast", "saturate")
    for name, corruption in C.CORRUPTIONS.items():
        assert corruption.name == name
        assert corruption.benchmark == (name in C.BENCHMARK_CORRUPTIONS)


def test_without_the_photographs_frost_says_so():
    unavailable = C._unavailable("frost", C._FROST_REASON)
    with pytest.raises(NotImplementedError, match="frost is not available.*imagecorruptions"):
        unavailable(_gray(100, 1), 1, 0)


def test_all_available():
    assert set(C.available_corruptions()) == RELEASED
    assert all(C.CORRUPTIONS[n].faithful for n in C.available_corruptions())


@pytest.mark.parametrize("bad", [0, 6, 2.5, True])
def test_bad_severity_rejected(bad):
    with pytest.raises(ValueError):
        C.contrast(_gray(10, 1), bad, 0)


def test_bad_input_rejected():
    with pytest.raises(TypeError):
        C.contrast(np.zeros((1, 32, 32, 3), np.float32), 1, 0)
    with pytest.raises(ValueError):
        C.contrast(np.zeros((1, 31, 32, 3), np.uint8), 1, 0)


RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "glass_blur",
          "motion_blur", "snow", "fog", "elastic_transform", "spatter", "frost")  # fmt: skip


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_shape_dtype_seed_and_single_image(name, images):
    fn = C.CORRUPTIONS[name]
    a = fn(images, 3, 7)
    assert a.shape == images.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, fn(images, 3, 7))
    b = fn(images, 3, 8)
    if name in RANDOM:
        assert not np.array_equal(a, b)
    else:
        np.testing.assert_array_equal(a, b)
    single = fn(images[0], 3, 7)
    assert single.shape == images.shape[1:]
    empty = fn(images[:0], 3, 7)
    assert empty.shape == (0, 32, 32, 3) and empty.dtype == np.uint8
    if name not in RANDOM:  # deterministic: an image's result ignores its batch
        np.testing.assert_array_equal(single, a[0])
        np.testing.assert_array_equal(fn(images[3:5], 3, 7), a[3:5])


# ---------------------------------------------------------------------------
# Digital: brightness, saturate, contrast (exact up to one level)
# ---------------------------------------------------------------------------
def _hsv_reference(images: np.ndarray, edit) -> np.ndarray:
    out = np.empty(images.shape, dtype=np.uint8)
    for idx in np.ndindex(images.shape[:3]):
        r, g, b = (images[idx] / 255.0).tolist()
        h, s, v = edit(*colorsys.rgb_to_hsv(r, g, b))
        out[idx] = _uint8_trunc(np.array(colorsys.hsv_to_rgb(h, s, v)))
    return out


@pytest.mark.parametrize("severity", SEVERITIES)
def test_brightness_matches_hsv_definition(images, severity):
    c = [0.05, 0.1, 0.15, 0.2, 0.3][severity - 1]
    expected = _hsv_reference(images[::2], lambda h, s, v: (h, s, min(max(v + c, 0.0), 1.0)))
    _assert_close(C.brightness(images[::2], severity, 0), expected, min_equal=0.95)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_saturate_matches_hsv_definition(images, severity):
    c0, c1 = [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)][severity - 1]
    expected = _hsv_reference(images[::2], lambda h, s, v: (h, min(max(s * c0 + c1, 0.0), 1.0), v))
    # colorsys and skimage round the HSV round trip differently: one level, rarely.
    _assert_close(C.saturate(images[::2], severity, 0), expected, min_equal=0.95)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_contrast_matches_exact_arithmetic(images, severity):
    c = Fraction([0.75, 0.5, 0.4, 0.3, 0.15][severity - 1])
    subset = images[[0, 3, 9]]
    expected = np.empty_like(subset)
    for i, img in enumerate(subset):
        for ch in range(3):
            plane = img[..., ch].astype(int)
            mean = Fraction(int(plane.sum()), 255 * plane.size)
            for (y, x), v in np.ndenumerate(plane):
                val = (Fraction(int(v), 255) - mean) * c + mean
                val = min(max(val, Fraction(0)), Fraction(1))
                expected[i, y, x, ch] = math.floor(val * 255)
    _assert_close(C.contrast(subset, severity, 0), expected)


def test_saturate_desaturates_then_oversaturates(photos):
    from skimage.color import rgb2hsv

    sat = [rgb2hsv(C.saturate(photos, s, 0) / 255.0)[..., 1].mean() for s in SEVERITIES]
    clean = rgb2hsv(photos / 255.0)[..., 1].mean()
    assert sat[1] < sat[0] < clean  # 0.1 S < 0.3 S < S
    assert clean < sat[2] < sat[3] < sat[4]  # 1.5 S < 2 S + 0.1 < 2.5 S + 0.2
    # Hence the change from the clean image is not monotonic in severity: severity 2
    # (S x 0.1) moves the photographs further than severity 3 (S x 1.5).
    mad = [np.abs(C.saturate(photos, s, 0).astype(int) - photos).mean() for s in SEVERITIES]
    assert mad[1] > mad[2]


# ---------------------------------------------------------------------------
# Noise: statistics
# ---------------------------------------------------------------------------
GAUSS_C = [0.04, 0.06, 0.08, 0.09, 0.10]
SHOT_C = [500, 250, 100, 75, 50]
IMPULSE_C = [0.01, 0.02, 0.03, 0.05, 0.07]
SPECKLE_C = [0.06, 0.1, 0.12, 0.16, 0.2]


@pytest.mark.parametrize("severity", SEVERITIES)
def test_gaussian_noise_statistics(severity):
    v = 128
    clean = _gray(v)
    out = C.gaussian_noise(clean, severity, 3).astype(float)
    c = GAUSS_C[severity - 1]
    residual = out / 255 - v / 255
    n = residual.size
    # np.uint8 truncates: the mean residual is -0.5 levels, the variance c^2 + 1/12 level^2.
    assert abs(residual.mean() + 0.5 / 255) < 5 * c / math.sqrt(n)
    expected_var = c**2 + 1 / (12 * 255**2)
    assert abs(residual.var() / expected_var - 1) < 5 * math.sqrt(2 / n)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_shot_noise_statistics(severity):
    from scipy import stats

    c = SHOT_C[severity - 1]
    for v in (64, 160):
        out = C.shot_noise(_gray(v), severity, 4).astype(float)
        x = v / 255
        # Exact law of the output: K ~ Poisson(x c), out = uint8(clip(K / c, 0, 1) * 255).
        # (K / c lies on a lattice of step 1/c, nearly aligned with the 8-bit levels,
        # so the truncation bias is not the continuous -0.5 level.)
        k = np.arange(0, int(x * c + 12 * math.sqrt(x * c) + 20))
        pmf = stats.poisson.pmf(k, x * c)
        levels = np.floor(np.clip(k / c, 0, 1) * 255)
        mean = float(np.sum(pmf * levels))
        var = float(np.sum(pmf * levels**2) - mean**2)
        n = out.size
        assert abs(out.mean() - mean) < 5 * math.sqrt(var / n)
        assert abs(out.var() / var - 1) < 5 * math.sqrt(2 / n)
        assert set(np.unique(out)) <= set(levels.tolist())
        # and the variance is the Poisson one, x / c, up to the 8-bit quantisation
        assert abs(out.var() / 255**2 / (x / c) - 1) < 0.05


@pytest.mark.parametrize("severity", SEVERITIES)
def test_impulse_noise_statistics(severity):
    c = IMPULSE_C[severity - 1]
    clean = _gray(100)
    out = C.impulse_noise(clean, severity, 5)
    n = out.size
    salt, pepper, same = (out == 255), (out == 0), (out == 100)
    assert np.all(salt | pepper | same)
    tol = 5 * math.sqrt(c / 2 / n)
    assert abs(salt.mean() - c / 2) < tol and abs(pepper.mean() - c / 2) < tol
    # Channels are hit independently (skimage's s&p works element-wise).
    hit = salt | pepper
    both = (hit[..., 0] & hit[..., 1]).mean()
    assert abs(both - c * c) < 5 * math.sqrt(c * c / hit[..., 0].size)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_speckle_noise_statistics(severity):
    c = SPECKLE_C[severity - 1]
    v = 100
    x = v / 255
    out = C.speckle_noise(_gray(v), severity, 6).astype(float)
    residual = out / 255 - x  # = x * N(0, c^2), truncated
    n = residual.size
    assert abs(residual.mean() + 0.5 / 255) < 5 * x * c / math.sqrt(n)
    expected_var = (x * c) ** 2 + 1 / (12 * 255**2)
    assert abs(residual.var() / expected_var - 1) < 5 * math.sqrt(2 / n) + 0.01


# ---------------------------------------------------------------------------
# Blurs
# ---------------------------------------------------------------------------
def _gaussian_nearest(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Separable Gaussian with 'nearest' (edge) borders from its definition."""
    radius = int(truncate * sigma + 0.5)
    k = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma**2))
    k /= k.sum()
    p = np.pad(x, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    rows = sum(k[i] * p[:, i : i + x.shape[1], :, :] for i in range(2 * radius + 1))
    return sum(k[i] * rows[:, :, i : i + x.shape[2], :] for i in range(2 * radius + 1))


@pytest.mark.parametrize("severity", SEVERITIES)
def test_gaussian_blur_matches_definition(images, severity):
    sigma = [0.4, 0.6, 0.7, 0.8, 1.0][severity - 1]
    expected = _uint8_trunc(_gaussian_nearest(images / 255.0, sigma))
    _assert_close(C.gaussian_blur(images, severity, 0), expected)


def _defocus_reference_kernel(radius: float, alias_blur: float) -> np.ndarray:
    coords = np.arange(-8, 9)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    disk = ((xx * xx + yy * yy) <= radius * radius).astype(float)
    disk /= disk.sum()
    g = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * alias_blur**2))
    g /= g.sum()
    # The reference builds the kernel in float32 (disk(dtype=np.float32), then
    # cv2.GaussianBlur): its sum is 1 only to float32 precision, which moves truncated
    # outputs of flat regions by one level, so the reference kernel is float32 here too.
    return ndimage.correlate(disk, np.outer(g, g), mode="mirror").astype(np.float32)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_defocus_blur_matches_definition(images, severity):
    radius, alias = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)][severity - 1]
    kernel = _defocus_reference_kernel(radius, alias)
    x = images / 255.0
    expected = np.empty_like(x)
    for i in range(x.shape[0]):
        for ch in range(3):  # OpenCV filter2D: correlation, BORDER_REFLECT_101 = scipy 'mirror'
            expected[i, :, :, ch] = ndimage.correlate(x[i, :, :, ch], kernel, mode="mirror")
    _assert_close(C.defocus_blur(images, severity, 0), _uint8_trunc(expected))
    np.testing.assert_allclose(C.defocus_kernel(radius, alias), kernel, atol=1e-6)


def test_defocus_small_radius_is_a_single_pixel_disk():
    # For radius < 1 the disk holds only its centre: the kernel is the 3x3 Gaussian.
    k = C.defocus_kernel(0.5, 0.6)
    assert np.count_nonzero(k) == 9
    g = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * 0.36))
    np.testing.assert_allclose(k[7:10, 7:10], np.outer(g, g) / g.sum() ** 2, rtol=1e-6)


def _glass_loop_reference(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """make_cifar_c.py's loop, literally: descending h and w, and the tuple "swap"."""
    x = x.copy()
    for h in range(31, 1, -1):
        for w in range(31, 1, -1):
            dy, dx = offsets[h - 2, w - 2]
            hp, wp = h + dy, w + dx
            x[h, w], x[hp, wp] = x[hp, wp], x[h, w]
    return x


def test_glass_shuffle_equals_reference_loop(images):
    rng = np.random.default_rng(11)
    offsets = rng.integers(-1, 1, size=(images.shape[0], 30, 30, 2))
    expected = np.stack(
        [_glass_loop_reference(img, off) for img, off in zip(images, offsets, strict=True)]
    )
    np.testing.assert_array_equal(C._glass_shuffle(images, offsets), expected)


def test_glass_loop_is_a_copy_not_a_swap():
    # The premise of the vectorisation: with NumPy views the statement copies.
    x = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    a, b = x[2, 2].copy(), x[1, 1].copy()
    x[2, 2], x[1, 1] = x[1, 1], x[2, 2]
    np.testing.assert_array_equal(x[2, 2], b)
    np.testing.assert_array_equal(x[1, 1], b)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_glass_blur_pipeline(images, severity):
    sigma, _, passes = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)][
        severity - 1
    ]
    seed = 21
    rng = np.random.default_rng(seed)  # documented: one [N, 30, 30, 2] draw per pass
    x = (_gaussian_nearest(images / 255.0, sigma) * 255).astype(np.uint8)
    for _ in range(passes):
        off = rng.integers(-1, 1, size=(images.shape[0], 30, 30, 2))
        x = np.stack([_glass_loop_reference(img, o) for img, o in zip(x, off, strict=True)])
    expected = _uint8_trunc(_gaussian_nearest(x / 255.0, sigma))
    _assert_close(C.glass_blur(images, severity, seed), expected)


def _clipped_zoom_reference(img: np.ndarray, z: float) -> np.ndarray:
    h = img.shape[0]
    ch = int(np.ceil(h / z))
    top = (h - ch) // 2
    zoomed = ndimage.zoom(img[top : top + ch, top : top + ch], (z, z, 1), order=1)
    trim = (zoomed.shape[0] - h) // 2
    return zoomed[trim : trim + h, trim : trim + h]


@pytest.mark.parametrize("severity", SEVERITIES)
def test_zoom_blur_matches_scipy_zoom(images, severity):
    top = [1.06, 1.11, 1.16, 1.21, 1.26][severity - 1]
    factors = np.arange(1, top, 0.01)
    subset = images[[0, 1, 5, 9]]
    expected = []
    for img in subset:
        x = (img / 255.0).astype(np.float32)
        acc = np.zeros_like(x)
        for z in factors:
            acc += _clipped_zoom_reference(x, z)
        expected.append(_uint8_trunc((x + acc) / (len(factors) + 1)))
    # The arithmetic is SciPy's own, so the result is identical, not just close.
    np.testing.assert_array_equal(C.zoom_blur(subset, severity, 0), np.stack(expected))


@pytest.mark.parametrize("z", [1.0, 1.01, 1.05, 1.13, 1.25, 1.75, 2.25])
def test_clipped_zoom_is_scipy_zoom_bit_for_bit(images, z):
    x = images[:4] / 255.0
    planes = np.ascontiguousarray(x.transpose(1, 0, 3, 2)).reshape(32, 12, 32)
    got = C._clipped_zoom(planes, z).reshape(32, 4, 3, 32).transpose(1, 0, 3, 2)
    expected = np.stack([_clipped_zoom_reference(img, z) for img in x])
    np.testing.assert_array_equal(got, expected)


def _motion_blur_loop(img: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """ImageMagick MotionBlurImage for one 8-bit image, pixel by pixel."""
    width = 2 * math.ceil(radius) + 1
    k = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(width)]
    k = [v / sum(k) for v in k]
    a = math.radians(angle)
    ux, uy = width * math.cos(a), width * math.sin(a)
    length = math.hypot(ux, uy)
    offs = [
        (math.ceil(i * uy / length - 0.5), math.ceil(i * ux / length - 0.5)) for i in range(width)
    ]
    h, w, channels = img.shape
    out = np.empty_like(img)
    for y in range(h):
        for x in range(w):
            for ch in range(channels):
                acc = 0.0
                for i, (oy, ox) in enumerate(offs):
                    yy, xx = min(max(y + oy, 0), h - 1), min(max(x + ox, 0), w - 1)
                    acc += k[i] * 257.0 * img[yy, xx, ch]
                # 16-bit quantum rounded, then exported to 8 bits by truncation
                # (as ImageMagick 6.9 Q16 writes the PNG).
                out[y, x, ch] = min(65535, math.floor(acc + 0.5)) // 257
    return out


@pytest.mark.parametrize(
    ("radius", "sigma", "angle"), [(6, 1, 30.0), (9, 2.5, -44.0), (14, 12, -100.0)]
)
def test_motion_blur_kernel_matches_pixel_loop(images, radius, sigma, angle):
    subset = images[[0, 9]]
    got = C._im_motion_blur(subset, radius, sigma, np.full(2, angle))
    expected = np.stack([_motion_blur_loop(img, radius, sigma, angle) for img in subset])
    _assert_close(got, expected, max_diff=1, min_equal=0.999)


def test_motion_blur_direction():
    # Angle 0 samples to the right (+x): a bright right half bleeds leftwards only.
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[:, :, 16:] = 255
    out = C._im_motion_blur(img, 6, 2, np.zeros(1))
    assert np.all(out[:, :, 16:] == 255)
    assert np.all(out[:, :, 10:16] > 0) and np.all(out[:, :, :9] == 0)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_motion_blur_uses_documented_angles(images, severity):
    radius, sigma = [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)][severity - 1]
    angles = np.random.default_rng(5).uniform(-45, 45, size=images.shape[0])
    expected = np.stack(
        [
            _motion_blur_loop(img, radius, sigma, a)
            for img, a in zip(images[:2], angles[:2], strict=True)
        ]
    )
    _assert_close(C.motion_blur(images, severity, 5)[:2], expected, min_equal=0.999)


def test_motion_blur_severity_3_and_4_differ_only_negligibly(photos):
    # (6, 2) and (8, 2): the extra taps weigh exp(-7^2 / 8) / sum < 3e-3, so
    # severities 3 and 4 barely differ (the reference is not strictly monotonic there).
    a = C.motion_blur(photos, 3, 0).astype(int)
    b = C.motion_blur(photos, 4, 0).astype(int)
    assert np.abs(a - b).max() <= 2


def _box_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Pillow's BOX filter as documented: "each pixel of the source image contributes
    to one pixel of the destination image with identical weights". Downscaling, output
    ``o`` averages the inputs whose centres fall in its box ``(o s, (o + 1) s]``,
    ``s = n_in / n_out``; upscaling, it takes the input whose centre is nearest."""
    m = np.zeros((n_out, n_in))
    scale = n_in / n_out
    centres = np.arange(n_in) + 0.5
    for o in range(n_out):
        if scale >= 1:
            m[o, (centres > o * scale) & (centres <= (o + 1) * scale)] = 1
        else:
            m[o, np.argmin(np.abs(centres - (o + 0.5) * scale))] = 1
    return m / m.sum(axis=1, keepdims=True)


def _box_resize(x: np.ndarray, size: int) -> np.ndarray:
    """Box resampling of one image [H, W, C] to size x size: horizontal pass, then
    vertical, each rounded to 8-bit levels (Pillow's order)."""
    horizontal = np.floor(
        np.einsum("ijc,pj->ipc", x.astype(float), _box_matrix(x.shape[1], size)) + 0.5
    )
    return np.floor(np.einsum("oi,ijc->ojc", _box_matrix(x.shape[0], size), horizontal) + 0.5)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_pixelate_matches_box_definition(images, severity):
    small = [30, 28, 27, 24, 20][severity - 1]  # int(32 * c), c = .95, .9, .85, .75, .65
    expected = np.stack([_box_resize(_box_resize(img, small), 32) for img in images]).astype(
        np.uint8
    )
    _assert_close(C.pixelate(images, severity, 0), expected, max_diff=1, min_equal=0.99)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_jpeg_matches_pillow_file_round_trip(images, severity, tmp_path):
    quality = [80, 65, 58, 50, 40][severity - 1]
    expected = []
    for i, img in enumerate(images):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(img).save(path, quality=quality)
        with Image.open(path) as f:
            expected.append(np.array(f))
    np.testing.assert_array_equal(C.jpeg_compression(images, severity, 0), np.stack(expected))


# ---------------------------------------------------------------------------
# Weather and elastic
# ---------------------------------------------------------------------------
def _plasma_reference(rng: np.random.Generator, mapsize: int, decay: float) -> np.ndarray:
    """Diamond-square as in make_cifar_c.py, one map, index by index."""
    m = np.zeros((mapsize, mapsize))
    step, wibble = mapsize, 100.0
    while step >= 2:
        half = step // 2
        k = mapsize // step
        noise = wibble * rng.uniform(-wibble, wibble, (k, k))
        for i in range(k):
            for j in range(k):
                y, x = i * step, j * step
                corners = m[y, x] + m[(y + step) % mapsize, x] + m[y, (x + step) % mapsize]
                corners += m[(y + step) % mapsize, (x + step) % mapsize]
                m[y + half, x + half] = corners / 4 + noise[i, j]
        noise = wibble * rng.uniform(-wibble, wibble, (k, k))
        # points (i step, j step + half): centres above and below, corners left and right
        for i in range(k):
            for j in range(k):
                y, x = i * step, j * step + half
                total = (
                    m[y + half, x]
                    + m[(y - half) % mapsize, x]
                    + m[y, x - half]
                    + m[y, (x + half) % mapsize]
                )
                m[y, x] = total / 4 + noise[i, j]
        noise = wibble * rng.uniform(-wibble, wibble, (k, k))
        # points (i step + half, j step): centres left and right, corners above and below
        for i in range(k):
            for j in range(k):
                y, x = i * step + half, j * step
                total = (
                    m[y, x + half]
                    + m[y, (x - half) % mapsize]
                    + m[y - half, x]
                    + m[(y + half) % mapsize, x]
                )
                m[y, x] = total / 4 + noise[i, j]
        step = half
        wibble /= decay
    m -= m.min()
    return m / m.max()


@pytest.mark.parametrize("decay", [3.0, 1.75])
def test_plasma_fractal_matches_diamond_square(decay):
    got = C.plasma_fractal(np.random.default_rng(8), 1, 32, decay)[0]
    expected = _plasma_reference(np.random.default_rng(8), 32, decay)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got.min() == 0 and got.max() == 1


@pytest.mark.parametrize("severity", SEVERITIES)
def test_fog_is_scaled_additive_fractal(severity):
    c0 = [0.2, 0.5, 0.75, 1.0, 1.5][severity - 1]
    v = 120
    x = v / 255
    out = C.fog(_gray(v, 8), severity, 2).astype(float)
    # out = trunc(255 (x + c0 P) x / (x + c0)) with P in [0, 1] reaching 0 and 1 per image.
    p = ((out + 0.5) / 255 * (x + c0) / x - x) / c0
    tol = 1.0 / 255 * (x + c0) / x / c0
    assert np.all(p.min(axis=(1, 2, 3)) < tol) and np.all(np.abs(p.max(axis=(1, 2, 3)) - 1) < tol)
    assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])


def test_snow_adds_bright_flakes_and_whitens(photos):
    for severity in SEVERITIES:
        out = C.snow(photos, severity, 3).astype(int)
        assert np.all(out >= photos.astype(int) - 1)  # whitening and flakes only brighten
    # Severity 1: with no flakes reaching the threshold the image is only whitened by 5 %.
    flat = _gray(40, 4)
    out = C.snow(flat, 1, 0)
    assert out.mean() > 40


def _bilinear_reflect101(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]

    def refl(i, n):
        i = np.abs(i) % (2 * n - 2)
        return np.where(i >= n, 2 * n - 2 - i, i)

    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    a, b = img[refl(y0, h), refl(x0, w)], img[refl(y0, h), refl(x0 + 1, w)]
    c, d = img[refl(y0 + 1, h), refl(x0, w)], img[refl(y0 + 1, h), refl(x0 + 1, w)]
    return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_elastic_transform_matches_definition(photos, severity):
    alpha, sigma, rng_range = [
        (0, 0, 2.56),
        (1.6, 6.4, 2.24),
        (2.56, 1.92, 1.92),
        (3.2, 1.28, 1.6),
        (3.2, 0.96, 0.96),
    ][severity - 1]
    seed, n = 9, photos.shape[0]
    rng = np.random.default_rng(seed)  # documented draw order: affine points, then dx and dy
    pts1 = np.array([[26, 26], [26, 6], [6, 6]], dtype=np.float32)
    pts2 = pts1 + rng.uniform(-rng_range, rng_range, size=(n, 3, 2)).astype(np.float32)
    fields = rng.uniform(-1, 1, size=(2, n, 32, 32))
    yy, xx = np.meshgrid(np.arange(32.0), np.arange(32.0), indexing="ij")
    expected = []
    for i, img in enumerate(photos.astype(np.float32) / 255):
        # forward affine map (x, y) -> A (x, y) + t taking pts1 to pts2; sample its inverse.
        src = np.c_[pts1.astype(float), np.ones(3)]
        sol = np.linalg.solve(src, pts2[i].astype(float))  # [3, 2]
        a, t = sol[:2].T, sol[2]
        inv = np.linalg.inv(a)
        qx = inv[0, 0] * (xx - t[0]) + inv[0, 1] * (yy - t[1])
        qy = inv[1, 0] * (xx - t[0]) + inv[1, 1] * (yy - t[1])
        warped = _bilinear_reflect101(img, qy, qx).astype(np.float32)
        dx = ndimage.gaussian_filter(fields[0, i], sigma, mode="reflect", truncate=3) * alpha
        dy = ndimage.gaussian_filter(fields[1, i], sigma, mode="reflect", truncate=3) * alpha
        coords = [yy + dy.astype(np.float32), xx + dx.astype(np.float32)]
        chans = [
            ndimage.map_coordinates(warped[..., ch], coords, order=1, mode="reflect")
            for ch in range(3)
        ]
        expected.append(_uint8_trunc(np.stack(chans, -1)))
    got = C.elastic_transform(photos, severity, seed)
    # OpenCV rounds the warp's source coordinates to 1/32 pixel; the exact bilinear
    # reference differs by at most a few levels at sharp edges, rarely.
    diff = np.abs(got.astype(int) - np.stack(expected).astype(int))
    assert diff.mean() < 0.3 and np.percentile(diff, 99) <= 3


def test_elastic_affine_part_dominates_low_severities(photos):
    # The CIFAR constants shrink the affine jitter (2.56 -> 0.96 px) as the elastic
    # displacement grows, so the change from the clean image *falls* with severity:
    # the reference itself is not monotonic here.
    mad = [np.abs(C.elastic_transform(photos, s, 0).astype(int) - photos).mean() for s in (1, 5)]
    assert mad[0] > mad[1]


# ---------------------------------------------------------------------------
# Spatter, and the OpenCV behaviour its water texture relies on (the module calls
# OpenCV as the reference does; these check OpenCV against the definitions)
# ---------------------------------------------------------------------------
def _per_image(fn, images, *args):
    return np.stack([fn(image, *args) for image in images])


def _distance_l2_5(images):
    import cv2

    return _per_image(cv2.distanceTransform, images, cv2.DIST_L2, 5)


def _canny(images, low, high):
    import cv2

    return _per_image(cv2.Canny, images, low, high)


def _chamfer_5x5(du: int, dv: int) -> float:
    """Chamfer 5x5 distance (steps 1, 1.4, 2.1969) of an offset: the cheapest mix of
    straight, diagonal and knight moves."""
    u, v = max(abs(du), abs(dv)), min(abs(du), abs(dv))
    if u >= 2 * v:
        return 2.1969 * v + 1.0 * (u - 2 * v)
    return 2.1969 * (u - v) + 1.4 * (2 * v - u)


def test_distance_transform_is_the_chamfer_distance():
    rng = np.random.default_rng(2)
    src = np.where(rng.random((3, 32, 32)) < 0.02, 0, 255).astype(np.uint8)
    src[2] = 255
    src[2, 5, 7] = 0
    got = _distance_l2_5(src)
    for k in range(3):
        zeros = np.argwhere(src[k] == 0)
        expected = np.empty((32, 32))
        for (y, x), _ in np.ndenumerate(expected):
            expected[y, x] = min(_chamfer_5x5(y - zy, x - zx) for zy, zx in zeros)
        np.testing.assert_allclose(got[k], expected, atol=1e-4)
    assert np.all(_distance_l2_5(np.full((1, 32, 32), 9, np.uint8)) > 1e6)


def test_canny_thresholds_and_suppression_side():
    def step(height: int) -> np.ndarray:
        img = np.full((1, 32, 32), 100, np.uint8)
        img[:, :, 16:] += height
        return img

    # 3x3 Sobel of a step of height h: |dx| = 4 h on columns 15 and 16, dy = 0.
    assert not _canny(step(10), 50, 150).any()  # 40 < low
    assert not _canny(step(20), 50, 150).any()  # 80: weak, no strong pixel
    edges = _canny(step(40), 50, 150)  # 160 > high
    assert set(np.unique(edges)) == {0, 255}
    # OpenCV keeps the first of two equal maxima (> on the left, >= on the right).
    assert (
        np.all(edges[0, :, 15] == 255) and not edges[0, :, 16:].any() and not edges[0, :, :15].any()
    )
    assert not _canny(np.full((1, 32, 32), 7, np.uint8), 50, 150).any()


def test_canny_hysteresis_follows_weak_pixels():
    img = np.full((1, 32, 32), 100, np.uint8)
    img[:, :, 16:] = 120  # weak step (magnitude 80) on every row ...
    img[:, 10:13, 16:] = 200  # ... and a strong part on rows 10-12
    edges = _canny(img, 50, 150)
    # rows far from the strong block are weak (80 < high) and edges only through it
    assert np.all(edges[0, :8, 15] == 255) and np.all(edges[0, 15:, 15] == 255)
    img[:, 20, :] = 100  # cut the weak line: rows below 20 lose their connection
    edges = _canny(img, 50, 150)
    assert edges[0, 5, 15] == 255 and not edges[0, 25:, :].any()


def test_equalize_hist_lut():
    import cv2

    rng = np.random.default_rng(4)
    img = rng.integers(30, 90, (2, 32, 32), dtype=np.uint8)
    got = _per_image(cv2.equalizeHist, img)
    for k in range(2):
        values, counts = np.unique(img[k], return_counts=True)
        # lowest level -> 0; others -> round(255 * (#pixels above the lowest, up to v) / #above)
        above = img[k].size - counts[0]
        for v, cum in zip(values[1:], np.cumsum(counts[1:]), strict=True):
            assert abs(int(got[k][img[k] == v][0]) - 255 * cum / above) <= 0.5 + 1e-9
        assert np.all(got[k][img[k] == values[0]] == 0)


def test_box_blur_and_filter2d_match_scipy():
    import cv2

    rng = np.random.default_rng(5)
    u8 = rng.integers(0, 256, (2, 32, 32), dtype=np.uint8)
    sums = np.stack(
        [ndimage.correlate(i.astype(float), np.ones((3, 3)), mode="mirror") for i in u8]
    )
    np.testing.assert_array_equal(_per_image(cv2.blur, u8, (3, 3)), np.floor(sums / 9 + 0.5))
    f32 = (rng.integers(0, 20 * 8, (2, 32, 32)) / 8).astype(np.float32)
    sums = np.stack(
        [ndimage.correlate(i.astype(float), np.ones((3, 3)), mode="mirror") for i in f32]
    )
    np.testing.assert_allclose(_per_image(cv2.blur, f32, (3, 3)), sums / 9, rtol=1e-6)
    ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    lin = np.stack(
        [ndimage.correlate(i.astype(float), ker.astype(float), mode="mirror") for i in u8]
    )
    np.testing.assert_array_equal(
        _per_image(cv2.filter2D, u8, cv2.CV_8U, ker), np.clip(lin, 0, 255)
    )


def test_water_texture_follows_the_definitions(photos):
    """spatter's texture step by step from the checked building blocks: distance to
    the Canny edges, truncated at 20, box-blurred, equalised, embossed, box-blurred."""
    import cv2

    rng = np.random.default_rng(6)
    layer = ndimage.gaussian_filter(rng.normal(0.65, 0.3, (32, 32)), 1.0, mode="nearest")
    layer[layer < 0.69] = 0
    layer8 = (layer * 255).astype(np.uint8)
    edges = _canny(layer8[None], 50, 150)[0]
    dist = np.minimum(_distance_l2_5((255 - edges)[None])[0], 20)
    pad = np.pad(dist.astype(float), 1, mode="reflect")
    dist = (sum(pad[i : i + 32, j : j + 32] for i in range(3) for j in range(3)) / 9).astype(
        np.uint8
    )
    dist = cv2.equalizeHist(dist)
    ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], float)
    emboss = np.clip(ndimage.correlate(dist.astype(float), ker, mode="mirror"), 0, 255)
    pad = np.pad(emboss, 1, mode="reflect")
    expected = np.floor(
        sum(pad[i : i + 32, j : j + 32] for i in range(3) for j in range(3)) / 9 + 0.5
    )
    np.testing.assert_array_equal(C._water_edges(layer8), expected.astype(np.float32))


# ---------------------------------------------------------------------------
# Frost
# ---------------------------------------------------------------------------
def _frost_reference_photos() -> list[np.ndarray]:
    """The reference's steps written independently: decode each of the first five
    photographs with Pillow (RGB), then cv2.resize(fx=fy=0.2)'s bilinear definition:
    output size round(0.2 size), output pixel i reads input (i + 0.5) / 0.2 - 0.5,
    linear between neighbours, clamped at the border."""
    import io
    from importlib import resources

    photos = []
    for name in ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg"):
        data = (resources.files("imagecorruptions") / "frost" / name).read_bytes()
        img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)
        h, w = img.shape[:2]
        out_h, out_w = int(round(0.2 * h)), int(round(0.2 * w))
        ys = (np.arange(out_h) + 0.5) / 0.2 - 0.5
        xs = (np.arange(out_w) + 0.5) / 0.2 - 0.5
        y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
        fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
        y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
        y0, x0 = np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)
        top = (1 - fx) * img[y0][:, x0] + fx * img[y0][:, x1]
        bottom = (1 - fx) * img[y1][:, x0] + fx * img[y1][:, x1]
        photos.append((1 - fy) * top + fy * bottom)
    return photos


def test_frost_photographs_match_the_reference_steps():
    pytest.importorskip("imagecorruptions")
    got = C.frost_photographs()
    expected = _frost_reference_photos()
    assert len(got) == 5  # the reference draws randint(5): frost6.jpg is never used
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == np.uint8 and a.shape == b.shape
        assert np.abs(a.astype(float) - b).max() <= 1.0


@pytest.mark.parametrize("severity", SEVERITIES)
def test_frost_matches_an_independent_blend(images, severity):
    pytest.importorskip("imagecorruptions")
    c0, c1 = [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)][severity - 1]
    photos = _frost_reference_photos()
    which, top, left = C.frost_draws(np.random.default_rng(11), images.shape[0])
    crops = np.stack(
        [photos[k][t : t + 32, s : s + 32] for k, t, s in zip(which, top, left, strict=True)]
    )
    expected = np.floor(np.clip(c0 * images.astype(float) + c1 * crops, 0, 255))
    got = C.frost(images, severity, 11)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_frost_draws_cover_the_photographs():
    pytest.importorskip("imagecorruptions")
    which, top, left = C.frost_draws(np.random.default_rng(0), 5000)
    assert set(np.unique(which)) == {0, 1, 2, 3, 4}
    sizes = [p.shape for p in C.frost_photographs()]
    for k in range(5):
        h, w = sizes[k][:2]
        assert top[which == k].min() >= 0 and top[which == k].max() <= h - 33
        assert left[which == k].max() <= w - 33


def test_spatter_water_adds_pale_turquoise_and_mud_darkens(photos):
    x = photos.astype(int)
    for severity in (1, 2, 3):  # water: m (R, G, B) * (175, 238, 238) / 255 added
        out = C.spatter(photos, severity, 1).astype(int)
        assert np.all(out >= x - 1)
        d = out - x
        wet = (d[..., 1] > 3) & (out[..., 1] < 255) & (out[..., 0] < 255)  # not clipped
        # G and B gain 238 / 175 times what R gains (up to the 8-bit truncation)
        assert wet.any() and np.all(d[..., 1][wet] >= d[..., 0][wet] - 1)
    mud = np.array([63, 42, 20])
    for severity in (4, 5):  # mud: x (1 - m) + m * mud colour, m in {0} U [0.8, 1]
        out = C.spatter(photos, severity, 1).astype(int)
        changed = np.any(out != x, axis=-1)
        assert changed.any() and not changed.all()
        # a changed pixel is at least 80 % of the way to the mud colour
        dist_out = np.abs(out - mud).max(axis=-1)[changed]
        dist_in = np.abs(x - mud).max(axis=-1)[changed]
        assert np.all(dist_out <= 0.2 * dist_in + 2)


def test_spatter_severity_within_each_kind(photos):
    # Severities 1-3 are water, 4-5 mud: the reference orders only within a kind.
    mad = [np.abs(C.spatter(photos, s, 0).astype(int) - photos).mean() for s in SEVERITIES]
    assert mad[0] < mad[1] < mad[2] and mad[3] < mad[4]


# ---------------------------------------------------------------------------
# Severity ordering
# ---------------------------------------------------------------------------
MONOTONIC = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur",
             "gaussian_blur", "zoom_blur", "snow", "fog", "brightness", "contrast", "pixelate",
             "jpeg_compression")  # fmt: skip


@pytest.mark.parametrize("name", MONOTONIC)
def test_severity_is_monotonic(photos, name):
    mad = [np.abs(C.corrupt(photos, name, s, 0).astype(int) - photos).mean() for s in SEVERITIES]
    assert all(b > a for a, b in zip(mad[:-1], mad[1:], strict=True)), mad


def test_motion_blur_severity_is_monotonic_except_3_to_4(photos):
    mad = [np.abs(C.motion_blur(photos, s, 0).astype(int) - photos).mean() for s in SEVERITIES]
    assert mad[0] < mad[1] < mad[2] <= mad[3] + 0.05 and mad[3] < mad[4]


def test_glass_blur_two_passes_change_more_than_one(photos):
    # Severities 1-3 shuffle once with growing blur, 4-5 twice: the reference is only
    # ordered between those groups (blur also smooths the shuffle's noise away).
    mad = [np.abs(C.glass_blur(photos, s, 0).astype(int) - photos).mean() for s in SEVERITIES]
    assert min(mad[3], mad[4]) > max(mad[:3])


def test_all_corruptions_covered_by_a_severity_test():
    covered = set(MONOTONIC) | {
        "motion_blur",
        "glass_blur",
        "saturate",
        "elastic_transform",
        "spatter",
        "frost",  # every severity against an independent blend (above)
    }
    assert covered == set(C.available_corruptions())


# ---------------------------------------------------------------------------
# make_cifar10c
# ---------------------------------------------------------------------------
def _write_fake_cifar(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    flat = images.transpose(0, 3, 1, 2).reshape(images.shape[0], -1)  # channel-major rows
    batch = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(v) for v in labels],
        b"data": flat,
        b"filenames": [f"img_{i}.png".encode() for i in range(images.shape[0])],
    }
    names = ["test_batch"] + [f"data_batch_{i}" for i in range(1, 6)]
    for name in names:
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(
            {b"label_names": [b"c%d" % i for i in range(10)], b"num_cases_per_batch": 1},
            f,
            protocol=2,
        )
    return folder


def test_make_cifar10c_writes_released_layout(tmp_path, images, capsys):
    labels = np.arange(images.shape[0]) % 10
    _write_fake_cifar(tmp_path / "data", images, labels)
    out = tmp_path / "c"
    n = 10
    code = M.main(
        ["--data-dir", str(tmp_path / "data"), "--output-dir", str(out), "--corruptions",
         "contrast,gaussian_noise", "--seed", "3", "--limit", str(n)]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "contrast.npy",
        "gaussian_noise.npy",
        "labels.npy",
    ]
    lab = np.load(out / "labels.npy")
    assert lab.dtype == np.int64 and lab.shape == (5 * n,)
    np.testing.assert_array_equal(lab, np.tile(labels[:n], 5))
    clean = images[:n]
    con = np.load(out / "contrast.npy")
    assert con.dtype == np.uint8 and con.shape == (5 * n, 32, 32, 3)
    for s in SEVERITIES:  # deterministic: block s is severity s of the images in order
        np.testing.assert_array_equal(con[(s - 1) * n : s * n], C.contrast(clean, s, 0))
    noise = np.load(out / "gaussian_noise.npy").astype(float)
    assert noise.shape == (5 * n, 32, 32, 3)
    spread = [np.std(noise[(s - 1) * n : s * n] - clean) for s in SEVERITIES]
    assert all(b > a for a, b in zip(spread[:-1], spread[1:], strict=True))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if " s" in ln and "images in" in ln]
    assert len(lines) == 2


def test_make_cifar10c_seed_is_reproducible(tmp_path, images):
    labels = np.zeros(images.shape[0], dtype=np.int64)
    a = M.write_cifar10c_folder(
        tmp_path / "a", images, labels, names=["fog"], seed=1, progress=False
    )
    M.write_cifar10c_folder(tmp_path / "b", images, labels, names=["fog"], seed=1, progress=False)
    M.write_cifar10c_folder(tmp_path / "d", images, labels, names=["fog"], seed=2, progress=False)
    assert a == ["fog"]
    fa, fb, fd = (np.load(tmp_path / d / "fog.npy") for d in "abd")
    np.testing.assert_array_equal(fa, fb)
    assert not np.array_equal(fa, fd)


def test_make_cifar10c_prefix_of_whole_chunks_is_stable(tmp_path, images, monkeypatch):
    # Chunk k is seeded by (seed, corruption, severity, k): a run on the first
    # 2 chunks reproduces the first 2 chunks of a run on all 3.
    monkeypatch.setattr(M, "CHUNK", 4)
    full = M.corrupt_all_severities(images, "gaussian_noise", seed=5)  # 12 images, 3 chunks
    part = M.corrupt_all_severities(images[:8], "gaussian_noise", seed=5)
    n = images.shape[0]
    for s in SEVERITIES:
        np.testing.assert_array_equal(
            part[(s - 1) * 8 : s * 8], full[(s - 1) * n : (s - 1) * n + 8]
        )


def test_make_cifar10c_rejects_unavailable_and_unknown(tmp_path, images, monkeypatch):
    import dataclasses

    # frost as it is without imagecorruptions installed.
    unavailable = dataclasses.replace(
        C.CORRUPTIONS["frost"],
        function=C._unavailable("frost", C._FROST_REASON),
        available=False,
        note=C._FROST_REASON,
    )
    monkeypatch.setitem(C.CORRUPTIONS, "frost", unavailable)
    labels = np.zeros(images.shape[0], dtype=np.int64)
    with pytest.raises(NotImplementedError, match="frost"):
        M.write_cifar10c_folder(tmp_path, images, labels, names=["frost"], progress=False)
    with pytest.raises(KeyError):
        M.write_cifar10c_folder(tmp_path, images, labels, names=["blur"], progress=False)
    _write_fake_cifar(tmp_path / "data", images, labels)
    assert M.main(["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "o"),
                   "--corruptions", "frost"]) == 2  # fmt: skip


def test_test_batch_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError):
        M._read_test_batch(path)


def test_test_batch_reader_reads_real_format(tmp_path, images):
    labels = np.arange(images.shape[0]) % 10
    folder = _write_fake_cifar(tmp_path, images, labels)
    got, lab = M._read_test_batch(folder / "test_batch")
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(lab, labels)


@pytest.mark.slow
def test_full_size_speed_each_corruption_under_a_minute():
    # CPU time of this process: on a shared machine the wall time also counts
    # other jobs. The corruptions are single-threaded NumPy/SciPy, so on an idle
    # 2-core machine wall time is about the CPU time.
    import time

    x = np.random.default_rng(0).integers(0, 256, (10000, 32, 32, 3), dtype=np.uint8)
    for name in C.available_corruptions():
        start = time.process_time()
        for s in SEVERITIES:
            C.corrupt(x, name, s, 0)
        assert time.process_time() - start < 60, name
