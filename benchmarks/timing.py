"""The steady-state timing loop, shared by tf.data and the torch child process
(which must not import TensorFlow)."""

from __future__ import annotations

import time


def windows_after_warmup(it, batch_size, warmup, windows, window_s, slow_batch_s) -> dict:
    """Shared by tf.data and torch: the steady-state part of a visit.

    ``it`` has just given its first batch. Discards ``warmup`` batches, then
    times ``windows`` windows, each ending at the first batch past ``window_s``.
    A variant whose warm-up batches take longer than ``slow_batch_s`` each gets
    one window of two batches ("slow").
    """
    t0 = time.perf_counter()
    for _ in range(warmup):
        next(it)
    t1 = time.perf_counter()
    slow = warmup > 0 and (t1 - t0) / warmup > slow_batch_s
    out = []
    for _ in range(1 if slow else windows):
        k, ts = 0, time.perf_counter()
        while True:
            next(it)
            k += 1
            t = time.perf_counter()
            # A slow variant's window is two batches: with two batches computed in
            # parallel, one can arrive right after the other, so one batch alone
            # could time nothing.
            if (slow and k >= 2) or (not slow and t - ts >= window_s):
                break
        out.append({"batches": k, "seconds": t - ts, "rate": k * batch_size / (t - ts)})
    return {"warmup_s": t1 - t0, "slow": slow, "windows": out}
