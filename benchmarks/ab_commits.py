"""Images per second of `rand_augment` in `tf.data` from one checkout of the library.

    python benchmarks/ab_commits.py SRC SIZE

`SRC` is a checkout of this repository (for example a `git worktree` at an older
commit); the library is imported from it, and the script refuses to run if another
copy is imported instead. Run it alternately for two checkouts, one process per
measurement, to compare two commits on a shared machine (docs/benchmarks.md, "A/B
against the previous release candidate"). Prints `SRC SIZE images_per_second`: the
median of three 3-second windows, batch 128, N=3 at magnitude 0.8, uint8 images.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(src: str, size: int) -> float:
    sys.path.insert(0, src)
    import numpy as np
    import tensorflow as tf

    import randaugment

    if not randaugment.__file__.startswith(os.path.abspath(src)):
        raise SystemExit(f"imported {randaugment.__file__}, not the checkout. Received: SRC={src}")
    images = np.random.default_rng(0).integers(0, 256, (1024, size, size, 3)).astype(np.uint8)
    ds = tf.data.Dataset.from_tensor_slices(images).repeat().batch(128).enumerate()
    ds = ds.map(
        lambda i, b: randaugment.rand_augment(
            b, num_ops=3, magnitude=0.8, seed=tf.stack([1, tf.cast(i, tf.int32)])
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)
    it = iter(ds)
    for _ in range(5):
        next(it)
    rates = []
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < 3.0:
            next(it)
            n += 1
        rates.append(n * 128 / (time.perf_counter() - start))
    return float(np.median(rates))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, side = sys.argv[1], int(sys.argv[2])
    print(f"{source} {side} {main(source, side):.0f}")
