"""The plan: every random number of one call, drawn up front from one seed.

All draws are stateless integers in [0, 2**24): they are the same in eager, graph and
XLA modes (float stateless draws are not), and image b's numbers are elements
`[b * N * 17, (b + 1) * N * 17)` of one counter-based stream, so they do not depend on
the batch size or on the other images of the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

_RESOLUTION = 2**24
_NOISE_TERMS = 12  # Irwin-Hall: the sum of 12 uniforms minus 6 has mean 0, variance 1
_DRAWS = 5 + _NOISE_TERMS  # op, sign, apply, centre x, centre y, noise terms


class Plan(NamedTuple):
    """What happens to each image, per slot. All tensors have leading shape `[B, N]`.

    Attributes:
        op: int32, index into the list of ops being drawn from.
        sign: float32, +1 or -1 (used by signed ops).
        magnitude: float32 in [0, 1], after the per-image noise.
        apply: bool, whether the slot applies its op (probability `rate`).
        center: float32 `[B, N, 2]` in [0, 1): cutout's centre as a fraction of (W, H).
    """

    op: tf.Tensor
    sign: tf.Tensor
    magnitude: tf.Tensor
    apply: tf.Tensor
    center: tf.Tensor


def _separate(x: tf.Tensor) -> tf.Tensor:
    """A no-op `maximum` that keeps compilers from fusing `x` into a multiply-add."""
    return tf.maximum(x, -3.0e38)


def draw_plan(
    seed: tf.Tensor,
    batch_size: tf.Tensor,
    num_ops: int,
    num_choices: int,
    magnitude: float,
    magnitude_stddev: float,
    rate: float,
) -> Plan:
    """Draws the plan of one call.

    Args:
        seed: int32 `[2]`.
        batch_size: scalar int32, B.
        num_ops: N, the number of slots.
        num_choices: K, the number of ops drawn from (uniformly, with replacement).
        magnitude: the mean magnitude in [0, 1] (a float, or a float32 scalar tensor
            as are `magnitude_stddev` and `rate`). With magnitude and stddev 0, no
            slot applies its op.
        magnitude_stddev: standard deviation of the per-image, per-slot Gaussian-like
            noise (Irwin-Hall with 12 terms: exact in every backend), clipped to [0, 1].
        rate: probability that a slot applies its op.
    """
    draws = tf.random.stateless_uniform(
        tf.stack([batch_size, num_ops, _DRAWS]),
        seed=seed,
        minval=0,
        maxval=_RESOLUTION,
        dtype=tf.int32,
    )
    # op = floor(u * K) with u = k / 2**24, exactly, in integers (k * K < 2**31).
    op = (draws[..., 0] * num_choices) // _RESOLUTION
    sign = tf.where(draws[..., 1] < _RESOLUTION // 2, -1.0, 1.0)
    uniform = tf.cast(draws, tf.float32) / float(_RESOLUTION)  # exact: k < 2**24
    apply = uniform[..., 2] < rate
    center = uniform[..., 3:5]
    # Exact integer sum of the 12 noise terms, then one rounding to float32.
    noise_sum = tf.reduce_sum(draws[..., 5:], axis=-1) - (_NOISE_TERMS // 2) * _RESOLUTION
    noise = tf.cast(noise_sum, tf.float32) / float(_RESOLUTION)
    mags = magnitude + _separate(magnitude_stddev * noise)
    mags = tf.clip_by_value(mags, 0.0, 1.0)
    if not (isinstance(magnitude, float) and isinstance(magnitude_stddev, float)):
        # A magnitude of 0 (with no noise) does nothing, ops without a parameter
        # included, as a float 0 does (the call then returns at once).
        apply = apply & ((magnitude > 0.0) | (magnitude_stddev > 0.0))
    return Plan(op=op, sign=sign, magnitude=mags, apply=apply, center=center)
