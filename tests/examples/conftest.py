"""Small CIFAR-10 and CIFAR-10-C folders in the real formats, written by the tests.

- ``cifar10_dir``: ``cifar-10-batches-py/`` with the five training batches and the test
  batch as pickled dicts (``b"data"`` uint8 [n, 3072] channel-major, ``b"labels"``,
  ``b"batch_label"``, ``b"filenames"``), written with pickle protocol 2 as the
  official files are, plus ``batches.meta``.
- ``cifar10c_dir``: ``<corruption>.npy`` uint8 [5N, 32, 32, 3] with severities 1..5 in
  consecutive blocks of N, and ``labels.npy`` [5N].
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

# `python -m pytest` puts the repository root on sys.path; plain `pytest` does not.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRAIN_PER_BATCH = 60
TEST_SIZE = 100
C_BLOCK = 40
C_NAMES = ("gaussian_noise", "brightness", "saturate")


def known_image() -> np.ndarray:
    """A 32x32x3 uint8 image whose every pixel and channel differ: value = f(h, w, c)."""
    h, w, c = np.meshgrid(np.arange(32), np.arange(32), np.arange(3), indexing="ij")
    return ((h * 7 + w * 3 + c * 85) % 256).astype(np.uint8)


def to_rows(images: np.ndarray) -> np.ndarray:
    """NHWC -> the official channel-major rows [N, 3072] (R plane, G plane, B plane)."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), 3072))


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray, protocol: int = 2) -> None:
    batch = {
        b"batch_label": path.name.encode(),
        b"labels": [int(v) for v in labels],
        b"data": to_rows(images),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


def make_cifar10(root: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Write ``root/cifar-10-batches-py``; return the arrays written (NHWC, int64)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    n_train = 5 * TRAIN_PER_BATCH
    # Class-dependent mean colour, so that even a tiny model learns something.
    y_train = rng.integers(0, 10, n_train)
    y_test = rng.integers(0, 10, TEST_SIZE)

    def images(labels: np.ndarray) -> np.ndarray:
        base = (labels[:, None, None, None] * 25).astype(np.int64)
        noise = rng.integers(0, 40, (len(labels), 32, 32, 3))
        return np.clip(base + noise, 0, 255).astype(np.uint8)

    x_train, x_test = images(y_train), images(y_test)
    x_test[0] = known_image()
    for b in range(5):
        s = slice(b * TRAIN_PER_BATCH, (b + 1) * TRAIN_PER_BATCH)
        # Protocol 2 as the official files; one batch in protocol 4 (numpy 2 names).
        write_batch(folder / f"data_batch_{b + 1}", x_train[s], y_train[s], 4 if b == 2 else 2)
    write_batch(folder / "test_batch", x_test, y_test)
    meta = {b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": TRAIN_PER_BATCH}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def make_cifar10c(root: Path, x_test: np.ndarray, y_test: np.ndarray) -> Path:
    """Write a CIFAR-10-C folder: each severity block is the first C_BLOCK test images
    with the severity written into pixel (0, 0) of every channel."""
    root.mkdir(parents=True)
    for name in C_NAMES:
        blocks = []
        for severity in range(1, 6):
            block = x_test[:C_BLOCK].copy()
            block[:, 0, 0, :] = 10 * severity + C_NAMES.index(name)
            blocks.append(block)
        np.save(root / f"{name}.npy", np.concatenate(blocks))
    np.save(root / "labels.npy", np.tile(y_test[:C_BLOCK].astype(np.uint8), 5))
    return root


@pytest.fixture(scope="session")
def cifar_files(tmp_path_factory) -> dict:
    """One CIFAR-10 folder and one CIFAR-10-C folder per session (read-only)."""
    root = tmp_path_factory.mktemp("cifar")
    arrays = make_cifar10(root)
    c_dir = make_cifar10c(root / "CIFAR-10-C", arrays["x_test"], arrays["y_test"])
    return {"data_dir": root, "cifar10c_dir": c_dir, **arrays}


@pytest.fixture(autouse=True)
def _restore_op_determinism():
    """The example's CLI enables TF op determinism for the whole process; undo it after
    each test so that it does not leak into later tests (it changes what Keras and TF
    allow: no XLA in `fit`, no unseeded random generators)."""
    yield
    from tensorflow.python.framework import config

    if config.is_op_determinism_enabled():
        config.disable_op_determinism()
