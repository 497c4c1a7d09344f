"""Timing primitives for tf.data: one steady-state pass, one epoch.

Steady state (a "visit"): a fresh iterator over the repeated dataset; the time
to its first batch is recorded on its own, ``warmup`` batches are drawn and
discarded, then a few windows of consecutive batches are timed.  Per epoch:
a fresh iterator over the finite dataset, timed from its creation to its end,
as ``fit`` does once per epoch.  torchvision runs in a separate process
(``benchmarks.torch_runner``) with the same protocol.
"""

from __future__ import annotations

import time

import tensorflow as tf

from benchmarks.timing import windows_after_warmup

AUTOTUNE = tf.data.AUTOTUNE


def tf_dataset(x: tf.Tensor, n_images: int, batch_size: int, build, repeat: bool):
    ds = tf.data.Dataset.from_tensor_slices(x)
    if n_images < int(x.shape[0]):
        ds = ds.take(n_images)
    if repeat:
        ds = ds.repeat()
    return build(ds, batch_size).prefetch(AUTOTUNE)


def tf_visit(ds, batch_size, *, warmup, windows, window_s, slow_batch_s) -> dict:
    """A fresh iterator: its first batch, then steady-state windows."""
    t0 = time.perf_counter()
    it = iter(ds)
    next(it)
    first = time.perf_counter() - t0
    out = windows_after_warmup(it, batch_size, warmup, windows, window_s, slow_batch_s)
    del it
    return {"first_batch_s": first, **out}


def tf_epoch(ds, n_images: int) -> dict:
    t0 = time.perf_counter()
    for _ in ds:
        pass
    t1 = time.perf_counter()
    return {"seconds": t1 - t0, "rate": n_images / (t1 - t0)}
