"""Shared test images: real photographs, random, flat and two-valued images.

Every image fixture is a *case*: a name (for test ids and failure messages)
and a ``make(n)`` function returning ``n`` distinct uint8 images
``[n, H, W, C]``. Tests draw as many images as they have parameters, so that
every image in a batch gets its own parameter. All generators are cached and
deterministic; the photographs are loaded once per session.

Sizes are (height, width). They include odd and non-square shapes, and the
degenerate 1x1 and 2x3 (smaller than a 3x3 filter, a single pixel to rotate).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

# Keep TensorFlow's C++ logging quiet in test output (must precede its import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PHOTO_NAMES = ("astronaut", "chelsea", "coffee")

# (height, width)
PHOTO_SIZES_RGB = ((32, 32), (31, 45), (72, 72), (17, 9), (1, 1), (2, 3))
PHOTO_SIZES_GRAY = ((32, 32), (31, 45), (17, 9), (2, 3))
RANDOM_SIZES_RGB = ((32, 32), (31, 45), (1, 1))
RANDOM_SIZES_GRAY = ((17, 9),)
SPECIAL_SIZE = (9, 7)


@dataclass(frozen=True)
class ImageCase:
    """A family of test images: ``make(n)`` gives ``n`` uint8 images [n, H, W, C]."""

    name: str
    height: int
    width: int
    channels: int
    kind: str  # "photo", "random", "flat", "two_valued"

    def make(self, n: int) -> np.ndarray:
        return _MAKERS[self.kind](n, self.height, self.width, self.channels)

    def __str__(self) -> str:
        return self.name


@functools.cache
def _source(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)())


def _photo(index: int, height: int, width: int) -> np.ndarray:
    """Image ``index``: a crop of one of the photographs, resized with Pillow.

    Cycles through the photographs; successive rounds take smaller crops at
    other positions, so no two images of a batch are the same. The crop has the
    target aspect ratio, so the content is not stretched.
    """
    src = _source(PHOTO_NAMES[index % len(PHOTO_NAMES)])
    round_ = index // len(PHOTO_NAMES)
    sw, sh = src.size
    scale = 0.9**round_
    aspect = width / height
    cw = min(sw, sh * aspect) * scale
    ch = cw / aspect
    # Positions along a low-discrepancy sequence so crops move around.
    fx = (0.5 + 0.618034 * round_) % 1.0
    fy = (0.5 + 0.754878 * round_) % 1.0
    left = fx * (sw - cw)
    top = fy * (sh - ch)
    box = (left, top, left + cw, top + ch)
    resized = src.resize((width, height), Image.Resampling.LANCZOS, box=box)
    return np.asarray(resized, dtype=np.uint8)


@functools.cache
def _photos(n: int, height: int, width: int, channels: int) -> np.ndarray:
    rgb = np.stack([_photo(i, height, width) for i in range(n)]) if n else None
    if rgb is None:
        return np.zeros((0, height, width, channels), np.uint8)
    if channels == 3:
        return rgb
    if channels == 1:
        gray = [np.asarray(Image.fromarray(im).convert("L")) for im in rgb]
        return np.stack(gray)[..., None]
    raise ValueError(f"photos have 1 or 3 channels, not {channels}")


@functools.cache
def _random(n: int, height: int, width: int, channels: int) -> np.ndarray:
    rng = np.random.default_rng(1000 * height + width + 7 * channels + n)
    return rng.integers(0, 256, size=(n, height, width, channels), dtype=np.uint8)


@functools.cache
def _flat(n: int, height: int, width: int, channels: int) -> np.ndarray:
    """Image i is constant; the value differs per image and per channel.

    Includes 0, 255 and mid-grey, the cases where histogram ops must fall back
    to the identity.
    """
    base = np.array([0, 255, 128, 1, 254, 127, 64, 200], dtype=np.int64)
    rest = [v for v in (np.arange(256) * 37 + 11) % 256 if v not in base]
    values = np.resize(np.concatenate([base, rest]), n)
    per_channel = (values[:, None] + 97 * np.arange(channels)[None, :]) % 256
    out = np.broadcast_to(per_channel[:, None, None, :], (n, height, width, channels))
    return np.ascontiguousarray(out, dtype=np.uint8)


_TWO_VALUE_PAIRS = (
    (0, 255),
    (127, 128),
    (0, 1),
    (254, 255),
    (10, 240),
    (100, 101),
    (3, 200),
    (128, 129),
)


@functools.cache
def _two_valued(n: int, height: int, width: int, channels: int) -> np.ndarray:
    """Image i takes exactly two values per channel, on a random mask.

    Includes adjacent levels (127/128) and the extremes (0/255); the pair is
    rotated between channels so channels differ. Every image has both values.
    """
    rng = np.random.default_rng(4242 + height + width + channels)
    pairs = list(_TWO_VALUE_PAIRS)
    while len(pairs) < n:
        lo, hi = sorted(rng.choice(256, size=2, replace=False).tolist())
        pairs.append((lo, hi))
    out = np.empty((n, height, width, channels), np.uint8)
    for i in range(n):
        mask = rng.random((height, width)) < (0.2 + 0.6 * ((i * 0.37) % 1.0))
        mask.flat[0] = True
        mask.flat[-1] = False
        for c in range(channels):
            lo, hi = pairs[(i + c) % len(pairs)]
            out[i, :, :, c] = np.where(mask, hi, lo)
    return out


_MAKERS = {"photo": _photos, "random": _random, "flat": _flat, "two_valued": _two_valued}


def _cases(kind: str, sizes, channels: int) -> list[ImageCase]:
    label = {3: "rgb", 1: "gray"}.get(channels, f"c{channels}")
    return [ImageCase(f"{kind}-{label}-{h}x{w}", h, w, channels, kind) for h, w in sizes]


PHOTO_CASES = _cases("photo", PHOTO_SIZES_RGB, 3) + _cases("photo", PHOTO_SIZES_GRAY, 1)
RANDOM_CASES = _cases("random", RANDOM_SIZES_RGB, 3) + _cases("random", RANDOM_SIZES_GRAY, 1)
SPECIAL_CASES = (
    _cases("flat", [SPECIAL_SIZE, (1, 1)], 3)
    + _cases("flat", [SPECIAL_SIZE], 1)
    + _cases("two_valued", [SPECIAL_SIZE, (1, 2)], 3)
    + _cases("two_valued", [SPECIAL_SIZE], 1)
)


@pytest.fixture(params=PHOTO_CASES + RANDOM_CASES, ids=str)
def image_case(request) -> ImageCase:
    """Real photographs (RGB and grayscale, several sizes) and random images."""
    return request.param


@pytest.fixture(params=PHOTO_CASES + RANDOM_CASES + SPECIAL_CASES, ids=str)
def image_case_with_special(request) -> ImageCase:
    """As ``image_case``, plus flat (one-valued) and two-valued images."""
    return request.param


@pytest.fixture(params=SPECIAL_CASES, ids=str)
def special_case(request) -> ImageCase:
    """Flat and two-valued images only."""
    return request.param


@pytest.fixture(scope="session")
def make_photos():
    """``make_photos(n, height, width, channels=3)`` -> uint8 [n, H, W, C]."""
    return lambda n, height, width, channels=3: _photos(n, height, width, channels).copy()


@pytest.fixture(scope="session")
def make_random_images():
    """``make_random_images(n, height, width, channels=3)`` -> uint8 [n, H, W, C]."""
    return lambda n, height, width, channels=3: _random(n, height, width, channels).copy()


@pytest.fixture
def gpu_visible(monkeypatch):
    """Traces as on a machine with a GPU: `rand_augment` then keeps images in float32
    outside `tf.data` (TF has no GPU kernels for uint8 gathers), which is the graph
    the GPU-readiness checks must see. (On this CPU-only machine it would pick uint8.)
    """
    import randaugment._images

    monkeypatch.setattr(randaugment._images, "_gpu_visible", lambda: True)
