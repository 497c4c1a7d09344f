"""Statistics of the per-image op selection of `rand_augment` (issue 3).

A probe op table replaces the real ops: K = 7 probes whose kernels write their own id
and their sign into the pixels. Probe k with sign s has the code
`c = 2 k + (s > 0) + 1` in 1..14, and its kernel maps every value v to
`(16 v + c) mod 256`. A 1x1 black image after two applied slots therefore holds
`16 c1 + c2`: both slots' ops and signs in one byte, in order. A skipped slot writes
nothing, so a one-slot result is `c` and an untouched one is 0.

The probes go through the real code path of `rand_augment` (argument checks, the plan,
both apply methods): they are `OpSpec`s of the value-table family ("lut"), registered
under their own names in `randaugment.table.OPS_BY_NAME`, whose `table` formula is the
probe's value map (the engine builds every op's table from its record). Each probe has the
parameter `low + sign * (high - low) * m` = its code at magnitude 1, so the fast path
learns the id and the sign only from the plan, as the real ops do.

K = 7 (not a power of two) so that a biased integer-to-op mapping would show.
The negative controls at the end feed the same checks with biased draws (wrong
rounding, a shared draw for both slots, a shared draw for neighbouring images, a
stuck sign) and require them to be rejected: the checks can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

import randaugment
import randaugment.table as table
from randaugment import rand_augment

K = 7
PROBES = tuple(f"probe_{k}" for k in range(K))
BATCH = 4096  # 1x1 images: about 84 per cell of the 49 (op, op) pairs
ALPHA = 1e-3  # fixed seeds: deterministic; a fair sampler fails with probability 0.1 %


def _probe_values(x, code):
    """The probe's value map: v -> (16 v + code) mod 256, broadcasting `code`."""
    return tf.math.floormod(16.0 * x + code, 256.0)


def _probe_kernel(images, codes):
    return _probe_values(images, tf.reshape(tf.cast(codes, tf.float32), [-1, 1, 1, 1]))


def _probe_spec(k):
    # parameter(m=1, sign) = low + sign * (high - low) = 2k + 1 (sign -1) or 2k + 2 (+1).
    return randaugment.OpSpec(
        f"probe_{k}",
        _probe_kernel,
        "lut",
        low=2 * k + 1.5,
        high=2 * k + 2.0,
        signed=True,
        default=False,
        table=_probe_values,
    )


@pytest.fixture
def probes(monkeypatch):
    for k, name in enumerate(PROBES):
        monkeypatch.setitem(table.OPS_BY_NAME, name, _probe_spec(k))
    return PROBES


def _run(seed, batch=BATCH, num_ops=2, rate=1.0, method="auto"):
    images = tf.zeros([batch, 1, 1, 1], tf.uint8)
    out = rand_augment(
        images,
        num_ops=num_ops,
        magnitude=1.0,
        rate=rate,
        ops=PROBES,
        seed=seed,
        method=method,
    )
    return out.numpy()[:, 0, 0, 0].astype(np.int64)


def _decode(codes):
    """Code 1..14 -> (op index 0..6, sign +-1)."""
    codes = np.asarray(codes)
    assert ((codes >= 1) & (codes <= 2 * K)).all(), f"invalid probe codes {np.unique(codes)}"
    return (codes - 1) // 2, np.where((codes - 1) % 2 == 1, 1, -1)


