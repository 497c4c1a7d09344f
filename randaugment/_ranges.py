"""Named range tables: other parameter ranges over the same op records.

A policy's ops are the records of `randaugment.table.OPS` with its own ranges (the
same kernels and family formulas): a table here maps an op name to the fields of its
record that differ (`low`, `high`, and where needed `signed`, `relative_to`,
`rounded`, `rounding`). The numbers are facts read from the libraries that define the
policies, cited at each table; the tests restate them from those sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from randaugment.table import OPS_BY_NAME, OpSpec

_ENHANCE = ("brightness", "color", "contrast", "sharpness")


def _enhance(high: float, **fields) -> dict:
    """An enhance op's factor: 1 + (high - 1) m, with a random sign by default."""
    return {name: {"low": 1.0, "high": high, **fields} for name in _ENHANCE}


RANGES: dict[str, Mapping[str, Mapping]] = {
    # This library's table: torchvision's monotonic ranges with 0.45 of the side for
    # translations and a solarize threshold that starts above every level (256), so
    # that magnitude 0 is the identity for every op.
    "default": {},
    # torchvision.transforms.v2 RandAugment and AutoAugment, `_AUGMENTATION_SPACE`
    # (torchvision 0.29): translate `linspace(0, 150 / 331 * width)`, solarize
    # `linspace(1.0, 0.0) * 255` (its uint8 bound: a threshold of 255 still inverts
    # the value 255). Rotate 30, shear 0.3, enhance 1 + 0.9, posterize
    # `8 - round(4 m)`, as in "default".
    "torchvision": {
        "translate_x": {"low": 0.0, "high": 150.0 / 331.0},
        "translate_y": {"low": 0.0, "high": 150.0 / 331.0},
        "solarize": {"low": 255.0, "high": 0.0},
    },
    # torchvision.transforms.v2 TrivialAugmentWide, `_AUGMENTATION_SPACE`
    # (torchvision 0.29): shear `linspace(0, 0.99)`, translate `linspace(0, 32)`
    # pixels whatever the image size, rotate `linspace(0, 135)`, enhance
    # `linspace(0, 0.99)`, posterize `8 - round(6 m)` bits, solarize
    # `linspace(1.0, 0.0) * 255`.
    "trivial_wide": {
        "shear_x": {"low": 0.0, "high": 0.99},
        "shear_y": {"low": 0.0, "high": 0.99},
        "translate_x": {"low": 0.0, "high": 32.0, "relative_to": None},
        "translate_y": {"low": 0.0, "high": 32.0, "relative_to": None},
        "rotate": {"low": 0.0, "high": 135.0},
        **_enhance(1.99),
        "posterize": {"low": 8.0, "high": 2.0},
        "solarize": {"low": 255.0, "high": 0.0},
    },
    # torchvision.transforms.v2 AugMix, `_PARTIAL_AUGMENTATION_SPACE` and
    # `_AUGMENTATION_SPACE` (torchvision 0.29): translate `linspace(0, width / 3)`,
    # posterize `4 - round(4 m)` bits, solarize `linspace(1.0, 0.0) * 255`; rotate 30,
    # shear 0.3, enhance 1 + 0.9 (the `all_ops` extras) as in "default".
    "augmix": {
        "translate_x": {"low": 0.0, "high": 1.0 / 3.0},
        "translate_y": {"low": 0.0, "high": 1.0 / 3.0},
        "posterize": {"low": 4.0, "high": 0.0},
        "solarize": {"low": 255.0, "high": 0.0},
    },
    # timm's RandAugment level mapping (timm/data/auto_augment.py, timm 1.0, levels on
    # a scale of 10, m = level / 10), the default `inc0` op set: posterize
    # `int(4 m)` bits, solarize threshold `int(256 m)`, solarize_add `int(110 m)`,
    # enhance `1.8 m + 0.1` with no random sign. These get *weaker* with m (posterize
    # and solarize) or go from 0.1 to 1.9 (enhance): timm's historical TF mapping.
    "timm": {
        "posterize": {"low": 0.0, "high": 4.0, "rounding": "down"},
        "solarize": {"low": 0.0, "high": 256.0, "rounded": True, "rounding": "down"},
        "solarize_add": {"low": 0.0, "high": 110.0, "rounded": True, "rounding": "down"},
        **_enhance(1.9, signed=False, low=0.1),
    },
    # timm's `inc1` op set ("increasing"): posterize `4 - int(4 m)` bits, solarize
    # threshold `256 - int(256 m)`, solarize_add `int(110 m)`, enhance `1 +- 0.9 m`;
    # rotate 30, shear 0.3 and translate 0.45 of the side as in "default".
    "timm_increasing": {
        "posterize": {"low": 4.0, "high": 0.0, "rounding": "up"},
        "solarize": {"low": 256.0, "high": 0.0, "rounded": True, "rounding": "up"},
        "solarize_add": {"low": 0.0, "high": 110.0, "rounded": True, "rounding": "down"},
    },
}


def check_ranges(ranges) -> str:
    if ranges is None:
        return "default"
    if not isinstance(ranges, str) or ranges not in RANGES:
        raise ValueError(f"`ranges` must be one of {sorted(RANGES)}. Received: ranges={ranges!r}")
    return ranges


def specs_for(ops: Sequence[str], ranges: str = "default") -> tuple[OpSpec, ...]:
    """The records of `ops` with the ranges of table `ranges`."""
    table = RANGES[check_ranges(ranges)]
    specs = []
    for name in ops:
        spec = OPS_BY_NAME[name]
        fields = dict(table.get(name, {}))
        if fields:
            spec = spec.with_range(fields.pop("low"), fields.pop("high"), **fields)
        specs.append(spec)
    return tuple(specs)
