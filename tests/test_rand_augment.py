"""`randaugment.rand_augment`, the functional op (issue 3).

- the fast path equals a simple per-op reference path written here: the plan from
  `draw_plan`, then each image's ops applied one kernel call at a time;
- same seed, same output in eager, `tf.function`, `tf.data` and `jit_compile=True`;
  "partition" and "fused" bit-identical; a different seed gives a different result;
- per-image diversity and batch independence;
- bad inputs raise, naming the argument and echoing the value;
- dtypes, a single image, unknown shapes, B = 0, value ranges; hypothesis properties;
- GPU readiness of the traced graph (`graph_check`) and XLA compilation.

The op statistics (chi-square on a probe op table) are in `test_selection_stats.py`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf
from graph_check import gpu_kernel_violations
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import randaugment
import randaugment.functional
from randaugment import rand_augment
from randaugment._plan import draw_plan
from randaugment.ops._common import quantize_factor
from randaugment.table import OPS_BY_NAME

ALL_OPS = randaugment.available_ops()
FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
H, W = 24, 20  # not square, so width and height mix-ups show


@pytest.fixture(scope="module")
def photos(make_photos):
    """16 different uint8 photographs, 24x20 RGB."""
    return make_photos(16, H, W)


def _seed(a, b=0):
    return tf.constant([a, b], tf.int32)


def _equal(a, b):
    """Bit-identical (NaN-safe) comparison of two arrays with a useful message."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    if a.dtype.kind == "f":
        a, b = a.view(f"u{a.dtype.itemsize}"), b.view(f"u{b.dtype.itemsize}")
    differ = a != b
    if differ.any():
        idx = tuple(int(i) for i in np.argwhere(differ)[0])
        raise AssertionError(
            f"{int(differ.sum())} of {differ.size} values differ; first at {idx}: "
            f"{np.asarray(a)[idx]!r} vs {np.asarray(b)[idx]!r}"
        )


def _cast(images_u8, dtype, value_range=(0, 255)):
    low, high = value_range
    x = low + images_u8.astype(np.float64) * ((high - low) / 255.0)
    return tf.cast(tf.constant(x), dtype)


# -- the reference path ------------------------------------------------------------------


def reference(images, seed, *, num_ops, magnitude, magnitude_stddev, rate, ops, fill, interp):
    """One kernel call per image and applied slot, from the same plan.

    Returns the uint8 result and the set of op names that were applied.
    """
    specs = [OPS_BY_NAME[name] for name in ops]
    batch, height, width = images.shape[:3]
    plan = draw_plan(
        seed, tf.constant(batch), num_ops, len(specs), magnitude, magnitude_stddev, rate
    )
    op, sign, mag = plan.op.numpy(), plan.sign.numpy(), plan.magnitude.numpy()
    apply, center = plan.apply.numpy(), plan.center.numpy()
    applied = set()
    out = []
    for b in range(batch):
        image = tf.constant(images[b : b + 1].astype(np.float32))
        for n in range(num_ops):
            if not apply[b, n]:
                continue
            spec = specs[op[b, n]]
            applied.add(spec.name)
            if not spec.has_parameter:
                image = spec.kernel(image)
                continue
            param = spec.parameter(mag[b, n : n + 1], sign[b, n : n + 1], height, width)
            if spec.name == "cutout":
                centers = center[b, n : n + 1] * np.array([width, height], np.float32)
                image = spec.kernel(image, param, centers, fill_value=fill)
            elif spec.family == "geometric":
                image = spec.kernel(image, param, fill_value=fill, interpolation=interp)
            else:
                image = spec.kernel(image, param)
        out.append(image.numpy())
    return np.concatenate(out).astype(np.uint8), applied


REFERENCE_CASES = {
    "nearest": dict(num_ops=3, magnitude=0.9, magnitude_stddev=0.2, rate=0.9, fill=128.0),
    "bilinear": dict(num_ops=2, magnitude=0.6, magnitude_stddev=0.5, rate=1.0, fill=0.0),
}


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("interp", sorted(REFERENCE_CASES))
def test_fast_path_equals_per_op_reference(photos, method, interp):
    case = REFERENCE_CASES[interp]
    applied = set()
    for seed in (_seed(1, 2), _seed(99, 7)):
        expected, used = reference(photos, seed, ops=ALL_OPS, interp=interp, **case)
        applied |= used
        args = dict(case, fill_value=case["fill"])
        del args["fill"]
        out = rand_augment(
            photos, ops=ALL_OPS, interpolation=interp, seed=seed, method=method, **args
        )
        _equal(out.numpy(), expected)
    # The comparison is only worth as much as the ops it covered.
    assert len(applied) >= len(ALL_OPS) - 3, f"only {sorted(applied)} were applied"


