"""What `rand_augment` accepts besides uint8 and float batches (issues 12 and 17).

- integer images of every width and signedness, read in `value_range` like floats
  and given back in their own dtype (the expected values are computed here in NumPy
  from the documented rule, around the uint8 result);
- ragged batches: each image at its own size, with the draws of its position in a
  dense batch;
- images without pixels, and float images holding NaN or infinities;
- `magnitude`, `magnitude_stddev` and `rate` as tensors and variables: a schedule
  changes the next batches of a `tf.data` pipeline without a retrace, and values out
  of range fail when the op runs, naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from randaugment import RandAugment, rand_augment

H, W = 20, 17
ALL_INTS = (
    tf.int8,
    tf.int16,
    tf.int32,
    tf.int64,
    tf.uint8,
    tf.uint16,
    tf.uint32,
    tf.uint64,
)


@pytest.fixture(scope="module")
def photos(make_photos):
    return make_photos(8, H, W)


def _augment(x, **kwargs):
    kwargs = {"num_ops": 3, "magnitude": 0.8, "seed": 5, **kwargs}
    return rand_augment(x, **kwargs)


def _expected_from_levels(x: np.ndarray, value_range, integer: bool) -> np.ndarray:
    """The documented rule, written out: clip into the range, round to the nearest of
    256 levels, augment the levels as uint8, map back (rounded for integer dtypes,
    ties to even); an image whose levels did not change is returned as given."""
    low, high = value_range
    x64 = x.astype(np.float64)
    levels = np.round((np.clip(x64, low, high) - low) * 255.0 / (high - low)).astype(np.uint8)
    out_levels = _augment(tf.constant(levels)).numpy()
    back = low + out_levels.astype(np.float64) * ((high - low) / 255.0)
    if integer:
        back = np.clip(np.round(back), np.ceil(low), np.floor(high))
    back = back.astype(x.dtype)
    changed = (out_levels != levels).reshape(len(x), -1).any(axis=1)
    return np.where(changed[:, None, None, None], back, x)


@pytest.mark.parametrize("dtype", [d for d in ALL_INTS if d != tf.int8], ids=lambda d: d.name)
def test_integer_images_on_0_255_equal_the_uint8_result(photos, dtype):
    """(int8 cannot hold (0, 255); it is tested on (-128, 127) below.)"""
    expected = _augment(tf.constant(photos)).numpy()
    out = _augment(tf.constant(photos.astype(dtype.as_numpy_dtype)))
    assert out.dtype == dtype and out.shape == photos.shape
    np.testing.assert_array_equal(out.numpy(), expected.astype(dtype.as_numpy_dtype))
    assert np.mean(expected != photos) > 0.3  # the ops did change the images


@pytest.mark.parametrize(
    "dtype, value_range",
    [
        (tf.int16, (0, 1000)),
        (tf.int8, (-128, 127)),
        (tf.int32, (-5, 5)),
        (tf.uint16, (0, 65535)),
        (tf.int64, (100, 4000)),
        (tf.uint8, (0, 1)),  # binary images held in uint8
    ],
    ids=str,
)
def test_integer_images_in_other_value_ranges(photos, dtype, value_range):
    low, high = value_range
    rng = np.random.default_rng(0)
    # Values spread over (and a little beyond, where the dtype allows) the range.
    info = np.iinfo(dtype.as_numpy_dtype)
    x = rng.integers(max(info.min, low - 3), min(info.max, high + 3) + 1, photos.shape)
    x = x.astype(dtype.as_numpy_dtype)
    out = _augment(tf.constant(x), value_range=value_range)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out.numpy(), _expected_from_levels(x, value_range, True))
    assert out.numpy().min() >= min(low, x.min()) and out.numpy().max() <= max(high, x.max())


def test_integer_images_whose_levels_do_not_change_come_back_as_given():
    x = np.arange(2 * 8 * 8 * 3, dtype=np.int32).reshape(2, 8, 8, 3) % 1000 + 3
    out = rand_augment(x, value_range=(0, 1000), ops=["identity"], num_ops=2, seed=0)
    np.testing.assert_array_equal(out.numpy(), x)  # off the level grid, yet untouched


@pytest.mark.parametrize(
    "dtype, value_range, match",
    [
        (tf.int8, (0, 255), r"images\.dtype=int8 .*Received: value_range=\(0(\.0)?, 255"),
        (tf.uint16, (-1, 1), r"uint16 .*value_range=\(-1(\.0)?, 1(\.0)?\)"),
    ],
    ids=str,
)
def test_integer_value_range_beyond_the_dtype_is_refused(dtype, value_range, match):
    with pytest.raises(ValueError, match=match):
        rand_augment(tf.zeros([1, 4, 4, 3], dtype), value_range=value_range, seed=0)


@pytest.mark.parametrize("dtype", [tf.bool, tf.complex64, tf.string], ids=lambda d: d.name)
def test_non_numeric_images_keep_a_clear_error(dtype):
    x = tf.zeros([1, 4, 4, 3], dtype) if dtype != tf.string else tf.fill([1, 4, 4, 3], "a")
    with pytest.raises(TypeError, match=rf"images\.dtype={dtype.name}"):
        rand_augment(x, seed=0)


def test_numpy_default_integers_in_the_layer():
    """A newcomer's `np.random.randint` images are int64: accepted, int64 out."""
    x = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3))
    assert x.dtype == np.int64
    out = RandAugment(seed=1, magnitude=0.9)(x)
    assert out.dtype == tf.int64 and out.shape == x.shape
    expected = RandAugment(seed=1, magnitude=0.9)(x.astype(np.uint8))
    np.testing.assert_array_equal(out.numpy(), expected.numpy().astype(np.int64))


