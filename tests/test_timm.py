"""timm config strings (issue 14): the key-by-key mapping, timm's level mapping as
range tables, and clear errors for what cannot be honoured.

timm's formulas are restated here from `timm/data/auto_augment.py` (timm 1.0), levels
on a scale of 10 (`_LEVEL_DENOM`), and compared with this library's parameters for
every integer level.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from randaugment import AugMix, RandAugment, TrivialAugment, from_timm
from randaugment._ranges import specs_for
from randaugment.timm import TIMM_RAND_OPS

LEVELS = np.arange(11)


def _timm(name: str, level: int, increasing: bool) -> float:
    """timm's `*_level_to_arg` for one level (before its random sign)."""
    if name == "posterize":
        bits = int((level / 10) * 4)
        return 4 - bits if increasing else bits
    if name == "solarize":
        threshold = min(256, int((level / 10) * 256))
        return 256 - threshold if increasing else threshold
    if name == "solarize_add":
        return min(128, int((level / 10) * 110))
    if name in ("color", "contrast", "brightness", "sharpness"):
        if increasing:
            return max(0.1, 1.0 + (level / 10) * 0.9)  # the positive sign
        return (level / 10) * 1.8 + 0.1
    if name == "rotate":
        return (level / 10) * 30.0
    if name in ("shear_x", "shear_y"):
        return (level / 10) * 0.3
    if name in ("translate_x", "translate_y"):
        return (level / 10) * 0.45 * 100  # translate_pct of a 100-pixel side
    raise KeyError(name)


@pytest.mark.parametrize("increasing", [False, True], ids=["inc0", "inc1"])
def test_timm_ranges_equal_timms_level_mapping(increasing):
    ranges = "timm_increasing" if increasing else "timm"
    for name in TIMM_RAND_OPS:
        (spec,) = specs_for([name], ranges)
        if not spec.has_parameter:
            continue
        ours = spec.parameter(tf.constant(LEVELS / 10, tf.float32), 1.0, 100, 100).numpy()
        expected = [_timm(name, int(level), increasing) for level in LEVELS]
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-5, err_msg=name)
        # timm negates these at random (`_randomly_negate`); the others never.
        negated = name in ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
        enhance = name in ("color", "contrast", "brightness", "sharpness")
        assert spec.signed == (negated or (enhance and increasing)), name


def test_rand_keys_map_to_the_layer():
    layer = from_timm("rand-m9-mstd0.5-inc1", seed=3)
    assert isinstance(layer, RandAugment)
    assert (layer.num_ops, layer.magnitude, layer.magnitude_stddev, layer.rate) == (
        2,
        0.9,
        0.05,
        0.5,
    )
    assert layer.ranges == "timm_increasing" and layer.ops == list(TIMM_RAND_OPS)
    assert layer.interpolation == "bilinear"
    layer = from_timm("rand-m9-n3")
    assert (layer.num_ops, layer.magnitude, layer.rate, layer.ranges) == (3, 0.9, 0.5, "timm")
    layer = from_timm("rand-n1-p1.0-mmax10-m10", rate=0.7, value_range=(0, 1))
    assert (layer.num_ops, layer.magnitude, layer.rate, layer.value_range) == (
        1,
        1.0,
        0.7,
        (0.0, 1.0),
    )
    out = layer(tf.random.uniform([2, 16, 16, 3]))
    assert out.shape == (2, 16, 16, 3)


def test_timm_rand_layer_round_trips():
    layer = from_timm("rand-m7-n2-mstd1-inc1", seed=1)
    clone = RandAugment.from_config(layer.get_config())
    x = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    np.testing.assert_array_equal(layer(x).numpy(), clone(x).numpy())


def test_augmix_and_trivial():
    layer = from_timm("augmix-m5-w4-d2", seed=2)
    assert isinstance(layer, AugMix)
    assert (layer.severity, layer.width, layer.depth, layer.alpha, layer.all_ops) == (
        5,
        4,
        2,
        1.0,
        True,
    )
    layer = from_timm("augmix-a0.5")
    assert (layer.severity, layer.width, layer.depth, layer.alpha) == (3, 3, -1, 0.5)
    assert isinstance(from_timm("trivialaugment"), TrivialAugment)


BAD = [
    ("rand-m9-x3", r"Unknown key\(s\) \['x'\]"),
    ("rand-m9-tweights", r"'tweights' is not a key followed by a number"),
    ("rand-t3a", r"not supported|Unknown"),
    ("rand-m9-mstd101", r"mstd101"),
    ("rand-m9-mmax15", r"mmax15"),
    ("rand-m15", r"m15"),
    ("rand-m9-inc2", r"inc2"),
    ("rand-mx", r"'mx' is not a key"),
    ("rand-m9-m8", r"'m' is given twice"),
    ("rand-m9-p1.5", r"rate=1\.5.*rand-m9-p1\.5"),
    ("augmix-m5-b1", r"blended"),
    ("augmix-m5-mstd0.5", r"magnitude noise"),
    ("augmix-m11", r"severity=11"),
    ("augmix-z3", r"Unknown key"),
    ("trivialaugment-m3", r"takes no keys"),
    ("original-mstd0.5", r"AutoAugment\(policy='imagenet'\)"),
    ("randaugment-m9", r"starts with 'rand', 'augmix' or 'trivialaugment'"),
]


@pytest.mark.parametrize("config, match", BAD, ids=[c for c, _ in BAD])
def test_bad_configs_are_refused(config, match):
    with pytest.raises(ValueError, match=match) as info:
        from_timm(config)
    assert config in str(info.value)


def test_config_must_be_a_string():
    with pytest.raises(TypeError, match="config=None"):
        from_timm(None)
