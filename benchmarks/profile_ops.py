"""Where ``rand_augment`` spends its time: per op, per family and per TF kernel.

``python -m benchmarks.profile_ops [--size 72] [--batch 128]`` times direct
calls on one in-memory batch (no ``tf.data``, so less noise than the
pipelines):

1. the full call (N=3, magnitude 0.8) with each ``method`` in graph mode and
   under ``jit_compile=True``;
2. every op alone (``num_ops=1, ops=[name]``), graph and XLA, minus the cost
   of ``identity`` alone (the fixed cost of a call: the plan, casts, the
   partition and stitch);
3. a per-kernel breakdown of one graph-mode N=3 call from TF's step stats
   (``RunOptions.FULL_TRACE`` in a v1 session): which TF ops take the time;
4. ``pipeline``: the cost per op inside the benchmark's ``tf.data`` pipeline
   (N=3 slots that all draw the same op, so one family serves the whole batch),
   in process CPU microseconds per image per op, and the default mix of 14 ops
   against the average of its ops' costs: the difference is what running
   several families per slot costs (their fixed per-node costs are paid for a
   fraction of the batch each);
5. ``nodes``: what one graph node costs in that pipeline: the default mix is run
   with and without a chain of extra tiny nodes in every slot (scalar multiply
   and add, which no optimizer removes), and the difference is divided by the
   number of nodes added per batch.

The numbers are for finding what to optimise, not for publishing: they are
medians of a few calls on a shared machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import collections  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

from benchmarks.data import make_images  # noqa: E402


def _rounds(fns: dict, x, seed, reps: int, inner: int = 3) -> dict:
    """Seconds per call of every function, in rounds over all of them (so that
    machine drift, and the first-measured penalty, hit them alike)."""
    times = collections.defaultdict(list)
    for _ in range(reps):
        for key, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                r = f(x, seed)
            r.numpy()
            times[key].append((time.perf_counter() - t0) / inner)
    return times


def _fn(jit, **kwargs):
    from randaugment import rand_augment

    def f(x, seed):
        return rand_augment(x, seed=seed, **kwargs)

    return tf.function(f, jit_compile=jit)


def _pipeline_cost(x, seconds: float, **kwargs) -> float:
    """Process CPU microseconds per image of the benchmark's pipeline, steady state."""
    from randaugment import rand_augment

    def augment(i, batch):
        seed = tf.stack([tf.constant(7, tf.int32), tf.cast(i, tf.int32)])
        return rand_augment(batch, seed=seed, **kwargs)

    ds = (
        tf.data.Dataset.from_tensor_slices(x)
        .batch(128)
        .enumerate()
        .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .repeat()
    )
    it = iter(ds)
    for _ in range(10):
        next(it)
    t0, c0, n = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - t0 < seconds:
        n += int(next(it).shape[0])
    return (time.process_time() - c0) / n * 1e6