def _slots(values):
    """Two applied slots -> (ops [B, 2], signs [B, 2])."""
    ops1, signs1 = _decode(values // 16)
    ops2, signs2 = _decode(values % 16)
    return np.stack([ops1, ops2], axis=1), np.stack([signs1, signs2], axis=1)


# -- the checks (used on the real draws and on the negative controls) ------------------


def _uniform_pvalue(ops, k=K):
    counts = np.bincount(ops, minlength=k)
    assert len(counts) == k, f"op index out of range: {np.unique(ops)}"
    return stats.chisquare(counts).pvalue


def _pair_pvalue(first, second, k=K):
    """Goodness of fit of the pairs to the uniform distribution on k x k: uniform
    marginals and independence together."""
    counts = np.bincount(first * k + second, minlength=k * k)
    return stats.chisquare(counts).pvalue


def _sign_pvalue(signs):
    return stats.binomtest(int((signs > 0).sum()), signs.size, 0.5).pvalue


def _sign_op_pvalue(ops, signs, k=K):
    """Independence of the sign from the op (contingency table k x 2)."""
    table_ = np.zeros((k, 2), np.int64)
    np.add.at(table_, (ops, (signs > 0).astype(int)), 1)
    return stats.chi2_contingency(table_).pvalue


# -- the probe itself ------------------------------------------------------------------


def test_probe_codes_are_written_by_the_probe_kernels(probes):
    """The probe table is what the tests assume: kernel and fast path agree, codes as
    documented, and all 14 codes occur (so a decoding mistake would show)."""
    for k, name in enumerate(probes):
        spec = table.OPS_BY_NAME[name]
        for sign, code in ((-1.0, 2 * k + 1), (1.0, 2 * k + 2)):
            param = spec.parameter(tf.constant([1.0]), tf.constant([sign]))
            assert param.numpy().tolist() == [code]
            out = spec.kernel(tf.constant([[[[0.0]], [[3.0]]]]), param)
            assert out.numpy().ravel().tolist() == [code, (48 + code) % 256]
    values = _run(seed=11, batch=512)
    assert set(np.unique(values // 16)) == set(range(1, 2 * K + 1))
    assert set(np.unique(values % 16)) == set(range(1, 2 * K + 1))
    ops, signs = _slots(values)
    assert set(np.unique(ops)) == set(range(K)) and set(np.unique(signs)) == {-1, 1}


@pytest.mark.parametrize("method", ["partition", "fused"])
def test_both_methods_select_the_same_ops(probes, method):
    reference = _run(seed=3, batch=256, method="partition")
    assert np.array_equal(_run(seed=3, batch=256, method=method), reference)


# -- selection -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 12345])
def test_each_slot_draws_each_op_with_probability_one_over_k(probes, seed):
    ops, _ = _slots(_run(seed))
    for slot in range(2):
        p = _uniform_pvalue(ops[:, slot])
        assert p > ALPHA, f"slot {slot}: counts {np.bincount(ops[:, slot])}, p={p:.2g}"


@pytest.mark.parametrize("seed", [0, 12345])
def test_slots_are_independent(probes, seed):
    ops, _ = _slots(_run(seed))
    p = _pair_pvalue(ops[:, 0], ops[:, 1])
    assert p > ALPHA, f"(slot 0, slot 1) pairs not uniform on {K}x{K}: p={p:.2g}"
    # Same op in both slots: probability 1/K (drawn with replacement).
    same = int((ops[:, 0] == ops[:, 1]).sum())
    p_same = stats.binomtest(same, len(ops), 1 / K).pvalue
    assert p_same > ALPHA, f"{same} of {len(ops)} images drew the same op twice"


def test_images_are_independent(probes):
    """Neighbouring images (disjoint pairs 2i, 2i+1) and images half a batch apart."""
    ops, _ = _slots(_run(seed=77))
    for slot in range(2):
        first, second = ops[0::2, slot], ops[1::2, slot]
        p = _pair_pvalue(first, second)
        assert p > ALPHA, f"slot {slot}: neighbouring images dependent, p={p:.2g}"
        half = BATCH // 2
        p = _pair_pvalue(ops[:half, slot], ops[half:, slot])
        assert p > ALPHA, f"slot {slot}: images b and b+{half} dependent, p={p:.2g}"
    # Slot 1 of image 2i against slot 0 of image 2i+1 (streams must not overlap).
    p = _pair_pvalue(ops[0::2, 1], ops[1::2, 0])
    assert p > ALPHA, f"slot 1 of one image vs slot 0 of the next: p={p:.2g}"


def test_batches_with_different_seeds_are_independent(probes):
    """Per-batch seeds as in the docs' tf.data recipe: (7, 0) and (7, 1)."""
    a, _ = _slots(_run(seed=tf.constant([7, 0])))
    b, _ = _slots(_run(seed=tf.constant([7, 1])))
    assert not np.array_equal(a, b)
    for slot in range(2):
        p = _pair_pvalue(a[:, slot], b[:, slot])
        assert p > ALPHA, f"slot {slot}: batches with seeds (7,0), (7,1) dependent: p={p:.2g}"


def test_single_slot_is_uniform_over_many_seeds(probes):
    """N = 1, 64 images, 32 seeds: the same uniform law at a small batch size."""
    values = np.concatenate([_run(seed=s, batch=64, num_ops=1) for s in range(32)])
    ops, signs = _decode(values)
    p = _uniform_pvalue(ops)
    assert p > ALPHA, f"N=1 counts {np.bincount(ops)}, p={p:.2g}"
    assert _sign_pvalue(signs) > ALPHA


# -- signs -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 12345])
def test_signs_are_fair_and_independent(probes, seed):
    ops, signs = _slots(_run(seed))
    for slot in range(2):
        p = _sign_pvalue(signs[:, slot])
        plus = int((signs[:, slot] > 0).sum())
        assert p > ALPHA, f"slot {slot}: {plus} of {BATCH} signs positive, p={p:.2g}"
        p = _sign_op_pvalue(ops[:, slot], signs[:, slot])
        assert p > ALPHA, f"slot {slot}: sign depends on the op, p={p:.2g}"
    p = _pair_pvalue((signs[:, 0] > 0).astype(int), (signs[:, 1] > 0).astype(int), k=2)
    assert p > ALPHA, f"the two slots' signs are dependent, p={p:.2g}"


# -- rate ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.3, 0.75])
def test_rate_is_the_per_slot_probability_of_applying(probes, rate):
    values = _run(seed=5, rate=rate)
    # High nibble: the first applied slot of two; low nibble only: exactly one applied.
    applied = np.where(values == 0, 0, np.where(values >= 16, 2, 1))
    expected = stats.binom.pmf([0, 1, 2], 2, rate) * BATCH
    counts = np.bincount(applied, minlength=3)
    p = stats.chisquare(counts, expected).pvalue
    assert p > ALPHA, f"applied-slot counts {counts}, expected {expected.round()}, p={p:.2g}"
    # Applied slots draw their op uniformly all the same.
    one = values[applied == 1]
    both = values[applied == 2]
    ops = np.concatenate([_decode(one)[0], _decode(both // 16)[0], _decode(both % 16)[0]])
    assert _uniform_pvalue(ops) > ALPHA


# -- magnitude noise -------------------------------------------------------------------


@pytest.fixture
def magnitude_probe(probes, monkeypatch):
    """A probe that writes its parameter, 255 m, so a black image comes back as
    floor(255 m): each image's noisy magnitude, to 1/255."""
    spec = randaugment.OpSpec(
        "probe_magnitude",
        _probe_kernel,
        "lut",
        low=0.0,
        high=255.0,
        default=False,
        table=_probe_values,
    )
    monkeypatch.setitem(table.OPS_BY_NAME, "probe_magnitude", spec)
    return "probe_magnitude"


def _magnitudes(name, magnitude, stddev, seed, batch=BATCH):
    images = tf.zeros([batch, 1, 1, 1], tf.uint8)
    out = rand_augment(
        images, num_ops=1, magnitude=magnitude, magnitude_stddev=stddev, ops=[name], seed=seed
    )
    return out.numpy()[:, 0, 0, 0].astype(np.float64)


def test_magnitude_noise_has_the_documented_mean_and_spread(magnitude_probe):
    levels = _magnitudes(magnitude_probe, 0.5, 0.1, seed=21)
    m = (levels + 0.5) / 255.0  # floor(255 m) -> the middle of its 1/255 bin
    se = 0.1 / np.sqrt(BATCH)
    assert abs(m.mean() - 0.5) < 4 * se, f"mean {m.mean():.4f}"
    assert 0.1 * 0.93 < m.std() < 0.1 * 1.07, f"std {m.std():.4f}"
    # Gaussian-like: about 68 % within one standard deviation, 95 % within two.
    within1 = np.mean(np.abs(m - 0.5) < 0.1)
    within2 = np.mean(np.abs(m - 0.5) < 0.2)
    assert 0.64 < within1 < 0.72 and 0.93 < within2 < 0.97, (within1, within2)
    # Per image: neighbouring images are uncorrelated.
    r = np.corrcoef(m[0::2], m[1::2])[0, 1]
    assert abs(r) < 4 / np.sqrt(BATCH // 2), f"neighbour correlation {r:.3f}"
    # Without noise every image gets exactly the magnitude.
    assert set(_magnitudes(magnitude_probe, 0.5, 0.0, seed=21, batch=64)) == {127.0}


@pytest.mark.parametrize("magnitude, end", [(0.95, 255.0), (0.05, 0.0)])
def test_magnitude_noise_is_clipped_to_0_1(magnitude_probe, magnitude, end):
    levels = _magnitudes(magnitude_probe, magnitude, 0.2, seed=8)
    assert levels.min() >= 0 and levels.max() <= 255
    # P(|noise| > 0.05) on the clipped side: 1 - Phi(0.25) = 0.401 for a Gaussian.
    clipped = np.mean(levels == end)
    assert 0.37 < clipped < 0.43, f"{clipped:.3f} of magnitudes clipped to {end / 255}"


# -- negative controls: the checks reject biased draws ---------------------------------


def _uniform_ints(seed, shape):
    return np.random.default_rng(seed).integers(0, 2**24, size=shape)


def test_checks_reject_a_rounding_bias():
    u = _uniform_ints(1, BATCH) / 2**24
    biased = np.round(u * (K - 1)).astype(int)  # end ops get half the weight
    assert _uniform_pvalue(biased) < ALPHA
    fair = (_uniform_ints(1, BATCH) * K) // 2**24
    assert _uniform_pvalue(fair) > ALPHA


def test_checks_reject_shared_draws():
    ops = (_uniform_ints(2, (BATCH, 2)) * K) // 2**24
    assert _pair_pvalue(ops[:, 0], ops[:, 1]) > ALPHA
    assert _pair_pvalue(ops[:, 0], ops[:, 0]) < ALPHA  # both slots from one draw
    images = np.repeat(ops[: BATCH // 2, 0], 2)  # image 2i+1 reuses image 2i's draw
    assert _pair_pvalue(images[0::2], images[1::2]) < ALPHA
    # Neighbours sharing a draw only a quarter of the time is still caught.
    first, other = ops[0::2, 0], ops[1::2, 0]
    partly = np.where(np.arange(BATCH // 2) % 4 == 0, first, other)
    assert _pair_pvalue(first, partly) < ALPHA


def test_checks_reject_unfair_signs():
    ops = (_uniform_ints(3, BATCH) * K) // 2**24
    signs = np.where(_uniform_ints(4, BATCH) < 0.54 * 2**24, 1, -1)
    assert _sign_pvalue(signs) < ALPHA
    tied = np.where(ops < 3, 1, -1)  # sign decided by the op
    assert _sign_op_pvalue(ops, tied) < ALPHA
