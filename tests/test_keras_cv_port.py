"""keras-cv's tests for its RandAugment layer, re-stated for this layer (issue 17).

The behaviour checked follows keras-cv's `keras_cv/src/layers/preprocessing/
rand_augment_test.py` (keras-team/keras-cv), written anew here with
`from randaugment import RandAugment` as the only change a keras-cv user makes.
Where keras-cv's test probes keras-cv internals, the public behaviour it guards is
tested instead (said at each such test). Where keras-cv only checks a shape, the
dtype is checked as well: this layer keeps the input's dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from randaugment import RandAugment

SIZE = 512  # keras-cv's size


def test_zero_rate_pass_through():
    layer = RandAugment(value_range=(0, 255), rate=0.0)
    xs = np.ones((2, SIZE, SIZE, 3))
    ys = layer(xs)
    np.testing.assert_array_equal(ys, xs)


@pytest.mark.parametrize("magnitude", [0.0, 0.2, 0.55, 1.0])
def test_runs_with_magnitude(magnitude):
    layer = RandAugment(value_range=(0, 255), rate=0.5, magnitude=magnitude)
    ys = layer(np.ones((2, SIZE, SIZE, 3)))
    assert ys.shape == (2, SIZE, SIZE, 3)


@pytest.mark.parametrize("low, high", [(0, 255), (-1, 1), (0, 1)])
def test_runs_with_value_range(low, high):
    layer = RandAugment(augmentations_per_image=3, magnitude=0.5, rate=1.0, value_range=(low, high))
    xs = tf.random.uniform((2, SIZE, SIZE, 3), low, high, dtype=tf.float32)
    ys = np.asarray(layer(xs))
    assert np.all((ys >= low) & (ys <= high))
    assert np.mean(ys != xs.numpy()) > 0.5  # and the images were augmented


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_runs_with_dtype_input(dtype):
    layer = RandAugment(value_range=(0, 255))
    xs = np.ones((2, SIZE, SIZE, 3), dtype=dtype)
    ys = layer(xs)
    assert ys.shape == (2, SIZE, SIZE, 3)
    assert ys.dtype == dtype


@pytest.mark.parametrize("low, high", [(0, 255), (-1, 1), (0, 1)])
def test_strongest_policy_respects_value_range(low, high):
    """keras-cv builds its "standard policy" (`get_standard_policy`, magnitude 1 with
    stddev 0.2) and runs it in a `RandomAugmentationPipeline`; those are keras-cv
    internals. The public behaviour they guard: at the strongest setting, with every
    op, the output stays inside `value_range`."""
    layer = RandAugment(
        value_range=(low, high), augmentations_per_image=3, magnitude=1.0, magnitude_stddev=0.2
    )
    xs = tf.random.uniform((2, SIZE, SIZE, 3), low, high, dtype=tf.float32)
    ys = np.asarray(layer(xs))
    assert ys.max() <= high and ys.min() >= low


def test_runs_unbatched():
    layer = RandAugment(augmentations_per_image=3, magnitude=0.5, rate=1.0, value_range=(0, 255))
    xs = tf.random.uniform((SIZE, SIZE, 3), 0, 255, dtype=tf.float32)
    ys = layer(xs)
    assert xs.shape == ys.shape


def test_runs_no_geo():
    """keras-cv checks that no `RandomTranslation` or `RandomShear` is among the
    layer's sub-layers (its `.layers` attribute, an internal). The public behaviour:
    with `geometric=False` no pixel moves. On a flat image every other op keeps the
    image flat (a value map, a blend with a flat or gray image), while a geometric op
    fills part of it with `fill_value`; so 64 images drawing 3 ops each at full
    magnitude all stay flat, and with geometric ops (the control) some do not."""

    def flat_outputs(geometric):
        layer = RandAugment(
            augmentations_per_image=3,
            magnitude=1.0,
            rate=1.0,
            geometric=geometric,
            value_range=(0, 255),
            seed=11,
        )
        ys = np.asarray(layer(np.zeros((64, 32, 32, 3), np.uint8)))
        return [bool(np.all(y == y[0, 0])) for y in ys]

    assert all(flat_outputs(False))
    assert not all(flat_outputs(True))
