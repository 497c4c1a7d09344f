"""Every kernel is GPU- and XLA-ready (DESIGN.md section 5).

Static: each kernel is traced with a ``[B]`` float32 parameter (unknown batch
size; known and unknown image sizes) and every op of the graph, nested
function bodies included, must have a GPU kernel for its dtypes; traced with
``jit_compile=True`` (the kernels may choose other ops under XLA), every op
must have an XLA_GPU_JIT kernel (``graph_check.gpu_kernel_violations``).

Dynamic: each kernel runs under ``tf.function(jit_compile=True)`` on real
photographs and gives bit-identical output to graph mode.

Geometric kernels are checked with both interpolations.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf
from graph_check import assert_xla_matches, gpu_kernel_violations

import randaugment
from randaugment import ops

SPECS = {spec.name: spec for spec in randaugment.OPS}
GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")

# (op, kwargs) for every kernel; geometric ones with both interpolations.
VARIANTS = [
    (name, {"interpolation": interpolation})
    for name in sorted(SPECS)
    if name in GEOMETRIC
    for interpolation in ("nearest", "bilinear")
] + [(name, {}) for name in sorted(SPECS) if name not in GEOMETRIC]


def _variant_id(variant):
    name, kwargs = variant
    return "-".join([name, *kwargs.values()])


def _signature(name, image_shape):
    specs = [tf.TensorSpec(image_shape, tf.float32, name="images")]
    if SPECS[name].has_parameter:
        specs.append(tf.TensorSpec([None], tf.float32, name="params"))
    if name == "cutout":
        specs.append(tf.TensorSpec([None, 2], tf.float32, name="centers"))
    return specs


def _kernel(name, kwargs):
    return functools.partial(getattr(ops, name), **kwargs)


IMAGE_SHAPES = [[None, 32, 32, 3], [None, None, None, 3], [None, 9, 17, 1]]


@pytest.mark.parametrize("image_shape", IMAGE_SHAPES)
@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_every_op_has_gpu_kernels(variant, image_shape):
    """Graph mode (no XLA): every op needs a GPU kernel for its dtypes."""
    name, kwargs = variant
    concrete = tf.function(_kernel(name, kwargs)).get_concrete_function(
        *_signature(name, image_shape)
    )
    violations = gpu_kernel_violations(concrete, xla=False)
    assert not violations, f"{name} {kwargs}:\n  " + "\n  ".join(violations)


@pytest.mark.parametrize("image_shape", IMAGE_SHAPES)
@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_every_op_has_xla_gpu_kernels(variant, image_shape):
    """Traced for XLA (kernels may branch on the XLA context): every op needs an
    XLA_GPU_JIT kernel for its dtypes."""
    name, kwargs = variant
    concrete = tf.function(_kernel(name, kwargs), jit_compile=True).get_concrete_function(
        *_signature(name, image_shape)
    )
    violations = gpu_kernel_violations(concrete, runtime=False)
    assert not violations, f"{name} {kwargs} under jit_compile:\n  " + "\n  ".join(violations)


def _arguments(name, images):
    batch, height, width = images.shape[:3]
    rng = np.random.default_rng(7)
    args = [tf.constant(images.astype(np.float32))]
    spec = SPECS[name]
    if spec.has_parameter:
        magnitudes = np.linspace(0.0, 1.0, batch)
        signs = np.where(np.arange(batch) % 2 == 0, 1.0, -1.0)
        args.append(spec.parameter(magnitudes, signs, height=height, width=width))
    if name == "cutout":
        centers = rng.uniform(0, [width, height], (batch, 2)).astype(np.float32)
        args.append(tf.constant(centers))
    return args


@pytest.mark.parametrize("variant", VARIANTS, ids=_variant_id)
def test_xla_output_is_bit_identical_to_graph_mode(variant, make_photos, make_random_images):
    name, kwargs = variant
    for images in (make_photos(8, 31, 45), make_random_images(5, 17, 9, 1)):
        args = _arguments(name, images)
        out = assert_xla_matches(_kernel(name, kwargs), *args)
        assert out.shape == images.shape and out.dtype == np.float32
