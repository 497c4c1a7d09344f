"""The pipelines compared by the throughput benchmark.

Each variant is a way to augment uint8 images in an input pipeline.  A
``tf`` variant turns the un-batched ``tf.data`` dataset of images into a
batched, augmented one (``prefetch`` is added by the harness); the ``torch``
variant runs in a child process (:mod:`benchmarks.torch_runner`).  A peer that is not
installed, or that fails when built, yields a :class:`Skip` with the reason.

Magnitudes.  The issue's setting is "N=3, magnitude 0.8" on a 0..1 scale
(keras-cv, Keras 3's ``factor`` and this library all use 0..1).  Other scales:

* tf-models-official: ``magnitude`` is a level on 0.._MAX_LEVEL = 0..10, each op
  maps ``level / 10`` to its own range, so 0.8 -> ``magnitude=8``.
* torchvision v2: ``magnitude`` is a bin index into ``num_magnitude_bins=31``
  bins that span 0..max of each op (``linspace(0, max, 31)``), so bin ``b``
  means ``b / 30`` of the range and 0.8 -> ``magnitude=24``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
BASE_SEED = 1234


@dataclasses.dataclass
class Variant:
    key: str
    label: str
    kind: str  # "tf" or "torch"
    # tf: build(ds_images, batch_size) -> batched, augmented dataset.
    # torch: None (the transform lives in benchmarks.torch_runner).
    build: Callable[..., Any] | None
    note: str = ""
    ours: bool = False
    # torch: the child's transform (`benchmarks.torch_runner.TRANSFORMS`).
    torch_transform: str = "rand_augment"


@dataclasses.dataclass
class Skip:
    key: str
    label: str
    reason: str


def _err(e: BaseException) -> str:
    """One line: the error type, its first line and, for traced errors, its last."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    msg = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return f"{type(e).__name__}: {msg}"[:300]


# --------------------------------------------------------------------------
# Baselines and Keras / TF peers


def floor() -> Variant:
    def cast(x):
        return tf.cast(x, tf.float32)

    def build(ds, batch_size):
        return ds.batch(batch_size).map(cast, num_parallel_calls=AUTOTUNE)

    return Variant("floor", "floor (cast only)", "tf", build, "tf.cast to float32, no augmentation")


def _once(make_fn):
    """``make_fn()`` built and wrapped in one ``tf.function`` on first use.

    The harness builds two datasets per variant (steady state and per epoch);
    both call the same traced function, so a slow trace (tf-models-official's
    16-way switch, say) is paid once per run, not once per dataset.  Inside
    ``Dataset.map`` the call is a function call node: the pipeline is the same.
    """
    cache = []

    def get():
        if not cache:
            cache.append(tf.function(make_fn()))
        return cache[0]

    return get


def _keras_layer_variant(key, label, make_layer, note) -> Variant:
    def make():
        layer = make_layer()

        def augment(x):
            return layer(x, training=True)

        return augment

    fn = _once(make)

    def build(ds, batch_size):
        return ds.batch(batch_size).map(fn(), num_parallel_calls=AUTOTUNE)

    return Variant(key, label, "tf", build, note)


def simple_aug() -> Variant | Skip:
    label = "keras.io simple_aug"
    try:
        import keras
    except Exception as e:
        return Skip("simple_aug", label, f"keras not importable ({_err(e)})")

    def make():
        return keras.Sequential(
            [
                keras.layers.RandomFlip("horizontal"),
                keras.layers.RandomRotation(0.02),
                keras.layers.RandomZoom(0.2, 0.2),
            ]
        )

    return _keras_layer_variant(
        "simple_aug",
        label,
        make,
        "RandomFlip('horizontal'), RandomRotation(0.02), RandomZoom(0.2, 0.2) on the batch",
    )


def keras_cv() -> Variant | Skip:
    label = "keras_cv RandAugment"
    try:
        import keras_cv as kcv
    except Exception as e:
        return Skip("keras_cv", label, f"keras_cv not importable ({_err(e)})")

    def make():
        return kcv.layers.RandAugment(
            value_range=(0, 255), augmentations_per_image=3, magnitude=0.8
        )

    return _keras_layer_variant(
        "keras_cv",
        label,
        make,
        f"keras_cv {getattr(kcv, '__version__', '?')}: augmentations_per_image=3, magnitude=0.8 "
        "(its defaults magnitude_stddev=0.15, rate=10/11), on the batch",
    )


