"""Pure RandAugment kernels.

Every kernel maps float32 images `[B, H, W, C]` with integer values in [0, 255] to
images of the same shape and dtype, matching Pillow's uint8 results. A kernel with a
parameter takes it as its second positional argument, float32 `[B]`, one value per
image. Kernels hold no randomness and no magnitudes: `randaugment.OPS` maps a
magnitude to each kernel's parameter.

Channels: every kernel works channel by channel for any static channel count, except
`color` and `contrast`, which need a gray image: they take 3 channels (RGB) or 1
(grayscale; `color` is then the identity) and raise `ValueError` otherwise.
(`rand_augment` accepts 1 or 3 channels.) Degenerate sizes: `sharpness` leaves a
one-pixel border unchanged, as PIL does, so it is the identity below 3x3; every
kernel accepts B = 0 and images down to 1x1.

Example:
    >>> import tensorflow as tf
    >>> from randaugment import ops
    >>> images = tf.fill([2, 8, 8, 3], 100.0)
    >>> ops.solarize(images, tf.constant([256.0, 50.0])).numpy()[:, 0, 0, 0]
    array([100., 155.], dtype=float32)
"""

from randaugment.ops._blend import color, contrast, sharpness, smooth
from randaugment.ops._geometric import (
    cutout,
    rotate,
    shear_x,
    shear_y,
    translate_x,
    translate_y,
    warp_affine,
)
from randaugment.ops._value import (
    auto_contrast,
    brightness,
    equalize,
    identity,
    invert,
    posterize,
    solarize,
    solarize_add,
)

__all__ = [
    "auto_contrast",
    "brightness",
    "color",
    "contrast",
    "cutout",
    "equalize",
    "identity",
    "invert",
    "posterize",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "smooth",
    "solarize",
    "solarize_add",
    "translate_x",
    "translate_y",
    "warp_affine",
]
