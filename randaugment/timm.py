"""timm's augmentation config strings (`rand-m9-mstd0.5-inc1`, `augmix-m5-w4-d2`) as
this library's layers.

The mapping, key by key, with timm's facts read from `timm/data/auto_augment.py`
(timm 1.0), is in `docs/policies.md` and in `from_timm`'s docstring. A key or value
that this library cannot honour exactly as timm means it raises a `ValueError` that
names it; nothing is dropped or replaced silently.
"""

from __future__ import annotations

import math
import re

#: timm's RandAugment op set (`_RAND_TRANSFORMS`; `_RAND_INCREASING_TRANSFORMS` has
#: the same ops with increasing ranges), in this library's spelling: no identity, and
#: invert and solarize_add drawn by default.
TIMM_RAND_OPS: tuple[str, ...] = (
    "auto_contrast",
    "equalize",
    "invert",
    "rotate",
    "posterize",
    "solarize",
    "solarize_add",
    "color",
    "contrast",
    "brightness",
    "sharpness",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)

_LEVEL_DENOM = 10  # timm's magnitude scale: level / 10 is this library's magnitude
_AUTO_AUGMENT_NAMES = ("original", "originalr", "v0", "v0r", "3a")


def _sections(config: str, name: str) -> dict[str, str]:
    sections = config.split("-")[1:]
    out = {}
    for section in sections:
        match = re.fullmatch(r"([a-z]+)(\d.*)?", section)
        if not match or match.group(2) is None:
            raise ValueError(
                f"`{name}` config section {section!r} is not a key followed by a number "
                f"(like 'm9'). Received: config={config!r}"
            )
        key, value = match.groups()
        if key in out:
            raise ValueError(f"`{name}` key {key!r} is given twice. Received: config={config!r}")
        out[key] = value
    return out


def _number(config, key, value, kind=float):
    try:
        return kind(value)
    except ValueError:
        raise ValueError(
            f"timm key {key!r} needs {'an integer' if kind is int else 'a number'}. "
            f"Received: {key}{value} in config={config!r}"
        ) from None


def _rand(config: str, kwargs: dict):
    from randaugment.layer import RandAugment

    known = {"m", "n", "p", "mstd", "mmax", "inc"}
    sections = _sections(config, "rand")
    unknown = sorted(set(sections) - known)
    if unknown:
        hint = ""
        if "t" in unknown or any(k.startswith("t") for k in unknown):
            hint = " (timm's weighted or '3a' transform sets are not supported)"
        raise ValueError(
            f"Unknown key(s) {unknown} in a timm RandAugment config{hint}; this library "
            f"reads {sorted(known)}. Received: config={config!r}"
        )
    level = _number(config, "m", sections.get("m", "10"), int)
    if not 0 <= level <= _LEVEL_DENOM:
        raise ValueError(
            f"timm magnitude 'm' must be in [0, {_LEVEL_DENOM}] here (this library's "
            f"magnitude is m / {_LEVEL_DENOM}, at most each op's maximum). Received: "
            f"m{sections['m']} in config={config!r}"
        )
    mmax = _number(config, "mmax", sections.get("mmax", str(_LEVEL_DENOM)), int)
    if mmax != _LEVEL_DENOM:
        raise ValueError(
            f"timm's 'mmax' clips the noisy magnitude to [0, mmax]; this library clips it "
            f"to [0, 1], timm's mmax{_LEVEL_DENOM}, and cannot go beyond an op's maximum. "
            f"Received: mmax{sections['mmax']} in config={config!r}"
        )
    mstd = _number(config, "mstd", sections.get("mstd", "0"))
    if mstd > 100:
        raise ValueError(
            "timm's 'mstd' above 100 (magnitudes drawn uniformly from 0 to m) is not "
            f"supported. Received: mstd{sections['mstd']} in config={config!r}"
        )
    if not 0 <= mstd <= _LEVEL_DENOM:
        raise ValueError(
            f"timm's 'mstd' must be in [0, {_LEVEL_DENOM}] here (magnitude_stddev = "
            f"mstd / {_LEVEL_DENOM}). Received: mstd{sections['mstd']} in config={config!r}"
        )
    inc = _number(config, "inc", sections.get("inc", "0"), int)
    if inc not in (0, 1):
        raise ValueError(f"timm's 'inc' is 0 or 1. Received: inc{inc} in config={config!r}")
    settings = {
        "num_ops": _number(config, "n", sections.get("n", "2"), int),
        "magnitude": level / _LEVEL_DENOM,
        "magnitude_stddev": mstd / _LEVEL_DENOM,
        "rate": _number(config, "p", sections.get("p", "0.5")),
        "ops": list(TIMM_RAND_OPS),
        "ranges": "timm_increasing" if inc else "timm",
        "interpolation": "bilinear",
    }
    return RandAugment(**{**settings, **kwargs})


