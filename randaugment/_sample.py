"""The sample photograph shipped with the package, for previews and first tries.

`data/astronaut.jpg` is NASA's portrait of astronaut Eileen Collins, the photograph
that scikit-image ships as `skimage.data.astronaut()` (512x512). scikit-image took it
from NASA's Great Images database and describes it as having no known copyright
restrictions, released into the public domain. The file here is that image
halved to 256x256 (each pixel the mean of a 2x2 block, Pillow's `Image.reduce(2)`),
saved as a JPEG (quality 90, no chroma subsampling, about 28 kB). The recipe is
`make_sample_jpeg()` in tests/test_sample.py (`python -m tests.test_sample` writes
the file), whose tests check that the file is still that image.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import tensorflow as tf

SAMPLE_FILE = "data/astronaut.jpg"
SAMPLE_CREDIT = (
    "NASA portrait of astronaut Eileen Collins (public domain), "
    "as shipped by scikit-image (skimage.data.astronaut), halved to 256x256"
)


def sample_jpeg() -> bytes:
    """The bytes of the sample photograph, a 256x256 RGB JPEG."""
    return resources.files("randaugment").joinpath(SAMPLE_FILE).read_bytes()


def sample_image() -> np.ndarray:
    """The sample photograph as a new uint8 array ``[256, 256, 3]`` (RGB).

    Decoded with TensorFlow's accurate integer IDCT, libjpeg's default: as the file has
    no chroma subsampling, the pixels are the same as Pillow's (tests/test_sample.py).
    """
    pixels = tf.io.decode_jpeg(sample_jpeg(), channels=3, dct_method="INTEGER_ACCURATE")
    return np.array(pixels, dtype=np.uint8)