def keras_builtin() -> Variant | Skip:
    label = "keras.layers.RandAugment"
    try:
        import keras

        keras.layers.RandAugment  # noqa: B018
    except Exception as e:
        return Skip("keras", label, f"keras.layers.RandAugment not available ({_err(e)})")

    def make():
        return keras.layers.RandAugment(value_range=(0, 255), num_ops=3, factor=0.8)

    return _keras_layer_variant(
        "keras",
        label,
        make,
        f"Keras {keras.__version__}: num_ops=3, factor=0.8, default bilinear; "
        "draws its ops once per batch, not per image",
    )


def tf_models() -> Variant | Skip:
    label = "tf-models-official RandAugment"
    try:
        from official.vision.ops import augment
    except Exception as e:
        return Skip("tfm", label, f"tf-models-official not importable ({_err(e)})")

    def make():
        aug = augment.RandAugment(num_layers=3, magnitude=8)

        def distort(x):
            return aug.distort(x)

        return distort

    fn = _once(make)

    def build(ds, batch_size):
        # Its ops work on one [H, W, 3] image: map before batch, as its
        # classification input pipelines do.
        return ds.map(fn(), num_parallel_calls=AUTOTUNE).batch(batch_size)

    return Variant(
        "tfm",
        label,
        "tf",
        build,
        "official.vision.ops.augment.RandAugment(num_layers=3, magnitude=8) (8 of 10 = 0.8), "
        "per image, mapped before batch",
    )


def torchvision() -> Variant | Skip:
    """Runs in a child process (see :mod:`benchmarks.torch_runner`): only checked here."""
    import importlib.util

    label = "torchvision v2 RandAugment"
    for mod in ("torch", "torchvision"):
        if importlib.util.find_spec(mod) is None:
            return Skip("torchvision", label, f"{mod} not installed")

    return Variant(
        "torchvision",
        label,
        "torch",
        None,
        "transforms.v2.RandAugment(num_ops=3, magnitude=24 of bins 0..30 = 0.8, fill=128), "
        "per image in a DataLoader with 2 workers (separate process)",
    )


# --------------------------------------------------------------------------
# This library


def ours(
    num_ops: int, magnitude: float, jit: bool, key: str | None = None, **kwargs
) -> Variant | Skip:
    mode = "XLA" if jit else "graph"
    label = f"randaugment N={num_ops} m={magnitude:g} ({mode})"
    if "ops" in kwargs and kwargs["ops"] is not None:
        label = f"randaugment {'+'.join(kwargs['ops'])} N={num_ops} m={magnitude:g} ({mode})"
    key = key or f"ours_n{num_ops}m{round(magnitude * 10):02d}{'_xla' if jit else ''}"
    try:
        from randaugment import rand_augment
    except Exception as e:
        return Skip(key, label, f"randaugment not importable ({_err(e)})")

    def augment(i, x):
        seed = tf.stack([tf.constant(BASE_SEED, tf.int32), tf.cast(i, tf.int32)])
        return rand_augment(x, num_ops=num_ops, magnitude=magnitude, seed=seed, **kwargs)

    # One traced function shared by the variant's datasets (see `_once`).
    fn = tf.function(augment, jit_compile=jit)

    def build(ds, batch_size):
        return ds.batch(batch_size).enumerate().map(fn, num_parallel_calls=AUTOTUNE)

    # No trial call here: an XLA trial would compile a program of its own, and
    # the harness skips, with the reason, any variant that fails when calibrated.
    note = (
        f"rand_augment(num_ops={num_ops}, magnitude={magnitude:g}, seed=[{BASE_SEED}, batch index]"
        + "".join(f", {k}={v!r}" for k, v in kwargs.items())
        + ")"
        + (" in tf.function(jit_compile=True)" if jit else " in graph mode")
    )
    return Variant(key, label, "tf", build, note, ours=True)


MAIN_VARIANTS: dict[str, Callable[[], Variant | Skip]] = {
    "floor": floor,
    "simple_aug": simple_aug,
    "keras_cv": keras_cv,
    "keras": keras_builtin,
    "tfm": tf_models,
    "torchvision": torchvision,
    "ours_n3m08": lambda: ours(3, 0.8, False),
    "ours_n3m08_xla": lambda: ours(3, 0.8, True),
    "ours_n2m09": lambda: ours(2, 0.9, False),
    "ours_n2m09_xla": lambda: ours(2, 0.9, True),
}