def _augmix(config: str, kwargs: dict):
    from randaugment.policy_layers import AugMix

    known = {"m", "w", "d", "a"}
    sections = _sections(config, "augmix")
    for key in ("b", "mstd"):
        if key in sections:
            what = {
                "b": "blended mixing ('b1', a faster approximation timm marks as not well tested)",
                "mstd": "magnitude noise ('mstd'; the severity picks magnitude bins here)",
            }[key]
            raise ValueError(f"timm AugMix's {what} is not supported. Received: config={config!r}")
    unknown = sorted(set(sections) - known)
    if unknown:
        raise ValueError(
            f"Unknown key(s) {unknown} in a timm AugMix config; this library reads "
            f"{sorted(known)}. Received: config={config!r}"
        )
    settings = {
        "severity": _number(config, "m", sections.get("m", "3"), int),
        "width": _number(config, "w", sections.get("w", "3"), int),
        "depth": _number(config, "d", sections.get("d", "-1"), int),
        "alpha": _number(config, "a", sections.get("a", "1")),
        # timm's AugMix op list holds the enhance ops (`_AUGMIX_TRANSFORMS`).
        "all_ops": True,
    }
    if math.isnan(settings["alpha"]):
        raise ValueError(f"timm AugMix 'a' must be a number > 0. Received: config={config!r}")
    return AugMix(**{**settings, **kwargs})


def from_timm(config: str, **kwargs):
    """A Keras layer of this library from a timm augmentation config string.

    - `"rand-..."`: `RandAugment` with timm's op set (no identity; invert and
      solarize_add included) and timm's ranges. Keys: `m` (magnitude level of 10,
      default 10) -> `magnitude = m / 10`; `n` (default 2) -> `num_ops`; `p` (default
      0.5, timm's) -> `rate`; `mstd` -> `magnitude_stddev = mstd / 10`; `inc0`
      (default) -> `ranges="timm"`, timm's historical mapping in which posterize and
      solarize get weaker as m grows and the enhance ops go from 0.1 to 1.9; `inc1`
      -> `ranges="timm_increasing"`, ops that grow stronger with m; `mmax10` (the
      default) -> magnitudes clipped to [0, 1]. timm picks bilinear or bicubic at
      random for the geometric ops; here bilinear.
    - `"augmix-..."`: `AugMix` with the enhance ops (timm's list includes them). Keys:
      `m` -> `severity`, `w` -> `width`, `d` -> `depth`, `a` -> `alpha`. timm draws
      each op's level uniformly in [0, m] of 10 with its own ranges; this library
      draws one of the first m of 10 magnitude bins with torchvision's AugMix ranges
      (`docs/policies.md` compares them).
    - `"trivialaugment"`: `TrivialAugment` (torchvision's TrivialAugmentWide; timm has
      no string of its own for it).

    Refused with a `ValueError` naming the key: unknown keys, `mstd` above 100
    (uniform sampling), `mmax` other than 10, timm's weighted transform sets (`t...`),
    AugMix's blended mode (`b1`) and magnitude noise (`mstd`), and timm's AutoAugment
    policy names (use `AutoAugment(policy="imagenet")`, torchvision's policies).

    Args:
        config: the timm string.
        **kwargs: more layer arguments (`value_range`, `seed`, `name`, ...); they
            override what the string sets.

    Returns:
        A `RandAugment`, `AugMix` or `TrivialAugment` layer.

    Example:
        >>> from randaugment import from_timm
        >>> layer = from_timm("rand-m9-mstd0.5-inc1", seed=0)
        >>> layer.num_ops, layer.magnitude, layer.magnitude_stddev, layer.rate
        (2, 0.9, 0.05, 0.5)
    """
    if not isinstance(config, str) or not config:
        raise TypeError(f"`config` must be a timm config string. Received: config={config!r}")
    kind = config.split("-")[0]
    if kind in ("rand", "augmix"):
        build = _rand if kind == "rand" else _augmix
        try:
            return build(config, kwargs)
        except (TypeError, ValueError) as error:
            if "config=" in str(error):
                raise
            raise type(error)(f"{error} (from the timm config={config!r})") from None
    if kind == "trivialaugment":
        from randaugment.policy_layers import TrivialAugment

        if config != "trivialaugment":
            raise ValueError(f"'trivialaugment' takes no keys. Received: config={config!r}")
        return TrivialAugment(**kwargs)
    if kind in _AUTO_AUGMENT_NAMES:
        raise ValueError(
            f"timm's AutoAugment policy {kind!r} is not supported (its magnitudes follow "
            "timm's own level mapping); use AutoAugment(policy='imagenet'), the paper's "
            f"policy as torchvision writes it. Received: config={config!r}"
        )
    raise ValueError(
        "A timm config string starts with 'rand', 'augmix' or 'trivialaugment'. "
        f"Received: config={config!r}"
    )