# -- ragged batches ---------------------------------------------------------------------

SIZES = [(12, 9), (7, 15), (16, 16), (5, 5)]


def _ragged(images):
    return tf.ragged.stack([tf.RaggedTensor.from_tensor(tf.constant(i)) for i in images])


@pytest.fixture(scope="module")
def mixed_sizes(make_photos):
    return [make_photos(1, h, w)[0] for h, w in SIZES]


@pytest.mark.parametrize("dtype", [tf.uint8, tf.float32, tf.int32], ids=lambda d: d.name)
def test_ragged_batch_equals_each_image_at_its_position_in_a_dense_batch(mixed_sizes, dtype):
    value_range = (0, 1) if dtype.is_floating else (0, 255)
    scale = 255.0 if dtype.is_floating else 1.0
    images = [(i / scale).astype(dtype.as_numpy_dtype) for i in mixed_sizes]
    out = _augment(_ragged(images), value_range=value_range)
    assert isinstance(out, tf.RaggedTensor) and out.dtype == dtype
    changed = 0
    for b, image in enumerate(images):
        # Image b in a dense batch of b + 1 copies of itself, at position b.
        dense = _augment(np.stack([image] * (b + 1)), value_range=value_range)[b].numpy()
        got = out[b].to_tensor().numpy()
        assert got.shape == image.shape
        np.testing.assert_array_equal(got, dense)
        changed += np.any(got != image)
    assert changed >= 3


def test_ragged_batch_in_tf_data_and_the_layer(mixed_sizes):
    ragged = _ragged(mixed_sizes)
    expected = _augment(ragged)
    ds = tf.data.Dataset.from_tensors(ragged).map(lambda r: _augment(r))
    (got,) = list(ds)
    np.testing.assert_array_equal(got.flat_values.numpy(), expected.flat_values.numpy())
    np.testing.assert_array_equal(got.row_splits.numpy(), expected.row_splits.numpy())
    layer_out = RandAugment(seed=3, magnitude=0.9)(ragged)
    assert isinstance(layer_out, tf.RaggedTensor)
    np.testing.assert_array_equal(layer_out.nested_row_splits[1], ragged.nested_row_splits[1])