def pipeline_costs(size: int, seconds: float, rounds: int) -> None:
    """Part 4: per-op CPU cost in the tf.data pipeline, and the mix against its ops."""
    from randaugment import DEFAULT_OPS

    x = make_images("synthetic", max(1024, 2_000_000 // (size * size)), size)
    cases = {"cast only (N=0)": dict(num_ops=0)}
    cases["default mix, N=3"] = dict(num_ops=3, magnitude=0.8)
    for name in DEFAULT_OPS:
        cases[name] = dict(num_ops=3, magnitude=0.8, ops=[name])
    costs = collections.defaultdict(list)
    for _ in range(rounds):  # interleaved, so that drift hits every case alike
        for key, kwargs in cases.items():
            costs[key].append(_pipeline_cost(x, seconds, **kwargs))
    cost = {key: statistics.median(v) for key, v in costs.items()}
    floor = cost["cast only (N=0)"]
    print(
        f"\nIn the tf.data pipeline (batch 128, {size}x{size}): process CPU microseconds "
        f"per image, median of {rounds} interleaved rounds of {seconds:g} s; per op = "
        "(cost - cost at N=0) / 3\n"
    )
    print("| case | us per image | us per op |\n|---|---|---|")
    for key in cases:
        per_op = "-" if key.startswith("cast") else f"{(cost[key] - floor) / 3:.1f}"
        print(f"| {key} | {cost[key]:.1f} | {per_op} |")
    mean_op = statistics.mean((cost[name] - floor) / 3 for name in DEFAULT_OPS)
    mix = (cost["default mix, N=3"] - floor) / 3
    print(
        f"\nDefault mix: {mix:.1f} us per op, against {mean_op:.1f} for the average of its "
        f"14 ops run alone: {mix - mean_op:+.1f} us per op from running several "
        "families per slot."
    )


def node_cost(size: int, seconds: float, rounds: int, extra: int = 200) -> None:
    """Part 5: the cost of one executed graph node in the pipeline."""
    import randaugment._apply as apply_module

    x = make_images("synthetic", max(1024, 2_000_000 // (size * size)), size)
    original = apply_module.SlotRunner.run_partitioned

    def padded(self, batch, op, extras, order=None, last=True):
        result = original(self, batch, op, extras, order, last)
        v = tf.cast(op[:1], tf.float32)
        for _ in range(extra):  # 2 nodes each; their result is kept (an exact zero)
            v = v * 1.0001 + 0.5
        zero = tf.reshape(tf.minimum(tf.maximum(v, 0.0), 0.0), [1, 1, 1, 1])

        def keep(images):  # adds the exact zero, so the chain is not pruned
            return images + tf.cast(zero, images.dtype)

        if last:
            return keep(result)
        (parts, sizes), order = result
        return ([keep(parts[0])] + parts[1:], sizes), order

    costs = collections.defaultdict(list)
    try:
        for _ in range(rounds):
            for key in ("plain", "padded"):
                apply_module.SlotRunner.run_partitioned = original if key == "plain" else padded
                costs[key].append(_pipeline_cost(x, seconds, num_ops=3, magnitude=0.8))
    finally:
        apply_module.SlotRunner.run_partitioned = original
    plain, more = statistics.median(costs["plain"]), statistics.median(costs["padded"])
    nodes_per_image = 2 * extra * 3 / 128  # per slot, 3 slots, per batch of 128
    print(
        f"\nOne graph node in the pipeline ({size}x{size}, N=3): {plain:.1f} us per image, "
        f"{more:.1f} with {2 * extra} extra nodes per slot: about "
        f"{(more - plain) / nodes_per_image:.2f} us per node executed."
    )


def kernel_breakdown(x, seed, top, **kwargs):
    """Per-TF-op-type time of one graph-mode call, from step stats."""
    from randaugment import rand_augment

    g = tf.Graph()
    with g.as_default():
        xp = tf.compat.v1.placeholder(tf.uint8, x.shape)
        sp = tf.compat.v1.placeholder(tf.int32, [2])
        y = rand_augment(xp, seed=sp, **kwargs)
        with tf.compat.v1.Session(graph=g) as sess:
            feed = {xp: x, sp: seed}
            for _ in range(3):
                sess.run(y, feed)
            by_type: dict[str, float] = collections.defaultdict(float)
            count: dict[str, int] = collections.defaultdict(int)
            total_wall = 0.0
            runs = 5
            for i in range(runs):
                opts = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
                md = tf.compat.v1.RunMetadata()
                t0 = time.perf_counter()
                sess.run(
                    y, {xp: x, sp: np.array([seed[0], i], np.int32)}, options=opts, run_metadata=md
                )
                total_wall += time.perf_counter() - t0
                names = {n.name: n.op for n in g.as_graph_def().node}
                for dev in md.step_stats.dev_stats:
                    for ns in dev.node_stats:
                        op = names.get(ns.node_name, ns.node_name.split(":")[0])
                        by_type[op] += (ns.op_end_rel_micros - ns.op_start_rel_micros) / 1e3
                        count[op] += 1
    total = sum(by_type.values())
    print(
        f"\nPer TF kernel type, one graph-mode call ({kwargs}), mean of {runs} traced runs: "
        f"wall {total_wall / runs * 1e3:.1f} ms, kernel time summed {total / runs:.1f} ms "
        "(kernels run in parallel on the cores, so the sum can exceed the wall time)"
    )
    print("| kernel | ms per call | share | nodes run per call |\n|---|---|---|---|")
    for op, ms in sorted(by_type.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| {op} | {ms / runs:.2f} | {ms / total:.0%} | {count[op] / runs:.0f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_ops", description=__doc__)
    ap.add_argument("--size", type=int, default=72)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--no-xla", action="store_true")
    ap.add_argument(
        "--skip", default="", help="comma list of parts to skip: full,ops,kernels,pipeline,nodes"
    )
    ap.add_argument("--seconds", type=float, default=3.0, help="pipeline: seconds per case")
    ap.add_argument("--rounds", type=int, default=3, help="pipeline: interleaved rounds")
    a = ap.parse_args(argv)
    skip = set(a.skip.split(","))

    from randaugment import OPS

    x = tf.constant(make_images("synthetic", a.batch, a.size))
    seed = tf.constant([1234, 0], tf.int32)
    modes = [False] if a.no_xla else [False, True]
    print(
        f"# rand_augment profile: batch {a.batch} of {a.size}x{a.size}, ms per call "
        f"(median, min over {a.reps} interleaved rounds)\n"
    )

    if "full" not in skip:
        fns, failed = {}, {}
        for method in ("auto", "partition", "fused"):
            for jit in modes:
                if jit and method == "partition":
                    continue
                f = _fn(jit, num_ops=3, magnitude=0.8, method=method)
                try:
                    f(x, seed).numpy()  # trace / compile
                    fns[method, jit] = f
                except Exception as e:
                    failed[method, jit] = (
                        f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:80]}"
                    )
        times = _rounds(fns, x, seed, a.reps)
        print("| call | graph | XLA |\n|---|---|---|")
        for method in ("auto", "partition", "fused"):
            row = []
            for jit in modes:
                key = (method, jit)
                if key in times:
                    lo, med = min(times[key]), statistics.median(times[key])
                    row.append(f"{med * 1e3:.1f} ({lo * 1e3:.1f})")
                elif key in failed:
                    row.append(f"failed: {failed[key]}")
                else:
                    row.append("n/a (dynamic shapes)")
            print(f"| N=3 m=0.8 method={method} | " + " | ".join(row) + " |")
        sys.stdout.flush()

    if "ops" not in skip:
        names = ["identity"] + [s.name for s in OPS if s.name != "identity"]
        family = {s.name: s.family for s in OPS}
        fns, failed = {}, {}
        for name in names:
            for jit in modes:
                f = _fn(jit, num_ops=1, magnitude=0.8, ops=[name])
                try:
                    f(x, seed).numpy()  # trace / compile
                    fns[name, jit] = f
                except Exception as e:
                    failed[name, jit] = type(e).__name__
        times = _rounds(fns, x, seed, a.reps)
        print(
            f"\nOne op alone (num_ops=1, ops=[name], magnitude 0.8), ms per batch of {a.batch}: "
            f"minimum over {a.reps} interleaved rounds, minus the identity call's (the fixed "
            "cost of a call); in brackets the median, minus the identity's median\n"
        )
        header = "| op | family | graph | XLA |" if len(modes) == 2 else "| op | family | graph |"
        print(header + "\n" + "|---" * (header.count("|") - 1) + "|")
        for name in names:
            row = [name, family[name]]
            for jit in modes:
                if (name, jit) in failed:
                    row.append(f"failed: {failed[name, jit]}")
                    continue
                lo, med = min(times[name, jit]), statistics.median(times[name, jit])
                if name == "identity":
                    row.append(f"{lo * 1e3:.2f} [{med * 1e3:.2f}] (fixed cost)")
                else:
                    b_lo = min(times["identity", jit]) if ("identity", jit) in times else 0.0
                    b_med = (
                        statistics.median(times["identity", jit])
                        if ("identity", jit) in times
                        else 0.0
                    )
                    row.append(f"{(lo - b_lo) * 1e3:.2f} [{(med - b_med) * 1e3:.2f}]")
            print("| " + " | ".join(row) + " |")
        sys.stdout.flush()

    if "pipeline" not in skip:
        pipeline_costs(a.size, a.seconds, a.rounds)
        sys.stdout.flush()

    if "nodes" not in skip:
        node_cost(a.size, a.seconds, a.rounds)
        sys.stdout.flush()

    if "kernels" not in skip:
        kernel_breakdown(
            x.numpy(),
            np.array([1234, 0], np.int32),
            a.top,
            num_ops=3,
            magnitude=0.8,
            method="partition",
        )


if __name__ == "__main__":
    main()
