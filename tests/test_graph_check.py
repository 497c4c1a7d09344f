"""The GPU/XLA readiness checker must be able to fail (and must not cry wolf)."""

import re

import numpy as np
import pytest
import tensorflow as tf
from graph_check import assert_gpu_ready, assert_xla_matches, gpu_kernel_violations

IMAGES = tf.TensorSpec([None, 8, 8, 3], tf.float32)


def _violations(fn, spec=IMAGES, **kwargs):
    return gpu_kernel_violations(tf.function(fn).get_concrete_function(spec), **kwargs)


def _projective_transform(x):
    # Has GPU runtime kernels but no XLA kernel (DESIGN.md section 5).
    transforms = tf.tile([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]], [tf.shape(x)[0], 1])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.shape(x)[1:3],
        fill_value=0.0,
        interpolation="NEAREST",
        fill_mode="CONSTANT",
    )


def _int_histogram(x):
    return tf.histogram_fixed_width(tf.cast(x, tf.int32), [0, 255], nbins=256)


def _uint8_gather(x):
    table = tf.cast(255 - tf.range(256), tf.uint8)
    return tf.gather(table, tf.cast(x, tf.int32))


def _uint8_gather_in_cond(x):
    # The offending op sits inside a tf.cond branch: only visible in the
    # graph's function library, which the checker must walk.
    return tf.cond(
        tf.reduce_sum(x) > 0.0,
        lambda: tf.cast(_uint8_gather(x), tf.float32),
        lambda: x,
    )


def _uint8_map_fn(x):
    # TensorList ops with uint8 elements have no GPU kernel.
    return tf.map_fn(lambda im: im + 1, tf.cast(x, tf.uint8))


def _int_argmax(x):
    return tf.argmax(tf.reshape(tf.cast(x, tf.int32), [-1]))


def _py_function(x):
    return tf.py_function(lambda a: a, [x], tf.float32)


def _gather_nd_raising_on_bad_indices(x):
    # GatherNd's GPU kernels admit bad_indices_policy "", "DEFAULT" or "IGNORE":
    # a non-dtype constraint the checker must read too.
    return tf.raw_ops.GatherNd(
        params=tf.reshape(x, [-1]),
        indices=tf.zeros([5, 1], tf.int32),
        bad_indices_policy="ERROR",
    )


def _depthwise(x):
    kernel = tf.ones([3, 3, 3, 1]) / 9.0
    return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")


@pytest.mark.parametrize(
    "fn, op",
    [
        (_projective_transform, "ImageProjectiveTransformV3"),
        (_int_histogram, "HistogramFixedWidth"),
        (_uint8_gather, "GatherV2"),
        (_uint8_gather_in_cond, "GatherV2"),
        (_uint8_map_fn, "TensorList"),
        (_int_argmax, "ArgMax"),
        (_py_function, "EagerPyFunc"),
        (_depthwise, "DepthwiseConv2dNative"),
        (_gather_nd_raising_on_bad_indices, "bad_indices_policy='ERROR'"),
    ],
)
def test_checker_reports_non_gpu_ops(fn, op):
    violations = _violations(fn)
    assert violations, f"{fn.__name__} should have been reported"
    assert any(op in v for v in violations), violations
    with pytest.raises(AssertionError, match=re.escape(op)):
        assert_gpu_ready(fn, IMAGES)


def test_runtime_check_alone_accepts_projective_transform_on_float():
    # Its float32 GPU kernel exists; only the XLA part of the check objects.
    assert _violations(_projective_transform, xla=False) == []
    assert all("XLA" in v for v in _violations(_projective_transform))


def test_runtime_check_alone_reports_uint8_gather():
    violations = _violations(_uint8_gather, xla=False)
    assert len(violations) == 1 and "Tparams=uint8" in violations[0], violations


def test_float32_matmul_is_reported_as_tf32_risk_and_float64_is_not():
    def f32(x):
        return tf.matmul(tf.reshape(x, [-1, 3]), tf.ones([3, 1]))

    def f64(x):
        return tf.matmul(tf.reshape(tf.cast(x, tf.float64), [-1, 3]), tf.ones([3, 1], tf.float64))

    violations = _violations(f32)
    assert len(violations) == 1 and "TF32" in violations[0], violations
    assert _violations(f64) == []


def _harmless(x):
    return x + 1.0


def _harmless_with_control_flow(x):
    # float32 gather, int32 shape arithmetic (host-memory DEFAULT kernels),
    # a cond and a while loop: all GPU- and XLA-ready.
    table = tf.range(256, dtype=tf.float32)
    y = tf.gather(table, tf.cast(x, tf.int32))
    y = tf.gather_nd(tf.reshape(table, [-1]), tf.cast(x, tf.int32)[..., None])
    y = tf.cond(tf.shape(x)[0] > 1, lambda: y * 2.0, lambda: y)
    return tf.map_fn(lambda im: im - 1.0, y)


@pytest.mark.parametrize("fn", [_harmless, _harmless_with_control_flow])
def test_checker_accepts_gpu_ready_functions(fn):
    assert _violations(fn) == []
    assert_gpu_ready(fn, IMAGES)


def test_assert_xla_matches_passes_on_exact_function():
    x = tf.constant(np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3) % 256)
    out = assert_xla_matches(_harmless, x)
    np.testing.assert_array_equal(out, x.numpy() + 1.0)


def test_assert_xla_matches_can_fail():
    # Float stateless draws differ between graph mode and XLA for the same seed
    # (DESIGN.md section 5), so this must be reported.
    def draw(seed):
        return tf.random.stateless_uniform([64], seed=seed)

    with pytest.raises(AssertionError, match="graph and XLA differ"):
        assert_xla_matches(draw, tf.constant([1, 2]))
