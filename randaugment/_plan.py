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


# -- the other policies' samplers -------------------------------------------------------
#
# Each draws one block of integers per image (`_per_image`), so that, as for
# RandAugment, image b's draws depend only on the seed and b.


def _per_image(seed: tf.Tensor, batch_size: tf.Tensor, shape: list[int]) -> tf.Tensor:
    """Integers in [0, 2**24), `[B, *shape]`: image b's are its own part of the stream."""
    return tf.random.stateless_uniform(
        tf.concat([[batch_size], tf.constant(shape, tf.int32)], 0),
        seed=seed,
        minval=0,
        maxval=_RESOLUTION,
        dtype=tf.int32,
    )


def _index(draws: tf.Tensor, count: int) -> tf.Tensor:
    """A uniform index in [0, count) from draws in [0, 2**24), exactly (count < 128)."""
    return (draws * count) // _RESOLUTION


def _unit(draws: tf.Tensor) -> tf.Tensor:
    """A uniform float32 in [0, 1), exact (k / 2**24)."""
    return tf.cast(draws, tf.float32) / float(_RESOLUTION)


def _sign(draws: tf.Tensor) -> tf.Tensor:
    return tf.where(draws < _RESOLUTION // 2, -1.0, 1.0)


def _bin_magnitude(bins: tf.Tensor, num_bins: int) -> tf.Tensor:
    """Magnitude bin k of `num_bins` as a fraction: k / (num_bins - 1), from a table
    of constants (a division in the graph may be rewritten as a multiplication by
    the reciprocal, one rounding different)."""
    table = [k / max(num_bins - 1, 1) for k in range(num_bins)]
    return tf.gather(tf.constant(table, tf.float32), bins)


def draw_trivial_plan(seed, batch_size, num_choices: int, num_bins: int) -> Plan:
    """TrivialAugment: one op per image, drawn uniformly, at a magnitude bin drawn
    uniformly from `num_bins` (bin k is magnitude k / (num_bins - 1))."""
    d = _per_image(seed, batch_size, [1, 5])  # op, bin, sign, centre x, centre y
    return Plan(
        op=_index(d[..., 0], num_choices),
        sign=_sign(d[..., 2]),
        magnitude=_bin_magnitude(_index(d[..., 1], num_bins), num_bins),
        apply=tf.fill(tf.shape(d[..., 0]), True),
        center=_unit(d[..., 3:5]),
    )


def draw_subpolicy_plan(seed, batch_size, ops, probabilities, bins, num_bins: int) -> Plan:
    """AutoAugment: each image draws one sub-policy (uniformly); slot j applies the
    sub-policy's j-th op with its own probability, at its own magnitude bin.

    Args:
        ops: int32 `[S, J]`, each sub-policy's ops (indices into the op list).
        probabilities: float32 `[S, J]`.
        bins: int32 `[S, J]`, magnitude bins out of `num_bins`.

    Returns:
        `(plan, which)`: a plan `[B, J]`, and the sub-policy of each image, int32 `[B]`.
    """
    count, slots = ops.shape
    d = _per_image(seed, batch_size, [1 + 4 * slots])
    which = _index(d[:, 0], count)
    per_slot = tf.reshape(d[:, 1:], [-1, slots, 4])  # apply, sign, centre x, centre y
    plan = Plan(
        op=tf.gather(ops, which),
        sign=_sign(per_slot[..., 1]),
        magnitude=_bin_magnitude(tf.gather(bins, which), num_bins),
        apply=_unit(per_slot[..., 0]) < tf.gather(probabilities, which),
        center=_unit(per_slot[..., 2:4]),
    )
    return plan, which


class MixPlan(NamedTuple):
    """AugMix's plan: `width` chains per image and the weights that mix them.

    Attributes:
        chains: a `Plan` whose tensors are `[B, width, depth]` (`center`
            `[B, width, depth, 2]`): chain w of image b is row `b * width + w` of the
            batch the engine runs.
        weights: int32 `[B, width + 1]`, the mixing weights in units of 2**-14: the
            original image's first, then each chain's.
    """

    chains: Plan
    weights: tf.Tensor


WEIGHT_BITS = 14  # mixing weights are multiples of 2**-14 (exact mixing, see aug_mix)
_GAMMA_QUANTILES = 4096


def _gamma_quantiles(alpha: float, count: int = _GAMMA_QUANTILES) -> list[float]:
    """Quantiles of Gamma(alpha, 1) at (i + 0.5) / count, computed once at trace time.

    The CDF is integrated on a fine grid of t = log x (the integrand
    `exp(alpha t - e^t) / Gamma(alpha)` is smooth in t, trapezoids of 2**-11), starting
    from the series `x^alpha / Gamma(alpha + 1)` below the grid, and inverted by
    linear interpolation in t: about 1e-7 relative, the precision of the float32
    table (`tests/test_policies.py` compares with SciPy).
    """
    import math

    import numpy as np

    low = min(-30.0, (math.log(0.5 / count) + math.lgamma(alpha + 1.0)) / alpha - 5.0)
    high = math.log(alpha + 40.0 * math.sqrt(alpha) + 40.0)
    t = np.arange(low, high, 2.0**-11)
    density = np.exp(alpha * t - np.exp(t) - math.lgamma(alpha))  # pdf(e^t) e^t
    start = math.exp(alpha * low - math.lgamma(alpha + 1.0))
    cdf = start + np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) * 2.0**-12)])
    cdf /= cdf[-1]
    p = (np.arange(count) + 0.5) / count
    return [float(x) for x in np.exp(np.interp(p, cdf, t))]


