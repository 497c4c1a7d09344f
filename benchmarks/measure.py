"""Timing primitives for tf.data: one steady-state pass, one epoch.

Steady state: a fresh iterator over the repeated dataset; the time to its
first batch is recorded on its own, then ``warmup`` batches are drawn and
discarded, then ``n_batches`` (one pass over the data) are timed.  Per epoch:
a fresh iterator over the finite dataset, timed from its creation to its end,
as ``fit`` does once per epoch.  torchvision runs in a separate process
(``benchmarks.torch_runner``) with the same protocol.
"""

from __future__ import annotations

import time

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def tf_dataset(x: tf.Tensor, n_images: int, batch_size: int, build, repeat: bool):
    ds = tf.data.Dataset.from_tensor_slices(x)
    if n_images < int(x.shape[0]):
        ds = ds.take(n_images)
    if repeat:
        ds = ds.repeat()
    return build(ds, batch_size).prefetch(AUTOTUNE)


def tf_steady(ds, n_batches: int, batch_size: int, warmup: int) -> dict:
    t0 = time.perf_counter()
    it = iter(ds)
    next(it)
    t1 = time.perf_counter()
    for _ in range(warmup):
        next(it)
    t2 = time.perf_counter()
    for _ in range(n_batches):
        next(it)
    t3 = time.perf_counter()
    del it
    return {
        "first_batch_s": t1 - t0,
        "seconds": t3 - t2,
        "rate": n_batches * batch_size / (t3 - t2),
    }


def tf_calibrate(ds, batch_size: int, min_seconds: float, max_batches: int = 10_000) -> dict:
    """First batch of a never-used pipeline (tracing, compiling), then a rate estimate."""
    t0 = time.perf_counter()
    it = iter(ds)
    next(it)
    t1 = time.perf_counter()
    k = 0
    while True:
        next(it)
        k += 1
        t = time.perf_counter()
        if t - t1 >= min_seconds or k >= max_batches:
            break
    del it
    return {"first_batch_s": t1 - t0, "rate": k * batch_size / (t - t1)}


def tf_epoch(ds, n_images: int) -> dict:
    t0 = time.perf_counter()
    for _ in ds:
        pass
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "rate": n_images / (t1 - t0)}
