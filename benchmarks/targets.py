"""What boxes and masks cost: `rand_augment` on images alone against the same images
with 32 boxes each, with a segmentation mask each, and with both, side by side.

    python -m benchmarks.targets [--sizes 32,72,224] [--rounds 5] [--out-dir DIR]

Each variant is a `tf.data` pipeline (uint8 images in memory, batch 128, map with
AUTOTUNE, N=3 ops at magnitude 0.8, one seed per batch); the variants are measured
in interleaved rounds (so that the load of a shared machine hits all of them) and the
report gives each one's median images per second and its time relative to images
alone. Writes `targets-<UTC time>.json` and `.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from randaugment import rand_augment  # noqa: E402

BATCH = 128
BOXES = 32
VARIANTS = ("images", "boxes", "masks", "boxes+masks")


def _data(size: int, n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    xy = rng.uniform(0, size * 0.8, (n, BOXES, 2))
    wh = rng.uniform(2, size * 0.4, (n, BOXES, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, size)], axis=-1).astype(np.float32)
    labels = rng.integers(0, 80, (n, BOXES)).astype(np.int32)
    blocks = rng.integers(0, 21, (n, (size + 7) // 8, (size + 7) // 8))
    masks = np.kron(blocks, np.ones((8, 8), np.int64))[:, :size, :size].astype(np.uint8)
    return {"images": images, "boxes": boxes, "labels": labels, "masks": masks}


def _pipeline(data: dict, variant: str):
    elements = {"images": data["images"]}
    if "boxes" in variant:
        elements["bounding_boxes"] = {"boxes": data["boxes"], "labels": data["labels"]}
    if "masks" in variant:
        elements["segmentation_masks"] = data["masks"]
    ds = tf.data.Dataset.from_tensor_slices(elements).repeat().batch(BATCH).enumerate()

    def augment(i, x):
        seed = tf.stack([7, tf.cast(i, tf.int32)])
        inputs = x["images"] if variant == "images" else x
        return rand_augment(inputs, num_ops=3, magnitude=0.8, seed=seed, bounding_box_format="xyxy")

    return ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _rate(it, seconds: float) -> float:
    start, batches = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        next(it)
        batches += 1
    return batches * BATCH / (time.perf_counter() - start)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.targets", description=__doc__)
    p.add_argument("--sizes", default="32,72,224", help="image sides (default 32,72,224)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement")
    p.add_argument("--out-dir", default="benchmarks/results")
    a = p.parse_args(argv)
    started = datetime.now(timezone.utc)
    result = {
        "commit": _commit(),
        "started": started.isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "tensorflow": tf.__version__,
        "batch": BATCH,
        "boxes_per_image": BOXES,
        "sizes": {},
    }
    for size in (int(s) for s in a.sizes.split(",")):
        n = max(BATCH * 2, min(2048, (64 << 20) // (size * size * 3)))
        data = _data(size, n)
        iterators = {v: iter(_pipeline(data, v)) for v in VARIANTS}
        for it in iterators.values():  # warm up: trace, first batches
            for _ in range(3):
                next(it)
        rates = {v: [] for v in VARIANTS}
        for r in range(a.rounds):
            for v in VARIANTS:
                rates[v].append(_rate(iterators[v], a.seconds))
            print(f"{size}x{size} round {r + 1}/{a.rounds}: "
                  + ", ".join(f"{v} {rates[v][-1]:,.0f}" for v in VARIANTS), flush=True)  # fmt: skip
        medians = {v: float(np.median(rates[v])) for v in VARIANTS}
        result["sizes"][str(size)] = {
            "images_per_s": rates,
            "median": medians,
            "time_vs_images": {v: medians["images"] / medians[v] for v in VARIANTS},
        }
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"targets-{started.strftime('%Y-%m-%dT%H%M')}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        f"Commit `{result['commit']}`, {result['started']}, {result['machine']}, "
        f"{result['cpus']} CPUs; median images/s of {a.rounds} interleaved rounds, "
        f"batch {BATCH}, N=3 m=0.8, {BOXES} boxes per image.",
        "",
        "| size | " + " | ".join(VARIANTS) + " |",
        "|---|" + "---:|" * len(VARIANTS),
    ]
    for size, r in result["sizes"].items():
        cells = [f"{r['median'][v]:,.0f} ({r['time_vs_images'][v]:.2f}x time)" for v in VARIANTS]
        lines.append(f"| {size}x{size} | " + " | ".join(cells) + " |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {stem}.json and .md")
    return result


if __name__ == "__main__":
    main()
