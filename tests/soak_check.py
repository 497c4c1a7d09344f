"""10,000 batches through the layer in `tf.data`, for `tests/test_soak.py`.

    python tests/soak_check.py [BATCHES]

Prints one JSON line: the resident memory (VmRSS, MiB) every 500 batches, how many
times the map function was traced, and how many distinct augmented batches came out.
Run in its own process so that the memory measured is this pipeline's alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from randaugment import RandAugment  # noqa: E402

EVERY = 500


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    layer = RandAugment(value_range=(0, 255), num_ops=2, magnitude=0.9, seed=11)
    traces = []

    def augment(x):
        traces.append(1)  # runs when the function is traced, not when it runs
        return layer(x)

    images = np.random.default_rng(0).integers(0, 256, (256, 32, 32, 3)).astype(np.uint8)
    ds = (
        tf.data.Dataset.from_tensor_slices(images)
        .batch(8, drop_remainder=True)
        .repeat()
        .take(batches)
        .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    rss, seen = [], set()
    start = time.perf_counter()
    for n, batch in enumerate(ds.as_numpy_iterator(), 1):
        seen.add(hashlib.sha256(batch.tobytes()).digest())
        if n % EVERY == 0:
            rss.append(round(rss_mib(), 1))
    print(
        json.dumps(
            {
                "batches": n,
                "every": EVERY,
                "rss_mib": rss,
                "traces": len(traces),
                "distinct_batches": len(seen),
                "seed_state": layer.seed_state.numpy().tolist(),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