def test_ragged_rows_within_an_image_are_refused():
    # One "image" whose rows differ in length cannot be an [H, W, C] array.
    bad = tf.RaggedTensor.from_nested_row_lengths(tf.zeros([7, 3], tf.uint8), [[2], [3, 4]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="ragged within an image"):
        rand_augment(bad, seed=0)


# -- images without pixels, NaN and infinities -----------------------------------------


@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((2, 0, 5, 3), tf.uint8),
        ((2, 5, 0, 3), tf.float32),
        ((0, 5), tf.uint8),
        ((3, 0, 1), tf.int16),
    ],
    ids=str,
)
def test_images_without_pixels_come_back_unchanged(shape, dtype):
    shape = shape if len(shape) != 2 else (shape[0], shape[1], 3)
    x = tf.zeros(shape, dtype)
    out = _augment(x)
    assert out.shape == x.shape and out.dtype == dtype
    spec = tf.TensorSpec([None] * (len(shape) - 1) + [shape[-1]], dtype)
    f = tf.function(lambda x: _augment(x), input_signature=[spec])
    assert f(x).shape == x.shape
    # The same traced function still augments images that have pixels.
    y = tf.random.stateless_uniform(shape[:-3] + (9, 9, shape[-1]), (1, 2), 0, 255)
    y = tf.cast(y, dtype)
    assert np.any(f(y).numpy() != y.numpy())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=str)
def test_non_finite_images_pass_through_untouched(photos, bad):
    x = photos.astype(np.float32) / 255.0
    x[2, 3, 4, 1] = bad
    out = _augment(tf.constant(x), value_range=(0, 1)).numpy()
    np.testing.assert_array_equal(out[2], x[2])  # NaN-aware: same NaN positions
    expected = _augment(tf.constant(np.delete(x, 2, axis=0)), value_range=(0, 1)).numpy()
    others = np.delete(out, 2, axis=0)
    assert np.isfinite(others).all()
    # The other images are augmented as usual (image b keeps its own draws, so compare
    # those before the bad one, whose positions did not move).
    np.testing.assert_array_equal(others[:2], expected[:2])
    assert np.mean(others != np.delete(x, 2, axis=0)) > 0.3


def test_check_numerics_raises_on_non_finite_values(photos):
    x = photos.astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        _augment(tf.constant(x), check_numerics=True)
    ok = _augment(tf.constant(photos.astype(np.float32)), check_numerics=True)
    assert ok.shape == photos.shape
    with pytest.raises(TypeError, match="check_numerics='yes'"):
        _augment(tf.constant(x), check_numerics="yes")


# -- magnitude, magnitude_stddev and rate as tensors -----------------------------------


def test_tensor_arguments_equal_the_same_floats(photos):
    kwargs = {"magnitude": 0.7, "magnitude_stddev": 0.3, "rate": 0.8}
    expected = _augment(tf.constant(photos), **kwargs).numpy()
    as_tensors = {k: tf.constant(v) for k, v in kwargs.items()}
    np.testing.assert_array_equal(_augment(tf.constant(photos), **as_tensors), expected)
    as_variables = {k: tf.Variable(v) for k, v in kwargs.items()}
    f = tf.function(lambda x: _augment(x, **as_variables))
    np.testing.assert_array_equal(f(tf.constant(photos)), expected)
    jit = tf.function(lambda x: _augment(x, **as_variables), jit_compile=True)
    np.testing.assert_array_equal(jit(tf.constant(photos)), expected)


def test_a_magnitude_variable_ramps_a_pipeline_without_retracing(photos):
    magnitude = tf.Variable(0.0)
    traces = []

    def fn(i, x):
        traces.append(1)
        return rand_augment(x, num_ops=2, magnitude=magnitude, seed=tf.stack([1, i]))

    ds = tf.data.Dataset.from_tensors(tf.constant(photos)).repeat(2).enumerate()
    ds = ds.map(lambda i, x: fn(tf.cast(i, tf.int32), x))
    before = [b.numpy() for b in ds]
    magnitude.assign(0.9)
    after = [b.numpy() for b in ds]
    assert len(traces) == 1
    for b in before:  # magnitude 0 is the identity of every op
        np.testing.assert_array_equal(b, photos)
    for i, b in enumerate(after):
        expected = rand_augment(photos, num_ops=2, magnitude=0.9, seed=(1, i)).numpy()
        np.testing.assert_array_equal(b, expected)
        assert np.mean(b != photos) > 0.3


def test_the_layer_with_a_magnitude_variable(photos, tmp_path):
    magnitude = tf.Variable(0.0)
    layer = RandAugment(magnitude=magnitude, num_ops=2, seed=4)
    ds = tf.data.Dataset.from_tensors(tf.constant(photos)).repeat(2).map(layer)
    np.testing.assert_array_equal(list(ds)[0], photos)
    magnitude.assign(1.0)
    assert all(np.mean(b.numpy() != photos) > 0.3 for b in ds)
    config = layer.get_config()
    assert config["magnitude"] == 1.0 and isinstance(config["magnitude"], float)
    assert len(layer.weights) == 1  # the variable stays the caller's, not a weight