_QUANTILE_CACHE: dict[float, list[float]] = {}


def _gammas(draws: tf.Tensor, alpha: float) -> tf.Tensor:
    """Gamma(alpha, 1) variates, float32, from integer draws: one of 4096 quantiles,
    chosen uniformly (a table lookup, so exactly the same in every mode)."""
    if alpha not in _QUANTILE_CACHE:
        _QUANTILE_CACHE[alpha] = _gamma_quantiles(alpha)
    table = tf.constant(_QUANTILE_CACHE[alpha], tf.float32)
    return tf.gather(table, draws // (_RESOLUTION // _GAMMA_QUANTILES))


def draw_mix_plan(
    seed,
    batch_size,
    num_choices: int,
    width: int,
    depth: int,
    severity: int,
    num_bins: int,
    alpha: float,
) -> MixPlan:
    """AugMix: `width` chains per image, each of `depth` ops (or of a depth drawn
    uniformly from 1 to 3 when `depth` < 1), ops drawn uniformly, each at a magnitude
    bin drawn uniformly from the first `severity` of `num_bins`; chain weights from a
    Dirichlet(alpha, ..., alpha) and the original's weight from a Beta(alpha, alpha),
    as torchvision's AugMix draws them (a Dirichlet(alpha, alpha) for the pair).
    """
    slots = depth if depth > 0 else 3
    per_op = 5  # op, bin, sign, centre x, centre y
    chain_draws = width * slots * per_op
    d = _per_image(seed, batch_size, [chain_draws + width + width + 2])
    ops = tf.reshape(d[:, :chain_draws], [-1, width, slots, per_op])
    if depth > 0:
        apply = tf.fill(tf.shape(ops[..., 0]), True)
    else:
        depths = _index(d[:, chain_draws : chain_draws + width], 3) + 1  # [B, W] in 1..3
        apply = tf.range(slots)[tf.newaxis, tf.newaxis, :] < depths[..., tf.newaxis]
    chains = Plan(
        op=_index(ops[..., 0], num_choices),
        sign=_sign(ops[..., 2]),
        magnitude=_bin_magnitude(_index(ops[..., 1], severity), num_bins),
        apply=apply,
        center=_unit(ops[..., 3:5]),
    )
    gammas = _gammas(d[:, chain_draws + width :], alpha)  # [B, W + 2]
    chain_g = tf.unstack(gammas[:, :width], num=width, axis=1)
    total = chain_g[0]
    for g in chain_g[1:]:  # in a fixed order: the same sum in every mode
        total = total + g
    keep_g, mix_g = gammas[:, width], gammas[:, width + 1]
    keep = keep_g / (keep_g + mix_g)  # Beta(alpha, alpha): the original's weight
    mixed = mix_g / (keep_g + mix_g)
    unit = float(2**WEIGHT_BITS)
    weights = [tf.round(_separate(keep * unit))]
    weights += [tf.round(_separate(mixed * (g / total) * unit)) for g in chain_g]
    return MixPlan(chains=chains, weights=tf.cast(tf.stack(weights, axis=1), tf.int32))