@pytest.mark.parametrize(
    "ops",
    [
        ["auto_contrast", "equalize", "identity"],
        ["equalize", "rotate", "auto_contrast", "posterize", "solarize", "color"],
    ],
    ids=["histogram-family", "mixed"],
)
def test_partition_equals_reference_when_a_family_holds_several_ops(photos, ops):
    """The partition sorts each slot's images by family and, within the histogram
    family, by op, building each table for its own images only; the parts must map
    back to the right images, in graph mode and in tf.data too (Grappler sees the
    graph there)."""
    case = dict(num_ops=3, magnitude=0.7, magnitude_stddev=0.3, rate=0.9)
    x = np.concatenate([photos, photos[::-1]])  # 32 images: every op in most slots
    expected, used = reference(x, _seed(5, 6), ops=ops, interp="nearest", fill=128.0, **case)
    assert {"auto_contrast", "equalize"} <= used

    def f(images):
        return rand_augment(images, ops=ops, seed=_seed(5, 6), method="partition", **case)

    _equal(f(tf.constant(x)).numpy(), expected)
    _equal(tf.function(f)(tf.constant(x)).numpy(), expected)
    for batch in tf.data.Dataset.from_tensors(x).map(f):
        _equal(batch.numpy(), expected)


def test_fast_path_equals_reference_for_float_input_on_the_level_grid(photos):
    """Float input holding the 256 levels of (0, 1): the result is the reference's
    levels mapped back to (0, 1)."""
    case = REFERENCE_CASES["nearest"]
    expected, _ = reference(photos, _seed(4), ops=ALL_OPS, interp="nearest", **case)
    out = rand_augment(
        _cast(photos, tf.float32, (0, 1)),
        num_ops=case["num_ops"],
        magnitude=case["magnitude"],
        magnitude_stddev=case["magnitude_stddev"],
        rate=case["rate"],
        ops=ALL_OPS,
        value_range=(0, 1),
        seed=_seed(4),
    ).numpy()
    np.testing.assert_array_equal(np.round(out * 255.0), expected.astype(np.float32))
    np.testing.assert_allclose(out, expected / 255.0, rtol=0, atol=1e-7)


# -- determinism -----------------------------------------------------------------------


def _augment(method, seed=(5, 9), **kwargs):
    seed = _seed(*seed) if isinstance(seed, tuple) else seed
    kwargs = {"ops": ALL_OPS, "magnitude": 0.8, "magnitude_stddev": 0.3, "rate": 0.9} | kwargs

    def f(x):
        return rand_augment(x, seed=seed, method=method, **kwargs)

    return f