@pytest.mark.parametrize(
    "name, value", [("magnitude", 1.5), ("magnitude_stddev", -0.2), ("rate", float("nan"))]
)
def test_tensor_arguments_out_of_range_fail_when_the_op_runs(photos, name, value):
    variable = tf.Variable(0.5)
    ds = tf.data.Dataset.from_tensors(tf.constant(photos)).map(
        lambda x: rand_augment(x, seed=0, **{name: variable})
    )
    variable.assign(value)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed") as info:
        list(ds)
    # The argument and its range in the failing node's name, the value in the data.
    assert f"{name}_must_be_in_0_to_1/Received_{name}" in str(info.value)
    assert f"[{value}]" in str(info.value)
    # An eager tensor is checked at once, as a float is.
    with pytest.raises(ValueError, match=rf"{name}={value}"):
        rand_augment(photos, seed=0, **{name: tf.constant(value)})


@pytest.mark.parametrize(
    "value, error, match",
    [
        (tf.constant([0.5, 0.6]), ValueError, r"magnitude.* shape \(2,\)"),
        (tf.constant(True), TypeError, r"magnitude.* dtype bool"),
        (tf.constant("0.5"), TypeError, r"magnitude.* dtype string"),
    ],
    ids=["vector", "bool", "string"],
)
def test_bad_magnitude_tensors(value, error, match):
    with pytest.raises(error, match=match):
        rand_augment(tf.zeros([1, 4, 4, 3], tf.uint8), magnitude=value)


# -- GPU and XLA readiness of what these inputs add -------------------------------------


@pytest.mark.parametrize(
    "dtype, shape, kwargs",
    [
        (tf.int32, [None, 16, 16, 3], {}),
        (tf.int64, [None, None, None, 3], {}),
        (tf.uint16, [4, 16, 16, 1], {"value_range": (0, 4095)}),
        (tf.float32, [None, 16, 16, 3], {"value_range": (0, 1), "check_numerics": True}),
        (tf.float16, [None, 16, 16, 3], {"value_range": (0, 1), "tensors": True}),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_graph_has_gpu_and_xla_kernels(dtype, shape, kwargs, gpu_visible):
    """Integer inputs, the NaN handling, the zero-size branch of unknown image sizes
    and the run-time checks of tensor arguments add ops: every one of them has a GPU
    kernel, and an XLA_GPU_JIT kernel under `jit_compile=True`."""
    from graph_check import gpu_kernel_violations

    kwargs = dict(kwargs)
    if kwargs.pop("tensors", False):
        kwargs.update(magnitude=tf.Variable(0.5), rate=tf.Variable(0.9))

    def f(x):
        return rand_augment(x, num_ops=2, seed=(1, 2), interpolation="bilinear", **kwargs)

    spec = tf.TensorSpec(shape, dtype)
    violations = gpu_kernel_violations(tf.function(f).get_concrete_function(spec), xla=False)
    jit = tf.function(f, jit_compile=True).get_concrete_function(spec)
    violations += [f"[jit] {v}" for v in gpu_kernel_violations(jit, runtime=False)]
    assert not violations, "\n  ".join(violations)


def test_negative_seed_components_give_one_result_in_every_mode(photos):
    """A seed tensor with a negative component (what `stateless_fold_in` can return)
    is taken modulo 2**31, as an int seed is: TF's stateless ops otherwise draw
    differently under XLA than in graph mode."""
    seed = tf.constant([-5, 1])
    x = tf.constant(photos)
    eager = _augment(x, seed=seed).numpy()
    for f in (tf.function(lambda x: _augment(x, seed=seed)),
              tf.function(lambda x: _augment(x, seed=seed), jit_compile=True)):  # fmt: skip
        np.testing.assert_array_equal(f(x).numpy(), eager)
    same = tf.constant([2**31 - 5, 1], tf.int64)
    np.testing.assert_array_equal(_augment(x, seed=same).numpy(), eager)
