"""TrivialAugment, AutoAugment and AugMix (issue 14).

- The ranges equal torchvision's numbers (torchvision 0.29,
  `torchvision/transforms/v2/_auto_augment.py`, restated here as constants).
- The samplers' statistics: chi-square tests on the op, sub-policy, magnitude bin,
  depth and apply draws; Kolmogorov-Smirnov tests of AugMix's weights against SciPy's
  Beta distributions; negative controls show the tests can fail.
- Each policy's output equals a reference path written here: the plan's ops applied
  one kernel call at a time (the kernels are Pillow-checked in `test_ops_pillow.py`),
  and for AugMix the mix computed in NumPy from its definition.
- Same seed, same output in eager mode, `tf.function`, `tf.data` and XLA; an image's
  result does not depend on its batch; every op has a GPU kernel.
- Layers: config and `.keras` round trips; bad arguments raise with clear messages.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from graph_check import gpu_kernel_violations
from scipy import stats

import randaugment
from randaugment import AugMix, AutoAugment, TrivialAugment, aug_mix, auto_augment, trivial_augment
from randaugment._plan import (
    _gamma_quantiles,
    draw_mix_plan,
    draw_subpolicy_plan,
    draw_trivial_plan,
)
from randaugment._ranges import specs_for
from randaugment.policies import AUGMIX_ALL_OPS, AUGMIX_OPS, TRIVIAL_AUGMENT_OPS

H, W = 24, 20
SEED = tf.constant([5, 9], tf.int32)


@pytest.fixture(scope="module")
def photos(make_photos):
    return make_photos(12, H, W)


# -- the ranges are torchvision's ------------------------------------------------------


def _torchvision_spaces(num_bins, height, width):
    """torchvision 0.29's magnitude tables, written as its source writes them
    (`torch.linspace` -> `np.linspace`, `Tensor.round` -> `np.round`, both half to
    even), per policy: op -> (magnitudes over the bins, signed)."""
    lin = np.linspace
    bins = np.arange(num_bins)
    enhance = {
        op: (lin(0.0, 0.9, num_bins), True)
        for op in ("brightness", "color", "contrast", "sharpness")
    }
    common = {
        "shear_x": (lin(0.0, 0.3, num_bins), True),
        "shear_y": (lin(0.0, 0.3, num_bins), True),
        "rotate": (lin(0.0, 30.0, num_bins), True),
    }
    return {
        # AutoAugment._AUGMENTATION_SPACE, also RandAugment's; solarize's
        # `linspace(1.0, 0.0)` times the uint8 bound 255.
        "torchvision": {
            **common,
            "translate_x": (lin(0.0, 150.0 / 331.0 * width, num_bins), True),
            "translate_y": (lin(0.0, 150.0 / 331.0 * height, num_bins), True),
            **enhance,
            "posterize": (8 - np.round(bins / ((num_bins - 1) / 4)), False),
            "solarize": (lin(1.0, 0.0, num_bins) * 255.0, False),
        },
        # TrivialAugmentWide._AUGMENTATION_SPACE
        "trivial_wide": {
            "shear_x": (lin(0.0, 0.99, num_bins), True),
            "shear_y": (lin(0.0, 0.99, num_bins), True),
            "translate_x": (lin(0.0, 32.0, num_bins), True),
            "translate_y": (lin(0.0, 32.0, num_bins), True),
            "rotate": (lin(0.0, 135.0, num_bins), True),
            **{op: (lin(0.0, 0.99, num_bins), True) for op in enhance},
            "posterize": (8 - np.round(bins / ((num_bins - 1) / 6)), False),
            "solarize": (lin(1.0, 0.0, num_bins) * 255.0, False),
        },
        # AugMix._AUGMENTATION_SPACE (_PARTIAL_AUGMENTATION_SPACE plus the enhance ops)
        "augmix": {
            **common,
            "translate_x": (lin(0.0, width / 3.0, num_bins), True),
            "translate_y": (lin(0.0, height / 3.0, num_bins), True),
            **enhance,
            "posterize": (4 - np.round(bins / ((num_bins - 1) / 4)), False),
            "solarize": (lin(1.0, 0.0, num_bins) * 255.0, False),
        },
    }


ENHANCE = {"brightness", "color", "contrast", "sharpness"}


@pytest.mark.parametrize(
    "ranges, num_bins", [("torchvision", 10), ("trivial_wide", 31), ("augmix", 10)]
)
def test_ranges_equal_torchvisions_numbers(ranges, num_bins):
    space = _torchvision_spaces(num_bins, H, W)[ranges]
    for name, (magnitudes, signed) in space.items():
        (spec,) = specs_for([name], ranges)
        assert spec.signed == signed, name
        mags = tf.constant(np.arange(num_bins) / (num_bins - 1), tf.float32)
        ours = spec.parameter(mags, 1.0, H, W).numpy().astype(np.float64)
        if name in ENHANCE:
            ours = ours - 1.0  # torchvision's magnitude m is the factor 1 + m
        np.testing.assert_allclose(ours, magnitudes, rtol=1e-6, atol=1e-5, err_msg=name)


def test_policy_op_lists_are_torchvisions():
    # TrivialAugmentWide: Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness, Color,
    # Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize.
    assert set(TRIVIAL_AUGMENT_OPS) == {
        "identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
        "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
        "auto_contrast", "equalize",
    }  # fmt: skip
    # AugMix._PARTIAL_AUGMENTATION_SPACE, and with the enhance ops.
    assert set(AUGMIX_OPS) == {
        "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "posterize",
        "solarize", "auto_contrast", "equalize",
    }  # fmt: skip
    assert set(AUGMIX_ALL_OPS) == set(AUGMIX_OPS) | ENHANCE


def test_auto_augment_policies_have_25_two_step_subpolicies():
    for name, policy in randaugment.AUTO_AUGMENT_POLICIES.items():
        assert len(policy) == 25, name
        assert all(len(sub) == 2 for sub in policy), name
    # Spot checks against torchvision's `_get_policies` (first and last sub-policies).
    assert randaugment.AUTO_AUGMENT_POLICIES["imagenet"][0] == (
        ("posterize", 0.4, 8),
        ("rotate", 0.6, 9),
    )
    assert randaugment.AUTO_AUGMENT_POLICIES["cifar10"][-1] == (
        ("translate_y", 0.7, 9),
        ("auto_contrast", 0.9, None),
    )
    assert randaugment.AUTO_AUGMENT_POLICIES["svhn"][15] == (
        ("invert", 0.8, None),
        ("translate_y", 0.0, 2),
    )


# -- statistics of the samplers ----------------------------------------------------------

N = 24_000


def _chi2_uniform(values, k):
    counts = np.bincount(np.asarray(values).ravel(), minlength=k)
    assert len(counts) == k, np.unique(values)
    return stats.chisquare(counts).pvalue


def test_trivial_draws_are_uniform_over_ops_bins_and_signs():
    plan = draw_trivial_plan(SEED, tf.constant(N), 14, 31)
    bins = np.round(plan.magnitude.numpy()[:, 0] * 30).astype(int)
    assert plan.op.shape == (N, 1)
    assert _chi2_uniform(plan.op.numpy(), 14) > 1e-3
    assert _chi2_uniform(bins, 31) > 1e-3
    assert stats.binomtest(int((plan.sign.numpy() > 0).sum()), N).pvalue > 1e-3
    assert plan.apply.numpy().all()
    # Negative control: the same check rejects a biased bin draw.
    assert _chi2_uniform(np.minimum(bins, 29), 31) < 1e-6


def _auto_plan(policy="imagenet", n=N, seed=SEED):
    names, ops, probabilities, bins = randaugment.policies._policy_tables(policy)
    plan, which = draw_subpolicy_plan(
        seed,
        tf.constant(n),
        tf.constant(ops, tf.int32),
        tf.constant(probabilities, tf.float32),
        tf.constant(bins, tf.int32),
        10,
    )
    return names, plan, which.numpy()


@pytest.mark.parametrize("policy", sorted(randaugment.AUTO_AUGMENT_POLICIES))
def test_auto_augment_subpolicies_and_probabilities(policy):
    names, plan, which = _auto_plan(policy)
    assert _chi2_uniform(which, 25) > 1e-3
    steps = randaugment.AUTO_AUGMENT_POLICIES[policy]
    ops, apply = plan.op.numpy(), plan.apply.numpy()
    mags = plan.magnitude.numpy()
    for s, sub in enumerate(steps):
        rows = which == s
        for j, (op, probability, magnitude_bin) in enumerate(sub):
            assert (np.array(names)[ops[rows, j]] == op).all()
            expected_bin = 0 if magnitude_bin is None else magnitude_bin
            np.testing.assert_allclose(mags[rows, j], expected_bin / 9, rtol=1e-6)
            applied = int(apply[rows, j].sum())
            if probability in (0.0, 1.0):
                assert applied == probability * rows.sum()
            else:
                assert stats.binomtest(applied, int(rows.sum()), probability).pvalue > 1e-4


@pytest.mark.parametrize("depth", [-1, 2])
def test_aug_mix_chain_draws(depth):
    width, severity = 3, 4
    plan = draw_mix_plan(SEED, tf.constant(N // 4), 9, width, depth, severity, 10, 1.0)
    chains = plan.chains
    slots = 3 if depth < 0 else depth
    assert chains.op.shape == (N // 4, width, slots)
    assert _chi2_uniform(chains.op.numpy(), 9) > 1e-3
    bins = np.round(chains.magnitude.numpy() * 9).astype(int)
    assert set(np.unique(bins)) == set(range(severity))
    assert _chi2_uniform(bins, severity) > 1e-3
    depths = chains.apply.numpy().sum(axis=-1)
    if depth < 0:
        assert _chi2_uniform(depths - 1, 3) > 1e-3
        # A chain applies its first `depth` slots.
        assert (chains.apply.numpy() == (np.arange(3) < depths[..., None])).all()
    else:
        assert (depths == depth).all()


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_aug_mix_weights_are_dirichlet_and_beta(alpha):
    width = 3
    plan = draw_mix_plan(SEED, tf.constant(N), 9, width, -1, 3, 10, alpha)
    weights = plan.weights.numpy() / 2.0**14
    assert weights.shape == (N, width + 1)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=(width + 1) * 2.0**-15)
    # The original's weight ~ Beta(alpha, alpha); a chain's share of the rest, a
    # Dirichlet(alpha 1) marginal, ~ Beta(alpha, (width - 1) alpha). The weights are
    # quantized to 2**-14 and the gammas to 4096 quantiles: far below what a KS test
    # of 24,000 draws resolves.
    assert stats.kstest(weights[:, 0], stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    if alpha >= 1.0:  # (below 1 the quantization puts a visible atom at a share of 0)
        ok = weights[:, 0] < 0.9
        share = weights[ok, 1] / (1.0 - weights[ok, 0])
        marginal = stats.beta(alpha, (width - 1) * alpha).cdf
        assert stats.kstest(share, marginal).pvalue > 1e-3
    # The gamma variates themselves, before any quantization of the weights.
    draws = tf.random.stateless_uniform([N], (3, 4), 0, 2**24, tf.int32)
    gammas = randaugment._plan._gammas(draws, alpha).numpy()
    assert stats.kstest(gammas, stats.gamma(alpha).cdf).pvalue > 1e-3
    # Negative control: the wrong alpha is rejected.
    wrong = stats.beta(alpha * 2, alpha * 2).cdf
    assert stats.kstest(weights[:, 0], wrong).pvalue < 1e-6


def test_gamma_quantile_table_matches_scipy():
    for alpha in (0.1, 1.0, 2.5):
        q = np.array(_gamma_quantiles(alpha))
        expected = stats.gamma(alpha).ppf((np.arange(4096) + 0.5) / 4096)
        np.testing.assert_allclose(q, expected, rtol=2e-6)


# -- outputs equal the per-op reference ----------------------------------------------


def _reference(images, plan, specs, fill=128.0, interpolation="nearest"):
    """One kernel call per image and applied slot, from the plan (leading axes [B, N])."""
    op, sign, mag = plan.op.numpy(), plan.sign.numpy(), plan.magnitude.numpy()
    apply, center = plan.apply.numpy(), plan.center.numpy()
    out = []
    _, height, width = images.shape[:3]
    for b in range(images.shape[0]):
        image = tf.constant(images[b : b + 1].astype(np.float32))
        for n in range(op.shape[1]):
            if not apply[b, n]:
                continue
            spec = specs[op[b, n]]
            if not spec.has_parameter:
                image = spec.kernel(image)
                continue
            param = spec.parameter(mag[b, n : n + 1], sign[b, n : n + 1], height, width)
            if spec.name == "cutout":
                centers = center[b, n : n + 1] * np.array([width, height], np.float32)
                image = spec.kernel(image, param, centers, fill_value=fill)
            elif spec.family == "geometric":
                image = spec.kernel(image, param, fill_value=fill, interpolation=interpolation)
            else:
                image = spec.kernel(image, param)
        out.append(image.numpy())
    return np.concatenate(out).astype(np.uint8)


@pytest.mark.parametrize("method", ["partition", "fused"])
def test_trivial_augment_equals_the_reference(photos, method):
    specs = specs_for(TRIVIAL_AUGMENT_OPS, "trivial_wide")
    plan = draw_trivial_plan(SEED, tf.constant(len(photos)), len(specs), 31)
    out = trivial_augment(photos, seed=SEED, method=method).numpy()
    np.testing.assert_array_equal(out, _reference(photos, plan, specs))
    assert np.mean(out != photos) > 0.3


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("policy", ["imagenet", "svhn"])
def test_auto_augment_equals_the_reference(photos, method, policy):
    names, plan, _ = _auto_plan(policy, n=len(photos))
    specs = specs_for(names, "torchvision")
    out = auto_augment(photos, policy=policy, seed=SEED, method=method).numpy()
    np.testing.assert_array_equal(out, _reference(photos, plan, specs, interpolation="nearest"))


@pytest.mark.parametrize("method", ["partition", "fused"])
@pytest.mark.parametrize("all_ops, depth, width", [(False, -1, 3), (True, 2, 4)])
def test_aug_mix_equals_chains_of_kernels_mixed_in_numpy(photos, method, all_ops, depth, width):
    ops = AUGMIX_ALL_OPS if all_ops else AUGMIX_OPS
    specs = specs_for(ops, "augmix")
    n = len(photos)
    plan = draw_mix_plan(SEED, tf.constant(n), len(specs), width, depth, 5, 10, 1.0)
    flat = tf.nest.map_structure(lambda t: tf.reshape(t, [n * width, *t.shape[2:]]), plan.chains)
    chains = _reference(np.repeat(photos, width, axis=0), flat, specs)
    chains = chains.reshape(n, width, H, W, 3).astype(np.int64)
    q = plan.weights.numpy().astype(np.int64)  # units of 2**-14
    total = q[:, 0, None, None, None] * photos + np.einsum("bw,bwhxc->bhxc", q[:, 1:], chains)
    expected = np.clip((total + 2**13) // 2**14, 0, 255).astype(np.uint8)  # round half up
    out = aug_mix(
        photos, severity=5, width=width, depth=depth, all_ops=all_ops, seed=SEED, method=method
    ).numpy()
    np.testing.assert_array_equal(out, expected)
    assert np.mean(out != photos) > 0.3


# -- modes, batches, layers --------------------------------------------------------------

POLICIES = {
    "trivial": lambda x, seed, **k: trivial_augment(x, seed=seed, **k),
    "auto_imagenet": lambda x, seed, **k: auto_augment(x, policy="imagenet", seed=seed, **k),
    "augmix": lambda x, seed, **k: aug_mix(x, severity=4, seed=seed, **k),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_same_seed_same_output_in_every_mode(photos, name):
    f = POLICIES[name]
    x = tf.constant(photos)
    eager = f(x, SEED).numpy()
    graph = tf.function(lambda x: f(x, SEED))(x).numpy()
    xla = tf.function(lambda x: f(x, SEED), jit_compile=True)(x).numpy()
    data = next(iter(tf.data.Dataset.from_tensors(x).map(lambda x: f(x, SEED)))).numpy()
    for other in (graph, xla, data):
        np.testing.assert_array_equal(eager, other)
    floats = f(tf.constant(photos / 255.0, tf.float32), SEED, value_range=(0, 1)).numpy()
    np.testing.assert_allclose(floats * 255.0, eager, atol=1e-3)
    assert not np.array_equal(eager, f(x, tf.constant([5, 10])).numpy())


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_an_image_does_not_depend_on_its_batch(photos, name):
    f = POLICIES[name]
    whole = f(photos, SEED).numpy()
    np.testing.assert_array_equal(f(photos[:5], SEED).numpy(), whole[:5])
    # Copies of one image draw differently (per-image draws). (Of 8 AutoAugment
    # draws, several skip both steps or only equalize: fewer distinct results.)
    copies = f(np.repeat(photos[:1], 8, axis=0), SEED).numpy()
    assert len({c.tobytes() for c in copies}) >= {"auto_imagenet": 3}.get(name, 6)


def test_edge_cases():
    x = np.random.default_rng(3).integers(0, 256, (16, 12, 12, 3)).astype(np.uint8)
    # One bin: every op at magnitude 0 (bin 0 of 2 is 0): only the ops without a
    # parameter (auto_contrast, equalize) change an image, and identity never.
    ident = trivial_augment(x, num_magnitude_bins=2, ops=["identity", "rotate"], seed=0)
    out = ident.numpy()
    plan = draw_trivial_plan(tf.constant([0, 0]), tf.constant(16), 2, 2)
    at_zero = plan.magnitude.numpy()[:, 0] == 0.0
    np.testing.assert_array_equal(out[at_zero], x[at_zero])
    # A policy that never applies is the identity; one that always does is not.
    never = [(("rotate", 0.0, 9), ("invert", 0.0, None))]
    np.testing.assert_array_equal(auto_augment(x, policy=never, seed=0).numpy(), x)
    always = [(("invert", 1.0, None), ("invert", 1.0, None))]
    np.testing.assert_array_equal(auto_augment(x, policy=always, seed=0).numpy(), x)
    once = [(("invert", 1.0, None), ("identity", 1.0, None))]
    np.testing.assert_array_equal(auto_augment(x, policy=once, seed=0).numpy(), 255 - x)
    # AugMix with severity 1: every op at magnitude 0; only auto_contrast and equalize
    # change a chain, the mix stays near the image.
    mild = aug_mix(x, severity=1, seed=0).numpy().astype(int)
    assert np.abs(mild - x).mean() < np.abs(aug_mix(x, severity=10, seed=0).numpy() - x).mean()


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_gpu_and_xla_kernels(name, gpu_visible):
    f = POLICIES[name]
    spec = tf.TensorSpec([None, 16, 16, 3], tf.float32)

    def g(x):
        return f(x, tf.constant([1, 2]), value_range=(0, 1), interpolation="bilinear")

    violations = gpu_kernel_violations(tf.function(g).get_concrete_function(spec), xla=False)
    jit = tf.function(g, jit_compile=True).get_concrete_function(spec)
    violations += [f"[jit] {v}" for v in gpu_kernel_violations(jit, runtime=False)]
    assert not violations, "\n  ".join(violations)


LAYERS = [
    (TrivialAugment, {"num_magnitude_bins": 11, "ops": ["rotate", "equalize"], "seed": 3}),
    (AutoAugment, {"policy": "svhn", "fill_value": 0, "seed": 3}),
    (AutoAugment, {"policy": [[["rotate", 0.5, 3], ["invert", 1.0, None]]], "seed": 3}),
    (AugMix, {"severity": 5, "width": 2, "depth": 2, "alpha": 0.5, "all_ops": True, "seed": 3}),
]


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=lambda v: getattr(v, "__name__", None))
def test_layer_config_and_keras_round_trip(cls, kwargs, photos, tmp_path):
    layer = cls(**kwargs)
    config = layer.get_config()
    json.dumps(config)
    clone = cls.from_config(config)
    assert clone.get_config() == config
    x = tf.constant(photos)
    np.testing.assert_array_equal(layer(x).numpy(), clone(x).numpy())
    np.testing.assert_array_equal(layer(x, training=False), photos)
    model = keras.Sequential([keras.Input((H, W, 3), dtype="uint8"), layer])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    # The loaded layer continues the saved one's draws.
    np.testing.assert_array_equal(loaded.layers[0](x).numpy(), layer(x).numpy())
    out = next(iter(tf.data.Dataset.from_tensors(x).map(loaded.layers[0])))
    assert out.shape == x.shape


BAD = [
    (lambda: trivial_augment(np.zeros((1, 4, 4, 3), np.uint8), num_magnitude_bins=1),
     ValueError, r"num_magnitude_bins=1"),
    (lambda: TrivialAugment(ops=["rotat"]), ValueError, r"'rotat'"),
    (lambda: auto_augment(np.zeros((1, 4, 4, 3), np.uint8), policy="cifar"),
     ValueError, r"policy='cifar'"),
    (lambda: AutoAugment(policy=[[("rotate", 1.5, 3)]]), ValueError, r"\('rotate', 1\.5, 3\)"),
    (lambda: AutoAugment(policy=[[("rotate", 0.5, 10)]]), ValueError, r"\('rotate', 0\.5, 10\)"),
    (lambda: AutoAugment(policy=[[("rotat", 0.5, 1)]]), ValueError, r"'rotat'"),
    (lambda: AugMix(severity=11), ValueError, r"severity=11"),
    (lambda: AugMix(width=0), ValueError, r"width=0"),
    (lambda: AugMix(depth=0), ValueError, r"depth=0"),
    (lambda: AugMix(alpha=0.0), ValueError, r"alpha=0\.0"),
    (lambda: AugMix(all_ops="yes"), TypeError, r"all_ops='yes'"),
    (lambda: aug_mix(np.zeros((1, 4, 4, 3), np.uint8), fill_value=1.5), ValueError, r"fill_value=1\.5"),
    (lambda: TrivialAugment(seed="x"), TypeError, r"seed='x'"),
]  # fmt: skip


@pytest.mark.parametrize("make, error, match", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()
