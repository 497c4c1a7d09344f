"""Property tests of the kernel contract (hypothesis).

For every op in ``randaugment.OPS``:
- a batch gives the same result as the loop over its images (each image with
  its own parameter): kernels must not mix images;
- output dtype float32, same shape, finite, in [0, 255], integer-valued, for
  any B in 0..8, any size from 1x1 to 40x40, 1 or 3 channels, and parameters
  from the table's range and well beyond it;
- B = 0 works;
- the table's parameter at magnitude 0 is the identity (ops with a parameter;
  identity, auto_contrast, equalize and invert have none and are applied as is).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import randaugment
from randaugment import ops

SPECS = {spec.name: spec for spec in randaugment.OPS}
OP_NAMES = sorted(SPECS)
PARAM_OPS = sorted(name for name, spec in SPECS.items() if spec.has_parameter)
GEOMETRIC = {"rotate", "shear_x", "shear_y", "translate_x", "translate_y"}

COMMON = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def wide_range(name: str, height: int, width: int) -> tuple[float, float]:
    """Parameters well outside the table's range, still meaningful for the kernel."""
    return {
        "rotate": (-400.0, 400.0),
        "shear_x": (-2.0, 2.0),
        "shear_y": (-2.0, 2.0),
        "translate_x": (-2.0 * width, 2.0 * width),
        "translate_y": (-2.0 * height, 2.0 * height),
        "brightness": (0.0, 5.0),
        "color": (0.0, 5.0),
        "contrast": (0.0, 5.0),
        "sharpness": (0.0, 5.0),
        "posterize": (0.0, 8.0),
        "solarize": (0.0, 300.0),
        "solarize_add": (-255.0, 255.0),
        "cutout": (0.0, 2.0 * max(height, width)),
    }[name]


@st.composite
def cases(draw, name: str, min_batch: int = 0):
    """(images uint8 [B, H, W, C], args for the kernel after images, kwargs)."""
    spec = SPECS[name]
    batch = draw(st.integers(min_batch, 8), label="B")
    height = draw(st.integers(1, 40), label="H")
    width = draw(st.integers(1, 40), label="W")
    channels = draw(st.sampled_from([1, 3]), label="C")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch, height, width, channels), dtype=np.uint8)
    if draw(st.booleans(), label="low dynamic range"):
        # Few distinct values: exercises flat histograms, ties in equalize, etc.
        images = (images // 64 * 64 + draw(st.integers(0, 63))).astype(np.uint8)
    args: list = []
    kwargs: dict = {}
    if spec.has_parameter:
        if draw(st.booleans(), label="table range"):
            magnitudes = rng.uniform(0.0, 1.0, batch)
            signs = rng.choice([-1.0, 1.0], batch)
            params = spec.parameter(magnitudes, signs, height=height, width=width).numpy()
        else:
            lo, hi = wide_range(name, height, width)
            params = rng.uniform(lo, hi, batch)
            if name == "posterize":
                params = np.round(params)
        args.append(tf.constant(np.asarray(params, np.float32).reshape(batch)))
    if name == "cutout":
        centers = rng.uniform(-2.0, [width + 2.0, height + 2.0], (batch, 2))
        args.append(tf.constant(centers.astype(np.float32).reshape(batch, 2)))
    if name in GEOMETRIC:
        kwargs["interpolation"] = draw(st.sampled_from(["nearest", "bilinear"]))
        kwargs["fill_value"] = draw(st.sampled_from([128.0, 0.0, 255.0]))
    if name == "cutout":
        kwargs["fill_value"] = draw(st.sampled_from([128.0, 0.0, 255.0]))
    return images, args, kwargs


def check_contract(name, images, out):
    assert out.dtype == tf.float32, f"{name}: dtype {out.dtype.name}"
    out = out.numpy()
    assert out.shape == images.shape, f"{name}: shape {out.shape} for {images.shape}"
    assert np.all(np.isfinite(out)), f"{name}: non-finite values"
    if out.size:
        assert out.min() >= 0.0 and out.max() <= 255.0, f"{name}: [{out.min()}, {out.max()}]"
    assert np.array_equal(out, np.round(out)), f"{name}: not integer-valued"
    return out


@pytest.mark.parametrize("name", OP_NAMES)
def test_batch_equals_loop_over_images(name):
    @COMMON
    @given(case=cases(name))
    def run(case):
        images, args, kwargs = case
        kernel = getattr(ops, name)
        out = check_contract(name, images, kernel(tf.constant(images, tf.float32), *args, **kwargs))
        for i in range(images.shape[0]):
            single = kernel(
                tf.constant(images[i : i + 1], tf.float32), *(a[i : i + 1] for a in args), **kwargs
            )
            single = check_contract(name, images[i : i + 1], single)
            np.testing.assert_array_equal(
                out[i],
                single[0],
                err_msg=f"{name}: image {i} of the batch differs from the same image alone "
                f"(args {[a[i].numpy() for a in args]}, {kwargs})",
            )

    run()


@pytest.mark.parametrize("name", OP_NAMES)
def test_empty_batch(name):
    spec = SPECS[name]
    images = tf.zeros([0, 5, 7, 3])
    args = []
    if spec.has_parameter:
        args.append(tf.zeros([0]))
    if name == "cutout":
        args.append(tf.zeros([0, 2]))
    out = getattr(ops, name)(images, *args)
    assert out.dtype == tf.float32
    assert tuple(out.shape) == (0, 5, 7, 3)


@pytest.mark.parametrize("name", PARAM_OPS)
def test_magnitude_zero_is_identity(name):
    spec = SPECS[name]

    @COMMON
    @given(case=cases(name))
    def run(case):
        images, args, kwargs = case
        batch, height, width = images.shape[:3]
        signs = np.where(np.arange(batch) % 2 == 0, 1.0, -1.0).astype(np.float32)
        params = spec.parameter(tf.zeros([batch]), signs, height=height, width=width)
        assert params.dtype == tf.float32 and tuple(params.shape) == (batch,)
        args = [params, *args[1:]]
        out = getattr(ops, name)(tf.constant(images, tf.float32), *args, **kwargs)
        out = check_contract(name, images, out)
        np.testing.assert_array_equal(
            out,
            images,
            err_msg=f"{name} at magnitude 0 (parameter {params.numpy()}) changed images",
        )

    run()
