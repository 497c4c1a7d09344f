"""AugMix's Jensen-Shannon consistency loss (`randaugment.losses`, issue 14).

- The divergence equals a NumPy implementation written here from the definition
  (JS = mean_i KL(p_i || M), M the mean distribution), for logits and probabilities;
  it is 0 for identical views, positive otherwise, at most log(k), and symmetric in
  the views.
- The loss is cross-entropy on the clean third plus weight * JS, per clean example.
- It runs under the JAX backend (a subprocess: a process picks its backend once).
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from randaugment.losses import AugMixConsistencyLoss, jensen_shannon_consistency

ROOT = Path(__file__).resolve().parents[1]
LOSSES = ROOT / "randaugment" / "losses.py"


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _numpy_js(*probs):
    """JS(p_1..p_k) = (1/k) sum_i sum_c p_i[c] log(p_i[c] / M[c]), M = (1/k) sum_i p_i,
    with 0 log 0 = 0; float64."""
    probs = [np.asarray(p, np.float64) for p in probs]
    m = sum(probs) / len(probs)
    total = 0.0
    for p in probs:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / m), 0.0)
        total = total + terms.sum(axis=-1)
    return total / len(probs)


def _views(k=3, batch=16, classes=10, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, scale, (batch, classes)).astype(np.float32) for _ in range(k)]


def test_equals_numpy_definition_from_logits_and_probabilities():
    for k in (2, 3, 5):
        logits = _views(k)
        expected = _numpy_js(*[_softmax(v.astype(np.float64)) for v in logits])
        got = np.asarray(jensen_shannon_consistency(*logits))
        assert got.shape == (16,)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        probs = [_softmax(v) for v in logits]
        got = np.asarray(jensen_shannon_consistency(*probs, from_logits=False))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_known_value_of_two_disjoint_distributions():
    # JS of two distributions with disjoint supports is log 2 (M puts 1/2 on each).
    p = np.array([[1.0, 0.0]])
    q = np.array([[0.0, 1.0]])
    got = float(np.asarray(jensen_shannon_consistency(p, q, from_logits=False))[0])
    assert got == pytest.approx(math.log(2), rel=1e-6)


def test_zero_for_identical_views_positive_otherwise_and_bounded():
    clean, aug1, aug2 = _views()
    same = np.asarray(jensen_shannon_consistency(clean, clean, clean))
    np.testing.assert_allclose(same, 0.0, atol=1e-6)
    # Logits that differ by a constant per row are the same distribution.
    shifted = np.asarray(jensen_shannon_consistency(clean, clean + 5.0, clean - 2.0))
    np.testing.assert_allclose(shifted, 0.0, atol=1e-6)
    different = np.asarray(jensen_shannon_consistency(clean, aug1, aug2))
    assert (different > 1e-3).all()
    assert (different <= math.log(3) + 1e-6).all()
    # One differing row makes only that row's divergence positive.
    one = aug1.copy()
    one[1:] = clean[1:]
    mixed = np.asarray(jensen_shannon_consistency(clean, one, clean))
    assert mixed[0] > 1e-3
    np.testing.assert_allclose(mixed[1:], 0.0, atol=1e-6)


def test_symmetric_in_the_views():
    views = _views()
    reference = np.asarray(jensen_shannon_consistency(*views))
    for order in itertools.permutations(range(3)):
        got = np.asarray(jensen_shannon_consistency(*[views[i] for i in order]))
        np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-7)


def test_extreme_logits_and_zero_probabilities_stay_finite():
    big = np.array([[1000.0, -1000.0, 0.0]], np.float32)
    got = np.asarray(jensen_shannon_consistency(big, -big, big))
    assert np.isfinite(got).all()
    # p = (1, 0, 0) twice and (0, 0, 1): M = (2/3, 0, 1/3).
    expected = (2 * math.log(3 / 2) + math.log(3)) / 3
    assert got[0] == pytest.approx(expected, rel=1e-5)
    p = np.array([[1.0, 0.0, 0.0]])
    q = np.array([[0.0, 0.0, 1.0]])
    got = np.asarray(jensen_shannon_consistency(p, p, q, from_logits=False))
    assert got[0] == pytest.approx(expected, rel=1e-5)


def test_gradients_are_finite_and_zero_at_agreement():
    import tensorflow as tf

    clean, aug1, aug2 = (tf.constant(v) for v in _views())
    with tf.GradientTape() as tape:
        tape.watch(aug1)
        value = tf.reduce_mean(jensen_shannon_consistency(clean, aug1, aug2))
    grad = tape.gradient(value, aug1).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    with tf.GradientTape() as tape:
        tape.watch(aug1)
        value = tf.reduce_mean(jensen_shannon_consistency(clean, clean + 0 * aug1, clean))
    grad = tape.gradient(value, aug1)
    assert grad is None or np.abs(grad.numpy()).max() < 1e-7


def test_bad_views_raise():
    with pytest.raises(ValueError, match="two or more views"):
        jensen_shannon_consistency(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one shape"):
        jensen_shannon_consistency(np.zeros((2, 3)), np.zeros((2, 4)))


def test_batch_unknown_at_trace_time():
    """Inside tf.data or a tf.function the batch size is often unknown (a last partial
    batch): the views' shapes are then partly None, and JS must trace and agree with the
    NumPy definition; shapes that differ where both are known are still refused."""
    clean, aug1, aug2 = _views(batch=5)
    import tensorflow as tf

    spec = tf.TensorSpec([None, 10], tf.float32)

    @tf.function(input_signature=[spec, spec, spec])
    def js(a, b, c):
        return jensen_shannon_consistency(a, b, c)

    got = js(clean.astype(np.float32), aug1.astype(np.float32), aug2.astype(np.float32))
    expected = _numpy_js(_softmax(clean), _softmax(aug1), _softmax(aug2))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)

    @tf.function(input_signature=[spec, tf.TensorSpec([None, 9], tf.float32)])
    def mismatched(a, b):
        return jensen_shannon_consistency(a, b)

    with pytest.raises(ValueError, match=r"one shape.*\(None, 10\), \(None, 9\)"):
        mismatched.get_concrete_function()


# -- the loss ------------------------------------------------------------------------------


def _numpy_loss(labels, logits, weight=12.0, views=3):
    parts = np.split(logits.astype(np.float64), views)
    p = [_softmax(v) for v in parts]
    ce = -np.log(p[0][np.arange(len(parts[0])), labels[: len(parts[0])]])
    return float(np.mean(ce + weight * _numpy_js(*p)))


def test_loss_is_clean_cross_entropy_plus_weighted_js():
    clean, aug1, aug2 = _views(batch=8)
    logits = np.concatenate([clean, aug1, aug2])
    labels = np.random.default_rng(1).integers(0, 10, 8)
    loss = AugMixConsistencyLoss()
    # Labels of the clean batch, or of every view (repeated): the same loss.
    for y in (labels, np.concatenate([labels] * 3)):
        assert float(loss(y, logits)) == pytest.approx(_numpy_loss(labels, logits), rel=1e-5)
    assert float(AugMixConsistencyLoss(weight=0.0)(labels, logits)) == pytest.approx(
        _numpy_loss(labels, logits, weight=0.0), rel=1e-5
    )
    # One-hot labels, probabilities.
    onehot = np.eye(10)[labels]
    probs = _softmax(logits)
    dense = AugMixConsistencyLoss(from_logits=False, sparse=False)
    assert float(dense(onehot, probs)) == pytest.approx(_numpy_loss(labels, logits), rel=1e-4)
    # Identical views: the cross-entropy alone.
    same = np.concatenate([clean] * 3)
    assert float(loss(labels, same)) == pytest.approx(
        _numpy_loss(labels, same, weight=0.0), rel=1e-5
    )


def test_loss_config_round_trip_and_bad_arguments():
    loss = AugMixConsistencyLoss(weight=6.0, num_views=4, sparse=False)
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, AugMixConsistencyLoss)
    assert (clone.weight, clone.num_views, clone.sparse) == (6.0, 4, False)
    with pytest.raises(ValueError, match=r"`weight` must be .* Received: weight=-1"):
        AugMixConsistencyLoss(weight=-1)
    with pytest.raises(ValueError, match=r"`num_views` .* Received: num_views=1"):
        AugMixConsistencyLoss(num_views=1)


def test_exported_as_randaugment_losses():
    import randaugment

    assert randaugment.losses.jensen_shannon_consistency is jensen_shannon_consistency


_JAX_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import jax, jax.numpy as jnp, keras, numpy as np

    # The module file alone (the package would import TensorFlow): it needs Keras only.
    spec = importlib.util.spec_from_file_location("losses", sys.argv[2])
    losses = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(losses)
    AugMixConsistencyLoss = losses.AugMixConsistencyLoss
    jensen_shannon_consistency = losses.jensen_shannon_consistency

    assert keras.backend.backend() == "jax"
    views = [jnp.asarray(v) for v in np.load(sys.argv[1])["views"]]
    js = jensen_shannon_consistency(*views)
    assert isinstance(js, jax.Array), type(js)
    labels = jnp.asarray(np.load(sys.argv[1])["labels"])
    loss = AugMixConsistencyLoss()
    value = loss(labels, jnp.concatenate(views))
    grad = jax.grad(lambda v: loss(labels, jnp.concatenate([views[0], v, views[2]])))(views[1])
    jitted = jax.jit(lambda *v: jensen_shannon_consistency(*v))(*views)
    print(json.dumps({
        "js": np.asarray(js).tolist(),
        "jit": np.asarray(jitted).tolist(),
        "loss": float(value),
        "grad_finite": bool(np.isfinite(np.asarray(grad)).all()),
        "grad_nonzero": bool(np.abs(np.asarray(grad)).max() > 0),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }))
    """
)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_runs_under_the_jax_backend(tmp_path):
    import json

    views = _views(batch=6)
    labels = np.arange(6) % 10
    np.savez(tmp_path / "in.npz", views=np.stack(views), labels=labels)
    script = tmp_path / "jax_check.py"
    script.write_text(_JAX_SCRIPT, encoding="utf-8")
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "JAX_PLATFORMS": "cpu",
    }
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "in.npz"), str(LOSSES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    expected = _numpy_js(*[_softmax(v.astype(np.float64)) for v in views])
    np.testing.assert_allclose(out["js"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["jit"], expected, rtol=1e-5, atol=1e-6)
    assert out["loss"] == pytest.approx(_numpy_loss(labels, np.concatenate(views)), rel=1e-5)
    assert out["grad_finite"] and out["grad_nonzero"]
    assert not out["tensorflow_imported"], "randaugment/losses.py should need Keras only"
