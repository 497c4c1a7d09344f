"""What the layer costs under each Keras backend: mapped in `tf.data` against called
on the backend's own tensors in eager mode (the NumPy bridge), side by side.

    KERAS_BACKEND=torch python -m benchmarks.backends [--size 32] [--batches 30]

Under JAX and PyTorch the augmentation always runs as TensorFlow ops. In `tf.data` it
gets TF tensors and runs in TF's threads while the trainer works; in a model it gets
the backend's arrays, which go to NumPy, through TensorFlow eagerly, and back (and
under `jax.jit` cannot run at all). Prints one line per path and writes a JSON file
with `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from randaugment import RandAugment  # noqa: E402


def _rate(fn, batches: int, batch_size: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(batches):
        fn()
    return batches * batch_size / (time.perf_counter() - start)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.backends", description=__doc__)
    p.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=30, help="timed batches per path")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per path")
    p.add_argument("--out", help="write the results as JSON here")
    a = p.parse_args(argv)
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (a.batch_size, a.size, a.size, 3)).astype(np.uint8)
    layer = RandAugment(num_ops=3, magnitude=0.8, seed=0)

    ds = tf.data.Dataset.from_tensors(x).repeat().map(layer, num_parallel_calls=tf.data.AUTOTUNE)
    it = iter(ds.prefetch(tf.data.AUTOTUNE))
    native = keras.ops.convert_to_tensor(x)

    def tf_data():
        next(it)

    def eager_bridge():
        out = layer(native)
        if backend == "torch":
            out.cpu()  # materialize
        elif backend == "jax":
            out.block_until_ready()

    paths = {"tf.data map": tf_data, "eager call on backend tensors": eager_bridge}
    rates = {name: [] for name in paths}
    for _ in range(a.rounds):  # alternate, so that load on the machine hits both
        for name, fn in paths.items():
            rates[name].append(_rate(fn, a.batches, a.batch_size))
    result = {
        "backend": backend,
        "size": a.size,
        "batch_size": a.batch_size,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "images_per_s_median": {k: float(np.median(v)) for k, v in rates.items()},
        "images_per_s": rates,
    }
    base = result["images_per_s_median"]["tf.data map"]
    for name, value in result["images_per_s_median"].items():
        print(f"{backend:>10}  {name:<32} {value:>10,.0f} img/s  ({value / base:.2f}x tf.data)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
