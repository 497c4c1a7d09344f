"""Runs the layer under the Keras backend named by KERAS_BACKEND (a subprocess of
`tests/test_backends.py`) and writes what it saw to an .npz file.

    KERAS_BACKEND=jax python tests/backend_check.py OUT.npz

What it records (the parent test compares backends and checks the claims):
- "sequential": 6 batches of `ds.map(RandAugment(seed=7))` over 6 copies of the same
  8 images, in order;
- "parallel": the same with `num_parallel_calls=AUTOTUNE` (which batch takes which
  per-call seed then depends on thread timing, under any backend);
- "resumed": the 3 batches a model loaded from a `.keras` file (saved after the
  first 3 batches) gives next, and "continued" those of the original layer;
- "mixed": the output dtype under the `mixed_float16` policy for float32 input;
- "bridge": the eager call on a NumPy array (the backend's own tensor comes back);
- "traced_error": the message raised when the layer runs inside the backend's
  compiled train step (`model.fit`), or "" if it ran.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from randaugment import RandAugment  # noqa: E402


def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 64, (1, 24, 20, 3))
    # Mostly smooth images: pure noise is left unchanged by too many ops.
    ramp = np.linspace(0, 150, 24 * 20 * 3).reshape(1, 24, 20, 3).astype(np.int64)
    return np.concatenate([(base + ramp + 9 * k) % 256 for k in range(8)]).astype(np.uint8)


def main(out_path: str) -> None:
    x = images()
    ds = tf.data.Dataset.from_tensors(x).repeat(6)
    layer = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.9, seed=7)
    sequential = np.stack([b.numpy() for b in ds.map(layer)])
    layer = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.9, seed=7)
    mapped = ds.map(layer, num_parallel_calls=tf.data.AUTOTUNE)
    parallel = np.stack([b.numpy() for b in mapped])

    # Save after 3 batches, continue with the original and with the loaded copy.
    layer2 = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.9, seed=7)
    model = keras.Sequential([keras.Input((24, 20, 3), dtype="uint8"), layer2])
    first = [b.numpy() for b in ds.take(3).map(layer2)]
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    continued = np.stack([b.numpy() for b in ds.take(3).map(layer2)])
    resumed = np.stack([b.numpy() for b in ds.take(3).map(loaded.layers[0])])

    # Keras's dtype convention for float input.
    mixed = RandAugment(magnitude=0.9, seed=1, dtype="mixed_float16")
    mixed_dtype = tf.data.Dataset.from_tensors(x.astype(np.float32)).map(mixed)
    mixed_dtype = next(iter(mixed_dtype)).dtype.name

    # An eager call on NumPy under this backend.
    bridged = RandAugment(num_ops=2, magnitude=0.9, seed=7)(x)
    bridge_type = f"{type(bridged).__module__}.{type(bridged).__name__}"

    # Inside the backend's compiled train step, and at inference (the identity).
    def net():
        model = keras.Sequential(
            [
                keras.Input((24, 20, 3)),
                RandAugment(num_ops=2, magnitude=0.9, seed=7),
                keras.layers.Rescaling(1 / 255),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(2, kernel_initializer="ones"),
            ]
        )
        model.compile("sgd", "mse", jit_compile=True)
        return model

    traced_error = ""
    try:
        net().fit(x.astype(np.float32), np.zeros((8, 2), np.float32), epochs=1, verbose=0)
    except RuntimeError as e:
        traced_error = str(e)
    predictions = np.asarray(net().predict(x.astype(np.float32), verbose=0))

    np.savez(
        out_path,
        backend=keras.backend.backend(),
        sequential=sequential,
        parallel=parallel,
        first=np.stack(first),
        continued=continued,
        resumed=resumed,
        mixed_dtype=mixed_dtype,
        bridged=np.asarray(keras.ops.convert_to_numpy(bridged)),
        bridge_type=bridge_type,
        traced_error=traced_error,
        predictions=predictions,
        images=x,
    )


if __name__ == "__main__":
    main(sys.argv[1])
