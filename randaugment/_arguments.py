"""Argument checks shared by the functional ops and the layers.

Every error names the argument and echoes the value received.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from randaugment.ops._common import INTERPOLATIONS
from randaugment.table import OPS_BY_NAME

METHODS = ("auto", "partition", "fused")


def check_number(name: str, value, low: float, high: float) -> float:
    """A Python (or NumPy) real number in [low, high], as a float."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a float in [{low}, {high}]. Received: {name}={value!r}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}]. Received: {name}={value!r}")
    return float(value)


def is_tensor_like(value) -> bool:
    """A TF tensor or variable, or a Keras variable (not a plain number)."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return True
    try:
        import keras

        return isinstance(value, keras.Variable)
    except (ImportError, AttributeError):  # pragma: no cover - keras is a dependency
        return False


def check_number_or_tensor(name: str, value, low: float, high: float):
    """A float in [low, high], or a scalar tensor / variable holding one.

    A tensor whose value is known now (eager) is checked now; a symbolic tensor or a
    variable (whose value may change between calls) gets a run-time assertion in
    `runtime_range_checks`. Returns a float or a float32 scalar tensor.
    """
    if not is_tensor_like(value):
        return check_number(name, value, low, high)
    if isinstance(value, tf.Variable) or not isinstance(value, tf.Tensor):
        dtype, shape = tf.as_dtype(value.dtype), tf.TensorShape(value.shape)
    else:
        dtype, shape = value.dtype, value.shape
    if not (dtype.is_floating or dtype.is_integer) or dtype == tf.bool:
        raise TypeError(
            f"`{name}` must be a float in [{low}, {high}] or a float scalar tensor. "
            f"Received: {name} with dtype {dtype.name}"
        )
    if shape.rank != 0:
        raise ValueError(
            f"`{name}` must be a scalar (one value for the whole call). "
            f"Received: {name} with shape {shape}"
        )
    if isinstance(value, tf.Tensor) and hasattr(value, "numpy") and tf.executing_eagerly():
        check_number(name, float(value.numpy()), low, high)
    return value


def as_float32(value) -> tf.Tensor | float:
    """Plain floats stay floats (so that the plan can fold them); tensors become float32."""
    if isinstance(value, float):
        return value
    return tf.cast(tf.convert_to_tensor(value), tf.float32)


def runtime_range_checks(**ranges) -> list:
    """Assertions, one per tensor argument, that its value lies in its range.

    `ranges` maps a name to `(value, low, high)`; plain floats (already checked) are
    skipped. A failure reads "assertion failed: [1.5] ... {{node
    magnitude_must_be_in_0_to_1/Received_magnitude/...}}": the argument and its
    range in the node's name, the value in the data. (No message string in the
    data: string constants have no GPU kernel, and the check must not pull the
    graph off the GPU. The Assert itself runs on any device, reading its two
    scalars from host memory.)
    """
    checks = []
    for name, (value, low, high) in ranges.items():
        if isinstance(value, float):
            continue
        scope = f"{name}_must_be_in_{low:g}_to_{high:g}".replace(".", "_")
        with tf.name_scope(scope):
            ok = (value >= low) & (value <= high)  # false for NaN
            checks.append(tf.debugging.Assert(ok, [value], name=f"Received_{name}"))
    return checks


def check_num_ops(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`num_ops` must be a non-negative integer. Received: num_ops={value!r}")
    if value < 0:
        raise ValueError(f"`num_ops` must be a non-negative integer. Received: num_ops={value!r}")
    return int(value)


def check_ops(ops, default: Sequence[str], name: str = "ops") -> tuple[str, ...]:
    if ops is None:
        ops = default
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise TypeError(f"`{name}` must be a list of op names. Received: {name}={ops!r}")
    ops = tuple(ops)
    if not ops:
        raise ValueError(f"`{name}` must name at least one op. Received: {name}={ops!r}")
    unknown = [op for op in ops if op not in OPS_BY_NAME]
    if unknown:
        raise ValueError(
            f"Unknown op name(s) {unknown} in `{name}`. Valid names: {sorted(OPS_BY_NAME)}. "
            f"Received: {name}={list(ops)!r}"
        )
    return ops


def check_value_range(value_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"`value_range` must be a pair (low, high). Received: value_range={value_range!r}"
        ) from None
    if not low < high or math.isnan(low) or math.isnan(high):
        raise ValueError(
            f"`value_range` must have low < high. Received: value_range={value_range!r}"
        )
    return low, high


def check_fill_value(fill_value, name: str = "fill_value") -> float:
    fill_value = check_number(name, fill_value, 0.0, 255.0)
    if fill_value != int(fill_value):
        raise ValueError(
            f"`{name}` must be a whole number of levels in [0, 255] (images are "
            f"augmented on 256 levels, as PIL's uint8 images). Received: {name}={fill_value!r}"
        )
    return fill_value


def check_interpolation(interpolation) -> str:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"`interpolation` must be one of {INTERPOLATIONS}. "
            f"Received: interpolation={interpolation!r}"
        )
    return interpolation


def check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
    return method


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
    return value


# -- seeds ---------------------------------------------------------------------------

# Draws the seed of calls made with seed=None. A TF generator, not Python's random:
# it runs on every call of a traced function rather than freezing at trace time.
_UNSEEDED = None


def nondeterministic_key() -> int:
    """A fresh 63-bit key from the OS, to seed TF generators of unseeded calls.

    (Not `tf.random.Generator.from_non_deterministic_state()`, which raises once TF op
    determinism is enabled; an unseeded call should still work then.)
    """
    return int.from_bytes(os.urandom(8), "little") >> 1


def _unseeded_seed() -> tf.Tensor:
    global _UNSEEDED
    if _UNSEEDED is None:
        with tf.init_scope():
            _UNSEEDED = tf.random.Generator.from_seed(nondeterministic_key())
    return _UNSEEDED.uniform_full_int([2], dtype=tf.int32)


def as_seed(seed) -> tf.Tensor:
    """An int32 `[2]` seed from an int, an int tensor of shape [2], or None (fresh)."""
    # Grappler's constant folding gave wrong results (graph mode only) when a constant
    # seed let it fold the whole plan into the partition path; a
    # PlaceholderWithDefault is never folded.
    return tf.raw_ops.PlaceholderWithDefault(input=_seed_tensor(seed), shape=[2])


def _seed_tensor(seed) -> tf.Tensor:
    if seed is None:
        return _unseeded_seed()
    if isinstance(seed, bool):
        raise TypeError(
            f"`seed` must be an int or an int tensor of shape [2]. Received: seed={seed!r}"
        )
    if isinstance(seed, numbers.Integral):
        return tf.constant([int(seed) % (2**31), 0], tf.int32)
    try:
        seed = tf.convert_to_tensor(seed)
    except (TypeError, ValueError):
        raise TypeError(
            f"`seed` must be an int or an int tensor of shape [2]. Received: seed={seed!r}"
        ) from None
    if not seed.dtype.is_integer or (seed.shape.rank is not None and seed.shape != (2,)):
        raise ValueError(
            f"`seed` must be an int or an int tensor of shape [2]. "
            f"Received: seed with dtype {seed.dtype.name} and shape {seed.shape}"
        )
    # Into [0, 2**31), as for Python ints: with a negative component TensorFlow's
    # stateless ops draw differently under XLA than in graph mode (TF 2.21).
    return tf.cast(tf.bitwise.bitwise_and(tf.cast(seed, tf.int64), 2**31 - 1), tf.int32)
