"""The sample photograph shipped as package data is what `randaugment._sample` says.

It is scikit-image's astronaut halved (provenance), small, decoded the same way as
Pillow decodes it, and each call returns its own array. To write the photograph again,
run this file from the repository root: `python -m tests.test_sample`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from randaugment import _sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PATH = ROOT / "randaugment" / _sample.SAMPLE_FILE


def halved_astronaut() -> Image.Image:
    """scikit-image's astronaut (512x512), each pixel of the result a 2x2 block's mean."""
    import skimage.data

    return Image.fromarray(skimage.data.astronaut()).reduce(2)


def make_sample_jpeg() -> bytes:
    """The recipe of `randaugment/data/astronaut.jpg`."""
    out = io.BytesIO()
    halved_astronaut().save(out, "JPEG", quality=90, subsampling=0, optimize=True)
    return out.getvalue()


def _pillow_pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))


def test_sample_is_the_halved_astronaut():
    """Provenance: the pixels are scikit-image's astronaut halved, up to JPEG error
    (measured: mean 2.4 levels, 99th percentile 12). Another photograph, or this one
    moved by one pixel, is far outside."""
    image = _sample.sample_image()
    assert image.shape == (256, 256, 3)
    assert image.dtype == np.uint8
    reference = np.asarray(halved_astronaut(), dtype=np.int16)
    error = np.abs(image.astype(np.int16) - reference)
    assert error.mean() < 3.0, f"mean error {error.mean():.2f} levels"
    assert np.percentile(error, 99) <= 16, f"99th percentile {np.percentile(error, 99)}"
    shifted = np.abs(np.roll(image, 1, axis=1).astype(np.int16) - reference)
    assert shifted.mean() > 2 * error.mean(), "the check cannot tell a moved image apart"


def test_sample_file_is_a_small_jpeg():
    data = _sample.sample_jpeg()
    assert data == SAMPLE_PATH.read_bytes()
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG"
    assert len(data) < 50_000, f"{len(data)} bytes; the issue allows under 50 kB"
    with Image.open(io.BytesIO(data)) as image:
        assert (image.size, image.mode) == ((256, 256), "RGB")


def test_sample_pixels_are_pillows():
    """TensorFlow's decoding (accurate IDCT, no chroma subsampling) is Pillow's, exactly."""
    np.testing.assert_array_equal(_sample.sample_image(), _pillow_pixels(_sample.sample_jpeg()))


def test_recipe_makes_the_shipped_file():
    """The documented recipe gives the same pixels (the bytes may differ between
    libjpeg builds; the pixels may by a level where the encoder rounds otherwise)."""
    made = _pillow_pixels(make_sample_jpeg()).astype(np.int16)
    shipped = _pillow_pixels(_sample.sample_jpeg()).astype(np.int16)
    assert np.abs(made - shipped).max() <= 1


def test_each_call_returns_its_own_array():
    first = _sample.sample_image()
    first[...] = 0
    second = _sample.sample_image()
    assert second.flags.writeable
    assert second.any(), "a caller's write reached the next call's array"


if __name__ == "__main__":
    SAMPLE_PATH.parent.mkdir(exist_ok=True)
    SAMPLE_PATH.write_bytes(make_sample_jpeg())
    print(f"wrote {SAMPLE_PATH} ({SAMPLE_PATH.stat().st_size} bytes)")