@pytest.mark.parametrize(
    "method, dtype",
    [("auto", tf.float32), ("partition", tf.uint8), ("fused", tf.uint8)],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_same_seed_same_output_in_eager_function_and_tf_data(photos, method, dtype):
    x = _cast(photos[:8], dtype)
    f = _augment(method)
    eager = f(x).numpy()
    _equal(tf.function(f)(x).numpy(), eager)
    ds = tf.data.Dataset.from_tensors(x).repeat(2).map(f, num_parallel_calls=2)
    for batch in ds:
        _equal(batch.numpy(), eager)
    _equal(f(x).numpy(), eager)  # and again in eager
    assert not np.array_equal(eager, x.numpy())


# The blends and contrast: float arithmetic where XLA's fusion could round differently.
BLENDS = ("color", "contrast", "sharpness", "brightness")


@pytest.mark.parametrize(
    "method, dtype, batch, ops",
    [
        ("fused", tf.uint8, None, ALL_OPS),
        ("auto", tf.float32, 8, ALL_OPS),
        ("fused", tf.float32, 8, BLENDS),
    ],
    ids=lambda v: getattr(v, "name", "blends" if v == BLENDS else str(v)[:8]),
)
def test_same_seed_same_output_under_jit_compile(photos, method, dtype, batch, ops):
    """XLA ("auto" picks "fused" there) equals graph mode and eager "partition", the
    path checked against the reference. Also with an unknown batch size."""
    x = _cast(photos[:8], dtype, (0, 255) if dtype == tf.uint8 else (0, 1))
    signature = [tf.TensorSpec([batch, H, W, 3], dtype)]
    kw = dict(interpolation="bilinear", ops=ops, num_ops=3, value_range=(0, 1))
    if dtype == tf.uint8:
        kw["value_range"] = (0, 255)
    f = _augment(method, **kw)
    expected = _augment("partition", **kw)(x).numpy()
    graph = tf.function(f, input_signature=signature)(x).numpy()
    xla = tf.function(f, jit_compile=True, input_signature=signature)(x).numpy()
    _equal(graph, expected)
    _equal(xla, expected)


def test_partition_and_fused_are_bit_identical(photos):
    cases = [
        (tf.constant(photos), (0, 255), "nearest", 0),
        (_cast(photos, tf.float32, (-1, 1)), (-1, 1), "bilinear", 1),
        (_cast(photos, tf.float16, (0, 1)), (0, 1), "nearest", 2),
    ]
    for x, vr, interp, seed in cases:
        kw = dict(seed=(seed, 3), interpolation=interp, fill_value=40.0 * seed, value_range=vr)
        a = _augment("partition", **kw)(x)
        b = _augment("fused", **kw)(x)
        _equal(a.numpy(), b.numpy())


def test_int_seed_and_seed_tensor_inputs(photos):
    x = tf.constant(photos[:8])
    a = rand_augment(x, seed=3).numpy()
    _equal(rand_augment(x, seed=3).numpy(), a)
    assert not np.array_equal(rand_augment(x, seed=4).numpy(), a)

    # A seed fed to one traced function: different per call, reproducible.
    f = tf.function(lambda x, s: rand_augment(x, seed=s))
    outs = [f(x, _seed(s, 1)).numpy() for s in (0, 1, 0)]
    _equal(outs[0], outs[2])
    assert not np.array_equal(outs[0], outs[1])
    assert f.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("method", ["partition", "fused"])
def test_different_seed_different_output(photos, method):
    x = tf.constant(photos)
    outs = [_augment(method, seed=_seed(s, t))(x).numpy() for s, t in ((0, 0), (1, 0), (0, 1))]
    for i in range(3):
        for j in range(i):
            # Most images differ, not just one.
            same = [np.array_equal(outs[i][b], outs[j][b]) for b in range(len(x))]
            assert sum(same) <= len(x) // 4, f"seeds {i} and {j}: {sum(same)} images equal"


def test_dataset_batches_get_their_own_draws(photos):
    """The docstring's recipe: a per-batch seed from `enumerate`."""
    same = np.repeat(photos[:1], 16, axis=0)
    ds = tf.data.Dataset.from_tensor_slices(same).batch(4).enumerate()
    ds = ds.map(lambda i, x: rand_augment(x, seed=tf.stack([7, tf.cast(i, tf.int32)])))
    batches = [b.numpy() for b in ds]
    assert len(batches) == 4
    for i in range(4):
        for j in range(i):
            assert not np.array_equal(batches[i], batches[j])
    again = [b.numpy() for b in ds]
    for a, b in zip(batches, again, strict=True):
        _equal(a, b)


def test_unseeded_calls_differ(photos):
    x = tf.constant(photos[:8])
    assert not np.array_equal(rand_augment(x).numpy(), rand_augment(x).numpy())
    f = tf.function(lambda x: rand_augment(x))
    assert not np.array_equal(f(x).numpy(), f(x).numpy())
    # Concurrent calls in a parallel tf.data map: every batch its own draw.
    copies = np.repeat(photos[:1], 4, axis=0)
    ds = tf.data.Dataset.from_tensors(copies).repeat(48)
    ds = ds.map(lambda b: rand_augment(b, num_ops=2, magnitude=0.9), num_parallel_calls=4)
    batches = [b.numpy().tobytes() for b in ds]
    assert len(set(batches)) == len(batches)


# -- per image -------------------------------------------------------------------------


def test_copies_of_one_image_get_different_outputs(photos):
    copies = np.repeat(photos[:1], 64, axis=0)
    out = rand_augment(tf.constant(copies), num_ops=2, magnitude=0.9, seed=0).numpy()
    distinct = {o.tobytes() for o in out}
    # 14 ops, 2 slots: 196 ordered pairs; identity-like pairs collide, most don't.
    assert len(distinct) >= 32, f"only {len(distinct)} distinct outputs of 64"
    changed = sum(not np.array_equal(o, copies[0]) for o in out)
    assert changed >= 48


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("dtype", [tf.uint8, tf.float32], ids=lambda d: d.name)
def test_an_image_does_not_depend_on_its_batch(photos, method, dtype):
    x = _cast(photos, dtype)
    f = _augment(method)
    full = f(x).numpy()
    for k in (1, 3, 7):
        _equal(f(x[:k]).numpy(), full[:k])
    # Other images, same first image: the same first output.
    other = tf.concat([x[:1], tf.reverse(x[1:], axis=[0])], axis=0)
    _equal(f(other).numpy()[0], full[0])
    # A single image [H, W, C] is image 0 of a batch.
    _equal(f(x[0]).numpy(), full[0])


# -- bad inputs ------------------------------------------------------------------------

GOOD = tf.zeros([2, 8, 8, 3], tf.uint8)

BAD_IMAGES = [
    (tf.zeros([8, 8], tf.uint8), ValueError, r"images\.shape=\(8, 8\)"),
    (tf.zeros([1, 2, 8, 8, 3], tf.uint8), ValueError, r"images\.shape=\(1, 2, 8, 8, 3\)"),
    (tf.zeros([2, 8, 8, 4], tf.uint8), ValueError, r"images\.shape=\(2, 8, 8, 4\)"),
    (tf.zeros([2, 8, 8, 2], tf.float32), ValueError, r"images\.shape=\(2, 8, 8, 2\)"),
    (tf.fill([1, 2, 2, 3], "a"), TypeError, r"images\.dtype=string"),
    (tf.zeros([2, 8, 8, 3], tf.complex64), TypeError, r"images\.dtype=complex64"),
    (tf.zeros([2, 8, 8, 3], tf.bool), TypeError, r"images\.dtype=bool"),
]


@pytest.mark.parametrize("images, error, match", BAD_IMAGES, ids=lambda v: None)
def test_bad_images_raise(images, error, match):
    with pytest.raises(error, match=match):
        rand_augment(images, seed=0)


BAD_ARGUMENTS = [
    ({"magnitude": 1.7}, ValueError, r"magnitude=1\.7"),
    ({"magnitude": float("nan")}, ValueError, r"magnitude=nan"),
    ({"magnitude": -0.1}, ValueError, r"magnitude=-0\.1"),
    ({"magnitude": "0.5"}, TypeError, r"magnitude='0\.5'"),
    ({"magnitude_stddev": 2.0}, ValueError, r"magnitude_stddev=2\.0"),
    ({"num_ops": -1}, ValueError, r"num_ops=-1"),
    ({"num_ops": 1.5}, TypeError, r"num_ops=1\.5"),
    ({"num_ops": True}, TypeError, r"num_ops=True"),
    ({"rate": 1.2}, ValueError, r"rate=1\.2"),
    ({"rate": -0.5}, ValueError, r"rate=-0\.5"),
    ({"ops": ["rotate", "rotat"]}, ValueError, r"'rotat'"),
    ({"ops": []}, ValueError, r"ops=(\[\]|\(\))"),
    ({"ops": "rotate"}, TypeError, r"ops='rotate'"),
    ({"value_range": (1, 1)}, ValueError, r"value_range=\(1, 1\)"),
    ({"value_range": (2, 1)}, ValueError, r"value_range=\(2, 1\)"),
    ({"value_range": 255}, ValueError, r"value_range=255"),
    ({"interpolation": "cubic"}, ValueError, r"interpolation='cubic'"),
    ({"fill_value": 300}, ValueError, r"fill_value=300"),
    ({"method": "fast"}, ValueError, r"method='fast'"),
    ({"value_range": (0, 256)}, ValueError, r"value_range=\(0(\.0)?, 256(\.0)?\)"),  # beyond uint8
    ({"seed": "x"}, (TypeError, ValueError), r"seed"),
    ({"seed": tf.constant([1, 2, 3])}, ValueError, r"seed .*shape \(3,\)"),
]


@pytest.mark.parametrize(
    "kwargs, error, match", BAD_ARGUMENTS, ids=[str(k) for k, _, _ in BAD_ARGUMENTS]
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        rand_augment(GOOD, **kwargs)
    name = next(iter(kwargs))
    if name != "seed":
        assert f"`{name}`" in str(info.value) or f"{name}=" in str(info.value)


def test_unknown_op_lists_the_valid_ones():
    with pytest.raises(ValueError, match="rotat") as info:
        rand_augment(GOOD, ops=["rotat"])
    message = str(info.value)
    missing = [name for name in ALL_OPS if repr(name) not in message]
    assert not missing, f"valid ops not listed: {missing}"


def test_unknown_channel_count_is_refused():
    f = tf.function(lambda x: rand_augment(x, seed=0))
    with pytest.raises(ValueError, match=re.escape("images.shape=(None, 8, 8, None)")):
        f.get_concrete_function(tf.TensorSpec([None, 8, 8, None], tf.uint8))


@pytest.mark.parametrize("dtype", [tf.uint8, tf.float32, tf.bfloat16], ids=lambda d: d.name)
@pytest.mark.parametrize(
    "kwargs", [{"num_ops": 0}, {"magnitude": 0.0}, {"rate": 0.0}], ids=lambda k: str(k)
)
def test_nothing_to_do_returns_the_input(photos, dtype, kwargs):
    x = _cast(photos, dtype, (0, 1) if dtype != tf.uint8 else (0, 255))
    # Off the 256-level grid: a quantizing path would change these values.
    if dtype != tf.uint8:
        x = x * tf.cast(0.997, dtype)
    vr = (0, 1) if dtype != tf.uint8 else (0, 255)
    out = rand_augment(x, value_range=vr, ops=ALL_OPS, seed=0, **kwargs)
    _equal(out.numpy(), x.numpy())
    out = tf.function(lambda x: rand_augment(x, value_range=vr, seed=0, **kwargs))(x)
    _equal(out.numpy(), x.numpy())


def test_float_input_outside_value_range_is_clipped_when_changed():
    """Docstring: float values outside `value_range` are clipped into it; images that
    no op changes are returned exactly."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 1.5, (4, 9, 7, 3)).astype(np.float32)
    out = rand_augment(x, ops=["invert"], num_ops=1, value_range=(0, 1), seed=0).numpy()
    assert out.min() >= 0.0 and out.max() <= 1.0
    levels = np.round(np.clip(x, 0, 1) * 255.0)
    np.testing.assert_allclose(out, (255.0 - levels) / 255.0, rtol=0, atol=1e-7)
    # Drawn but changing nothing: returned exactly, out-of-range values included.
    out = rand_augment(x, ops=["identity"], value_range=(0, 1), seed=0).numpy()
    _equal(out, x)


def test_float_input_whose_levels_come_back_unchanged_is_returned_exactly():
    """Docstring: an image whose levels come out of the ops unchanged ("ops that cancel
    out such as two inverts") is returned exactly as given, neither clipped nor
    quantized; the other images of the batch are clipped and quantized."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 1.5, (4, 9, 7, 3)).astype(np.float32)
    out = rand_augment(x, ops=["invert"], num_ops=2, value_range=(0, 1), seed=0).numpy()
    _equal(out, x)
    # Same batch, one image inverted once (rate 0.5 skips some slots): only the
    # images inverted an odd number of times change.
    out = rand_augment(x, ops=["invert"], num_ops=3, rate=0.5, value_range=(0, 1), seed=1)
    out = out.numpy()
    levels = np.round(np.clip(x, 0, 1) * 255.0)
    kinds = set()
    for b in range(len(x)):
        if np.array_equal(out[b], x[b]):
            kinds.add("exact")
        else:
            np.testing.assert_allclose(out[b], (255.0 - levels[b]) / 255.0, rtol=0, atol=1e-7)
            kinds.add("inverted")
    assert kinds == {"exact", "inverted"}, f"seed gave only {kinds}; pick another seed"


# -- dtypes, shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
def test_float_dtypes_on_0_255_match_uint8(photos, dtype):
    """Integer-valued floats in (0, 255) (exact in every float dtype) give exactly the
    uint8 result."""
    expected = _augment("auto")(tf.constant(photos)).numpy()
    out = _augment("auto")(_cast(photos, dtype))
    assert out.dtype == dtype and out.shape == photos.shape
    _equal(tf.cast(out, tf.float64).numpy(), expected.astype(np.float64))


def _range_in(dtype, value_range):
    """`value_range` as representable in `dtype`."""
    low, high = tf.cast(tf.constant(value_range, tf.float64), dtype).numpy().astype(np.float64)
    return low, high


@pytest.mark.parametrize("value_range", [(0, 1), (-1, 1)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
def test_float_dtypes_and_value_ranges(photos, dtype, value_range):
    x = _cast(photos, dtype, value_range)
    low, high = value_range
    out = _augment("auto", value_range=value_range)(x)
    assert out.dtype == dtype and out.shape == x.shape
    out = tf.cast(out, tf.float64).numpy()
    lo, hi = _range_in(dtype, value_range)
    assert out.min() >= lo and out.max() <= hi
    # The uint8 result of the levels the input holds, mapped to the range.
    x64 = tf.cast(x, tf.float64).numpy()
    levels_in = np.round((np.clip(x64, low, high) - low) * 255.0 / (high - low))
    expected = _augment("auto")(tf.constant(levels_in.astype(np.uint8))).numpy()
    expected = low + expected * ((high - low) / 255.0)
    eps = float(np.finfo(np.float16).eps) if dtype == tf.float16 else 1e-6
    if dtype == tf.bfloat16:
        eps = 2.0**-8
    np.testing.assert_allclose(out, expected, rtol=0, atol=eps * max(abs(low), abs(high)))


@pytest.mark.parametrize("value_range", [(0, 1.05), (0.1, 0.7), (-3, 0.3), (0.7, 1.1)], ids=str)
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=lambda d: d.name)
def test_output_never_exceeds_value_range(value_range, dtype):
    """Every level, 0..255, comes back inside `value_range` (as the dtype holds it):
    white under invert is black and the other way round, both ends of the range.
    (0.7, 1.1): float32 rounds 0.7 down and 1.1 up, outside a float64 range."""
    low, high = value_range
    levels = np.arange(256, dtype=np.float64).reshape(1, 16, 16, 1)
    x = tf.cast(tf.constant(low + levels * (high - low) / 255.0), dtype)
    out = rand_augment(x, ops=["invert"], num_ops=1, value_range=value_range, seed=0)
    assert out.dtype == dtype
    out = tf.cast(out, tf.float64).numpy()
    lo, hi = _range_in(dtype, value_range)
    assert out.min() >= lo, f"min {out.min()!r} < low {lo!r}"
    assert out.max() <= hi, f"max {out.max()!r} > high {hi!r}"


@pytest.mark.parametrize(
    "method, shape",
    [
        ("partition", [None, None, None, 3]),
        ("fused", [None, None, None, 3]),
        ("fused", [None, H, W, 3]),
        ("partition", [None, None, 3]),
        ("fused", [None, None, 3]),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_unknown_batch_and_image_size(photos, method, shape):
    x = tf.constant(photos[:5]) if len(shape) == 4 else tf.constant(photos[0])
    expected = _augment(method)(x).numpy()
    f = tf.function(_augment(method), input_signature=[tf.TensorSpec(shape, tf.uint8)])
    _equal(f(x).numpy(), expected)
    if len(shape) == 4:
        assert f(x[:2]).shape == (2, H, W, 3)
    else:
        assert f(x[:9, :7]).shape == (9, 7, 3)


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("dtype", [tf.uint8, tf.float32], ids=lambda d: d.name)
def test_empty_batch(method, dtype):
    x = tf.zeros([0, 8, 6, 3], dtype)
    out = _augment(method)(x)
    assert out.shape == (0, 8, 6, 3) and out.dtype == dtype
    if method == "partition":
        sig = [tf.TensorSpec([None, 8, 6, 3], dtype)]
        assert tf.function(_augment(method), input_signature=sig)(x).shape == (0, 8, 6, 3)


def test_grayscale(make_photos):
    gray = make_photos(8, H, W, 1)
    case = REFERENCE_CASES["nearest"]
    expected, _ = reference(gray, _seed(2), ops=ALL_OPS, interp="nearest", **case)
    out = rand_augment(
        gray,
        num_ops=case["num_ops"],
        magnitude=case["magnitude"],
        magnitude_stddev=case["magnitude_stddev"],
        rate=case["rate"],
        ops=ALL_OPS,
        seed=_seed(2),
    )
    _equal(out.numpy(), expected)


# -- hypothesis ------------------------------------------------------------------------


@st.composite
def _cases(draw):
    dtype = draw(st.sampled_from((tf.uint8, *FLOATS)))
    if dtype == tf.uint8:
        value_range = (0, 255)
    else:
        value_range = draw(
            st.one_of(
                st.sampled_from([(0, 255), (0, 1), (-1, 1)]),
                st.tuples(st.floats(-10, 10), st.floats(0.05, 300)).map(
                    lambda t: (t[0], t[0] + t[1])
                ),
            )
        )
    shape = (
        draw(st.integers(0, 6)),
        draw(st.integers(1, 24)),
        draw(st.integers(1, 24)),
        draw(st.sampled_from((1, 3))),
    )
    single = draw(st.booleans()) and shape[0] == 1
    kwargs = dict(
        num_ops=draw(st.integers(0, 4)),
        magnitude=draw(st.floats(0, 1)),
        magnitude_stddev=draw(st.sampled_from((0.0, 0.5))),
        rate=draw(st.sampled_from((1.0, 0.5))),
        ops=draw(st.sampled_from((None, ALL_OPS))),
        interpolation=draw(st.sampled_from(("nearest", "bilinear"))),
        value_range=value_range,
        seed=draw(st.integers(0, 2**31 - 1)),
        method=draw(st.sampled_from(("auto", "partition", "fused"))),
    )
    return dtype, shape, single, kwargs


# No shrinking: each example is an eager call with every op, and shrinking a failure
# took over a minute; the failing example is printed as drawn.
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@example(
    case=(
        tf.float32,
        (1, 1, 1, 1),
        False,
        dict(
            num_ops=1,
            magnitude=1.0,
            magnitude_stddev=0.0,
            rate=1.0,
            ops=None,
            interpolation="nearest",
            value_range=(0.0, 1.05),
            seed=0,
            method="auto",
        ),
    )
)  # found by hypothesis: 255 * float32(1.05 / 255) rounds above 1.05
@example(
    case=(
        tf.float64,
        (6, 22, 2, 1),
        False,
        dict(
            num_ops=4,
            magnitude=0.9843238394239704,
            magnitude_stddev=0.5,
            rate=1.0,
            ops=None,
            interpolation="nearest",
            value_range=(9.683657123309327, 232.1745523414317),
            seed=1013290,
            method="auto",
        ),
    )
)  # found by hypothesis: float32(low) < low, and the output is computed in float32
@given(case=_cases())
def test_property_shape_dtype_and_range_preserved(case):
    dtype, shape, single, kwargs = case
    low, high = kwargs["value_range"]
    rng = np.random.default_rng(kwargs["seed"])
    if dtype == tf.uint8:
        x = tf.constant(rng.integers(0, 256, shape, dtype=np.uint8))
    else:
        x = tf.cast(tf.constant(rng.uniform(low, high, shape)), dtype)
    if single:
        x = x[0]
    out = rand_augment(x, **kwargs)
    assert out.dtype == dtype
    assert out.shape == x.shape
    values = tf.cast(out, tf.float64).numpy()
    lo, hi = _range_in(dtype, (low, high)) if dtype != tf.uint8 else (0, 255)
    # Inputs cast to a low-precision dtype may already be a rounding off the range.
    x64 = tf.cast(x, tf.float64).numpy()
    lo, hi = min(lo, x64.min(initial=lo)), max(hi, x64.max(initial=hi))
    assert np.isfinite(values).all()
    assert values.min(initial=lo) >= lo and values.max(initial=hi) <= hi


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(case=_cases())
def test_property_partition_equals_fused(case):
    """Both apply paths, bit for bit, on random shapes (1x1 images, one channel, B=0
    included), dtypes, ranges and arguments."""
    dtype, shape, single, kwargs = case
    low, high = kwargs["value_range"]
    rng = np.random.default_rng(kwargs["seed"])
    if dtype == tf.uint8:
        x = tf.constant(rng.integers(0, 256, shape, dtype=np.uint8))
    else:
        x = tf.cast(tf.constant(rng.uniform(low, high, shape)), dtype)
    kwargs = dict(kwargs, ops=ALL_OPS)
    del kwargs["method"]
    a = rand_augment(x, method="partition", **kwargs)
    b = rand_augment(x, method="fused", **kwargs)
    _equal(tf.cast(a, tf.float64).numpy(), tf.cast(b, tf.float64).numpy())


# -- GPU readiness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, shape, dtype",
    [
        ("fused", [None, None, None, 3], tf.uint8),
        ("fused", [8, H, W, 1], tf.float16),
        ("partition", [None, None, None, 3], tf.float32),
        ("auto", [None, H, W, 3], tf.bfloat16),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_graph_has_gpu_and_xla_kernels(method, shape, dtype, gpu_visible):
    """Every op of the plain trace has a GPU kernel, and every op of the
    `jit_compile=True` trace an XLA_GPU_JIT kernel (the code branches on the XLA
    context, so each check runs on its own trace; "auto" is "partition" in the first
    and "fused" in the second).

    "partition" is only checked as a GPU runtime graph: it is documented as not for
    XLA (data-dependent shapes). Note that the static XLA walk would not catch that:
    DynamicStitch and Where have XLA kernels registered; only compiling fails.
    """
    f = _augment(method, interpolation="bilinear")
    spec = tf.TensorSpec(shape, dtype)
    graph = tf.function(f).get_concrete_function(spec)
    violations = gpu_kernel_violations(graph, xla=False)
    if method != "partition":
        jit = tf.function(f, jit_compile=True).get_concrete_function(spec)
        violations += [f"[jit] {v}" for v in gpu_kernel_violations(jit, runtime=False)]
    assert not violations, "\n  ".join(violations)


# -- working dtype ----------------------------------------------------------------------


def _traced_work_dtype(wrap):
    seen = []

    def f(x):
        seen.append(randaugment._images.work_dtype())
        return x

    wrap(f)
    return seen[-1]


@pytest.mark.parametrize("gpu", [False, True])
def test_work_dtype_is_uint8_where_every_op_runs_on_cpu(monkeypatch, gpu):
    """uint8 in `tf.data` (always CPU) and without a GPU; float32 where a GPU may run
    the graph (no uint8 GPU kernels for the gathers) and under XLA."""
    monkeypatch.setattr(randaugment._images, "_gpu_visible", lambda: gpu)
    x = tf.zeros([2, 4, 4, 3], tf.uint8)
    in_data = _traced_work_dtype(lambda f: tf.data.Dataset.from_tensors(x).map(f))
    in_data_nested = _traced_work_dtype(
        lambda f: tf.data.Dataset.from_tensors(x).map(tf.function(f))
    )
    in_graph = _traced_work_dtype(lambda f: tf.function(f).get_concrete_function(x))
    in_xla = _traced_work_dtype(lambda f: tf.function(f, jit_compile=True).get_concrete_function(x))
    assert in_data == tf.uint8 and in_data_nested == tf.uint8
    assert in_graph == (tf.float32 if gpu else tf.uint8)
    assert in_xla == tf.float32


@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
@pytest.mark.parametrize("dtype", [tf.uint8, tf.float32])
def test_uint8_and_float32_working_dtypes_are_bit_identical(photos, monkeypatch, interp, dtype):
    x = tf.constant(photos) if dtype == tf.uint8 else tf.constant(photos, tf.float32) / 255.0
    kwargs = dict(
        ops=ALL_OPS,
        num_ops=3,
        magnitude=0.8,
        magnitude_stddev=0.4,
        interpolation=interp,
        fill_value=77,
        method="partition",
    )
    if dtype == tf.float32:
        kwargs["value_range"] = (0, 1)
    outs = {}
    for gpu in (False, True):
        monkeypatch.setattr(randaugment._images, "_gpu_visible", lambda gpu=gpu: gpu)
        outs[gpu] = tf.function(lambda x: rand_augment(x, seed=(3, 4), **kwargs))(x).numpy()
    _equal(outs[False], outs[True])
    # and the ops did change the images (the comparison is not between two copies)
    assert np.mean(outs[False] != x.numpy()) > 0.3


def test_fractional_fill_value_is_refused():
    with pytest.raises(ValueError, match=r"fill_value=127.5"):
        rand_augment(tf.zeros([1, 4, 4, 3], tf.uint8), fill_value=127.5)


def test_geometric_ops_on_images_beyond_the_fixed_point_range_are_refused():
    spec = tf.TensorSpec([1, 8193, 4, 3], tf.uint8)
    with pytest.raises(ValueError, match=r"images.shape=\(1, 8193, 4, 3\)"):
        tf.function(lambda x: rand_augment(x, ops=["rotate"])).get_concrete_function(spec)
    # value ops, and bilinear warps (float64 coordinates), have no such limit
    tf.function(lambda x: rand_augment(x, ops=["invert"])).get_concrete_function(spec)
    tf.function(
        lambda x: rand_augment(x, ops=["rotate"], interpolation="bilinear")
    ).get_concrete_function(spec)


def test_fixed_point_coordinates_at_the_size_limit_are_exact():
    """At 8192 pixels a side, with the op table's extreme parameters, the int32 row
    and column parts give PIL's fixed-point source pixel, computed here in int64
    from PIL's formula (on a strided grid of output pixels), wherever the source is
    inside the image or one pixel around it (beyond, the pixel is fill either way,
    and only the side it is on must be right)."""
    from randaugment.ops import _geometric as G

    side = G.MAX_FIXED_POINT_SIDE
    angles = tf.constant([30.0, -30.0, 17.3, 180.0], tf.float32)
    cases = [G.rotation_coefficients(angles, side, side)]
    for name, value in [
        ("shear_x", 0.3),
        ("shear_y", -0.3),
        ("translate_x", 0.45 * side),
        ("translate_y", -0.45 * side),
    ]:
        cases.append(G.COEFFICIENTS[name](tf.constant([value], tf.float32), side, side))
    ys = np.arange(0, side, 97, dtype=np.int64)[:, None]
    xs = np.arange(0, side, 89, dtype=np.int64)[None, :]

    def fix(v):
        return np.floor(v * 65536.0 + 0.5).astype(np.int64)

    for coeffs in cases:
        rows, cols = G.fixed_point_parts(coeffs, side, side)
        for b, (a0, a1, a2, a3, a4, a5) in enumerate(coeffs.numpy()):
            for plane, (c0, c1, c2) in enumerate([(a0, a1, a2), (a3, a4, a5)]):
                expected = (fix(c2 + c0 * 0.5 + c1 * 0.5) + ys * fix(c1) + xs * fix(c0)) >> 16
                got = (
                    rows[b, plane].numpy().astype(np.int64)[::97, None]
                    + cols[b, plane].numpy().astype(np.int64)[None, ::89]
                ) >> 16
                near = (expected >= -1) & (expected <= side)
                np.testing.assert_array_equal(got[near], expected[near])
                np.testing.assert_array_equal(np.sign(got[~near]), np.sign(expected[~near]))


def _slot_extras(runner, op, params, shape):
    """`runner.prepare`'s values for one slot of ops `op` with parameters `params`."""
    n = len(params)
    extras = runner.prepare(
        op[:, tf.newaxis], params[:, tf.newaxis], tf.zeros([n, 1, 2]), *shape[1:3]
    )
    return {k: v[:, 0] for k, v in extras.items()}


@pytest.mark.parametrize(
    "name, params",
    [
        ("posterize", [0.0, 1.0, 2.0, 3.0, 4.0, 4.5, 5.5, 7.0, 8.0]),
        ("solarize", [0.0, 0.5, 1.0, 127.3, 128.0, 254.9, 255.0, 255.5, 256.0]),
        ("invert", [0.0] * 9),
    ],
)
def test_uint8_bit_operations_equal_the_value_kernels(make_random_images, name, params):
    """On uint8 images posterize, solarize and invert run as bit operations (family
    "bits"); they must equal the float kernels (Pillow-checked) at the edges of
    their parameters: fractional and out-of-range thresholds, half-way bit counts."""
    from randaugment._apply import SlotRunner

    specs = (OPS_BY_NAME["posterize"], OPS_BY_NAME["solarize"], OPS_BY_NAME["invert"])
    runner = SlotRunner(specs, 128.0, "nearest", tf.uint8)
    images = make_random_images(len(params), 8, 9, 3)
    op = tf.fill([len(params)], [s.name for s in specs].index(name))
    p = tf.constant(params, tf.float32)
    got = runner.bits(tf.constant(images), _slot_extras(runner, op, p, images.shape))
    kernel = OPS_BY_NAME[name].kernel
    args = (p,) if name != "invert" else ()
    expected = kernel(tf.constant(images, tf.float32), *args)
    _equal(got.numpy(), tf.cast(expected, tf.uint8).numpy())


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 2), (3, 3), (4, 7), (24, 20)])
def test_sharpness_box_sum_equals_the_kernel(make_random_images, shape):
    """The partition path smooths with a box sum of shifted slices (family of a few
    images); it must equal the (Pillow-checked) kernel, which uses an average pool,
    including images too small to have an interior."""
    from randaugment.ops import _blend

    factors = [0.0, 0.1, 0.5, 0.99, 1.0, 1.3333, 1.9, 2.0, 0.123456]
    images = tf.constant(make_random_images(len(factors), *shape, 3), tf.float32)
    weight = tf.reshape(1.0 - quantize_factor(tf.constant(factors)), [-1, 1, 1, 1])
    got = _blend.sharpen_weighted(images, weight, tf.uint8, box_sum=True)
    expected = OPS_BY_NAME["sharpness"].kernel(images, tf.constant(factors))
    _equal(got.numpy(), tf.cast(expected, tf.uint8).numpy())


def test_uint8_brightness_family_equals_the_kernel(make_random_images):
    """On uint8 images brightness is `min(f x, 255)` truncated by the cast; it must
    equal the (Pillow-checked) kernel, including factors that saturate and factors
    off the 2**-14 grid."""
    from randaugment._apply import SlotRunner

    runner = SlotRunner((OPS_BY_NAME["brightness"],), 128.0, "nearest", tf.uint8)
    factors = [0.1, 0.5, 0.99, 1.0, 1.0 + 1e-7, 1.3333, 1.5, 1.9, 0.123456]
    images = make_random_images(len(factors), 8, 9, 3)
    p = tf.constant(factors, tf.float32)
    op = tf.zeros([len(factors)], tf.int32)
    got = runner.scale(tf.constant(images), _slot_extras(runner, op, p, images.shape))
    expected = OPS_BY_NAME["brightness"].kernel(tf.constant(images, tf.float32), p)
    _equal(got.numpy(), tf.cast(expected, tf.uint8).numpy())
    assert (got.numpy() == 255).any() and (got.numpy() < images).any()