# --------------------------------------------------------------------------
# The other policies (`python -m benchmarks.policies`): this library's
# trivial_augment, auto_augment and aug_mix beside torchvision's and Keras 3's.

POLICY_CALLS = {
    "trivial": ("trivial_augment", {}),
    "auto": ("auto_augment", {"policy": "imagenet"}),
    "augmix": ("aug_mix", {}),  # severity 3, width 3, depth -1, alpha 1: its defaults
}


def ours_policy(policy: str) -> Variant | Skip:
    name, kwargs = POLICY_CALLS[policy]
    key = f"ours_{policy}"
    label = f"randaugment {name}" + (f" {kwargs['policy']}" if "policy" in kwargs else "")
    try:
        import randaugment
    except Exception as e:
        return Skip(key, label, f"randaugment not importable ({_err(e)})")
    op = getattr(randaugment, name)

    def augment(i, x):
        seed = tf.stack([tf.constant(BASE_SEED, tf.int32), tf.cast(i, tf.int32)])
        return op(x, seed=seed, **kwargs)

    fn = tf.function(augment)

    def build(ds, batch_size):
        return ds.batch(batch_size).enumerate().map(fn, num_parallel_calls=AUTOTUNE)

    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    note = f"{name}(x{args}, seed=[{BASE_SEED}, batch index]) in graph mode, default settings"
    return Variant(key, label, "tf", build, note, ours=True)


_TORCHVISION_POLICIES = {
    "trivial": (
        "trivial_augment",
        "torchvision v2 TrivialAugmentWide",
        "transforms.v2.TrivialAugmentWide(fill=128) (31 bins, nearest: its defaults)",
    ),
    "auto": (
        "auto_augment",
        "torchvision v2 AutoAugment(IMAGENET)",
        "transforms.v2.AutoAugment(AutoAugmentPolicy.IMAGENET, fill=128) (nearest: its default)",
    ),
    "augmix": (
        "aug_mix",
        "torchvision v2 AugMix",
        "transforms.v2.AugMix(severity=3, mixture_width=3, chain_depth=-1, all_ops=False, "
        "fill=128): the paper's op list, as randaugment.aug_mix's default (bilinear: its default)",
    ),
}


def torchvision_policy(policy: str) -> Variant | Skip:
    """Runs in the child process (see :mod:`benchmarks.torch_runner`): only checked here."""
    import importlib.util

    transform, label, note = _TORCHVISION_POLICIES[policy]
    key = f"torchvision_{policy}"
    for mod in ("torch", "torchvision"):
        if importlib.util.find_spec(mod) is None:
            return Skip(key, label, f"{mod} not installed")
    note += ", per CHW uint8 image in a DataLoader with 2 workers (separate process)"
    return Variant(key, label, "torch", None, note, torch_transform=transform)


def keras_augmix() -> Variant | Skip:
    label = "keras.layers.AugMix"
    try:
        import keras

        keras.layers.AugMix  # noqa: B018
    except Exception as e:
        return Skip("keras_augmix", label, f"keras.layers.AugMix not available ({_err(e)})")

    def make():
        # factor 0.3 is severity 3 of 10; 3 chains; all_ops=False: the paper's op list.
        return keras.layers.AugMix(
            value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, all_ops=False
        )

    return _keras_layer_variant(
        "keras_augmix",
        label,
        make,
        f"Keras {keras.__version__}: AugMix(num_chains=3, chain_depth=3, factor=0.3, "
        "all_ops=False) on the batch (its default bilinear)",
    )


POLICY_VARIANTS: dict[str, Callable[[], Variant | Skip]] = {
    "ours_trivial": lambda: ours_policy("trivial"),
    "torchvision_trivial": lambda: torchvision_policy("trivial"),
    "ours_auto": lambda: ours_policy("auto"),
    "torchvision_auto": lambda: torchvision_policy("auto"),
    "ours_augmix": lambda: ours_policy("augmix"),
    "torchvision_augmix": lambda: torchvision_policy("augmix"),
    "keras_augmix": keras_augmix,
}
