"""Each op record's family formula (what the engine uses instead of the kernel) gives
the kernel's result, and the engine reads only formulas, never op names.

The kernels are checked against Pillow in `test_ops_pillow.py`; here each formula is
applied on its own (an affine warp, a table lookup, the bit operations, a histogram
table) and compared with its kernel on random images and parameters across the
op's range, so that a record whose formula drifts from its kernel fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import randaugment
from randaugment.ops import _geometric, _value

SPECS = randaugment.OPS
FAMILY_FORMULA = {
    "geometric": "affine",
    "lut": "table",
    "histogram": "histogram_table",
}


def _images(n=6, h=13, w=11):
    rng = np.random.default_rng(7)
    # Half random, half smooth: histogram ops need both spread and clumped values.
    noise = rng.integers(0, 256, (n // 2, h, w, 3))
    ramp = np.linspace(30, 200, h * w * 3).reshape(1, h, w, 3) + rng.integers(
        0, 9, (n // 2, 1, 1, 3)
    )
    return np.concatenate([noise, ramp]).astype(np.uint8)


def _params(spec, n=6, h=13, w=11):
    if not spec.has_parameter:
        return tf.zeros([n])
    mags = tf.linspace(0.0, 1.0, n)
    signs = tf.constant([1.0, -1.0] * (n // 2))
    return spec.parameter(mags, signs, h, w)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_record_has_its_familys_formula(spec):
    needed = FAMILY_FORMULA.get(spec.family)
    if needed:
        assert callable(getattr(spec, needed)), f"{spec.name}: family {spec.family} needs {needed}"
    if spec.uint8_family == "bits":
        assert callable(spec.bits), f"{spec.name}: the bits family needs a `bits` formula"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.affine], ids=lambda s: s.name)
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_affine_formula_warps_as_the_kernel(spec, interpolation):
    x = tf.constant(_images(), tf.float32)
    p = _params(spec)
    coeffs = spec.affine(tf.cast(p, tf.float64), 13, 11)
    warped = _geometric.warp_affine(x, coeffs, 77.0, interpolation)
    expected = spec.kernel(x, p, fill_value=77.0, interpolation=interpolation)
    np.testing.assert_array_equal(warped.numpy(), expected.numpy())


@pytest.mark.parametrize("spec", [s for s in SPECS if s.table], ids=lambda s: s.name)
def test_table_formula_maps_as_the_kernel(spec):
    x = tf.constant(_images(), tf.float32)
    p = _params(spec)
    ramps = tf.broadcast_to(tf.range(256, dtype=tf.float32), [6, 256])
    tables = spec.table(ramps, p[:, tf.newaxis])
    mapped = _value.apply_image_tables(x, tables)
    expected = spec.kernel(x, p) if spec.has_parameter else spec.kernel(x)
    np.testing.assert_array_equal(mapped.numpy(), expected.numpy())


@pytest.mark.parametrize("spec", [s for s in SPECS if s.bits], ids=lambda s: s.name)
def test_bits_formula_on_uint8_is_the_kernel(spec):
    """`(x & keep) ^ (flip * (x >= threshold))`, written out here in NumPy."""
    x = _images()
    p = _params(spec)
    keep, threshold, flip = (v.numpy().astype(np.int64) for v in spec.bits(p))
    xi = x.astype(np.int64)
    shape = (-1, 1, 1, 1)
    out = (xi & keep.reshape(shape)) ^ (flip.reshape(shape) * (xi >= threshold.reshape(shape)))
    expected = spec.kernel(tf.constant(x, tf.float32), *([p] if spec.has_parameter else []))
    np.testing.assert_array_equal(out, expected.numpy().astype(np.int64))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.histogram_table], ids=lambda s: s.name)
def test_histogram_formula_maps_as_the_kernel(spec):
    x = tf.constant(_images(), tf.float32)
    hist = _value.histograms(x)
    tables = spec.histogram_table(hist, _value.bin_range(hist), tf.float32)
    mapped = _value.apply_tables(x, tables)
    np.testing.assert_array_equal(mapped.numpy(), spec.kernel(x).numpy())


def test_the_engine_knows_families_not_op_names():
    """`randaugment/_apply.py` never spells an op name, except where an op is a family
    of its own (identity, color, contrast, sharpness, cutout: the family's name)."""
    source = (Path(randaugment.__file__).parent / "_apply.py").read_text(encoding="utf-8")
    strings = set(re.findall(r"[\"']([a-z_]+)[\"']", source))
    names = {spec.name for spec in SPECS} - {spec.family for spec in SPECS}
    assert not strings & names, f"_apply.py names ops: {sorted(strings & names)}"


def test_with_range_changes_only_the_range():
    rotate = randaugment.OPS[3]
    wide = rotate.with_range(0.0, 135.0)
    assert (wide.low, wide.high) == (0.0, 135.0)
    assert wide.affine is rotate.affine and wide.kernel is rotate.kernel and wide.signed
    assert rotate.high == 30.0  # the table's record is untouched
    with pytest.raises(ValueError, match="'identity' has no parameter"):
        randaugment.OPS[0].with_range(0.0, 1.0)


def test_divisions_by_constants_are_true_divisions_in_graph_mode():
    """Grappler rewrites `x / constant` as `x * (1 / constant)` in graph mode, one
    rounding off: for a 7x14 image whose gray mean is exactly 1.5 (sum 147 over 98
    pixels), `floor(147 * fl(1/98) + 0.5)` is 1 where PIL's `int(1.5 + 0.5)` is 2.
    contrast's mean (and equalize's step) divide behind an opaque denominator."""
    from PIL import Image, ImageEnhance

    gray = np.array([1, 2] * 49, np.uint8).reshape(7, 14)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected = np.asarray(ImageEnhance.Contrast(Image.fromarray(rgb)).enhance(0.0))
    assert expected[0, 0, 0] == 2  # the reference: Pillow rounds the mean 1.5 up
    x = tf.constant(rgb[None], tf.float32)
    f = randaugment.ops.contrast
    zero = tf.constant([0.0])
    for run in (f, tf.function(f), tf.function(f, jit_compile=True)):
        np.testing.assert_array_equal(run(x, zero).numpy()[0], expected)
