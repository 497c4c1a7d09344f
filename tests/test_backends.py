"""The layer under every Keras 3 backend (issue 12).

Each backend runs `tests/backend_check.py` in its own subprocess with KERAS_BACKEND
set (a process picks its Keras backend once, at import). TensorFlow and JAX run here
(jax is a test dependency); PyTorch where `torch` is importable, skipped otherwise.

Slow (the subprocesses take about a minute): `.ci/run` runs them as a step of their
own. The default suite keeps the JAX `tf.data` path through `docs/usage.md`'s
"Keras backends" example, which `tests/test_docs.py` runs with KERAS_BACKEND=jax.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
BACKENDS = ("tensorflow", "jax", "torch")

pytestmark = pytest.mark.slow


def _available(backend: str) -> bool:
    return backend == "tensorflow" or importlib.util.find_spec(backend) is not None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """backend -> what `backend_check.py` recorded (None when not installed)."""
    out = {}
    for backend in BACKENDS:
        if not _available(backend):
            out[backend] = None
            continue
        path = tmp_path_factory.mktemp(backend) / "run.npz"
        env = {
            **os.environ,
            "KERAS_BACKEND": backend,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        result = subprocess.run(
            [sys.executable, str(HERE / "backend_check.py"), str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert result.returncode == 0, f"{backend}:\n{result.stderr[-4000:]}"
        out[backend] = dict(np.load(path))
    return out


def _run(runs, backend):
    if runs[backend] is None:
        pytest.skip(f"{backend} is not installed (checked by hand: see docs/usage.md)")
    return runs[backend]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_runs_the_layer_in_tf_data(runs, backend):
    run = _run(runs, backend)
    assert str(run["backend"]) == backend
    x = run["images"]
    for name in ("sequential", "parallel"):
        batches = run[name]
        assert batches.shape == (6, *x.shape) and batches.dtype == np.uint8
        # A fresh draw for every batch: no two batches share their draws (the same
        # images in every batch, so shared draws would give equal batches).
        flat = batches.reshape(6, -1)
        for i in range(6):
            assert np.mean(flat[i] != x.reshape(-1)) > 0.2, f"{name} batch {i} barely changed"
            for j in range(i):
                assert np.any(flat[i] != flat[j]), f"{name}: batches {i} and {j} are equal"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_same_seed_same_batches_as_the_tensorflow_backend(runs, backend):
    reference, run = _run(runs, "tensorflow"), _run(runs, backend)
    np.testing.assert_array_equal(run["sequential"], reference["sequential"])

    # With parallel calls, which batch takes which per-call seed depends on thread
    # timing (under TF too), but the set of batches is the same.
    def as_set(batches):
        return sorted(b.tobytes() for b in batches)

    assert as_set(run["parallel"]) == as_set(reference["sequential"])
    assert as_set(reference["parallel"]) == as_set(reference["sequential"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_file_saves_and_restores_the_seed_state(runs, backend):
    run = _run(runs, backend)
    np.testing.assert_array_equal(run["resumed"], run["continued"])
    # and the continuation is new draws, not a repeat of the first batches
    assert not np.array_equal(run["continued"], run["first"])
    np.testing.assert_array_equal(run["first"], run["sequential"][:3])
    np.testing.assert_array_equal(run["continued"], run["sequential"][3:6])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_precision_float_output(runs, backend):
    assert str(_run(runs, backend)["mixed_dtype"]) == "float16"


@pytest.mark.parametrize("backend", BACKENDS)
def test_eager_call_returns_the_backend_tensor(runs, backend):
    run = _run(runs, backend)
    expected_module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    assert str(run["bridge_type"]).startswith(expected_module), str(run["bridge_type"])
    np.testing.assert_array_equal(run["bridged"], run["sequential"][0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_a_compiled_train_step(runs, backend):
    """TF runs the layer in its own compiled train step; JAX's (jax.jit) cannot run
    TF ops: a clear error at once, with the tf.data line to use instead. PyTorch's
    compiler (jit_compile=True is torch.compile) breaks its graph at the layer and
    runs it eagerly, through the NumPy bridge. Inference is the identity everywhere."""
    run = _run(runs, backend)
    message = str(run["traced_error"])
    if backend in ("tensorflow", "torch"):
        assert message == ""
    else:
        assert "ds = ds.map(lambda x, y: (layer(x), y)" in message, message
        assert f'KERAS_BACKEND="{backend}"' in message
    x = run["images"].astype(np.float64)
    expected = np.repeat((x / 255).mean(axis=(1, 2)).sum(axis=1, keepdims=True), 2, axis=1)
    np.testing.assert_allclose(run["predictions"], expected, rtol=1e-5)
