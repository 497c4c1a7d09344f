"""Images per second of RandAugment pipelines: this library against its peers.

Run ``python -m benchmarks.throughput`` (about 10-15 min on 2 cores) or
``python -m benchmarks.throughput --quick`` (under 2 min).  See
``benchmarks/README.md`` for what is measured and how.
"""

from __future__ import annotations

import os
import time

_T0 = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

from benchmarks import measure, report, variants  # noqa: E402
from benchmarks.data import make_images  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
GROUPS = ("main", "n_ops", "size", "batch", "model")


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Settings


@dataclasses.dataclass
class Settings:
    sizes: list[int]
    batch_size: int
    visits: int  # fresh iterators per point, interleaved across points
    windows: int  # timed windows per visit
    window_s: float  # length of one timed window
    epoch_s: float  # length of one per-epoch pass (sets its number of images)
    epoch_visits: int  # visits that end with a per-epoch pass (the first one is cold)
    warmup: int  # batches discarded after the first one, in steady state
    model_reps: int  # fit() calls per case of the model group
    time_limit: float  # seconds for the whole run; groups get shares, visits are cut
    slow_batch_s: float  # a batch slower than this: one window, one visit, no epoch
    max_mb: float  # images held in memory per size
    epoch: bool
    groups: list[str]
    variant_keys: list[str]
    n_ops_values: list[int]
    sweep_sizes: list[int]
    sweep_batches: list[int]
    sweep_size: int
    data: str
    seed: int


def settings_from_args(a) -> Settings:
    quick = a.quick
    s = Settings(
        sizes=[32] if quick else [32, 72, 224],
        batch_size=128,
        visits=1 if quick else 3,
        windows=2,
        window_s=0.15 if quick else 0.4,
        epoch_s=0.2 if quick else 0.5,
        epoch_visits=2,
        warmup=1 if quick else 2,
        model_reps=1 if quick else 3,
        time_limit=100.0 if quick else 840.0,
        slow_batch_s=1.0 if quick else 2.5,
        max_mb=16 if quick else 96,
        epoch=True,
        groups=["main", "n_ops", "model"] if quick else list(GROUPS),
        variant_keys=list(variants.MAIN_VARIANTS),
        n_ops_values=[1] if quick else [0, 1, 2, 3, 4, 5],
        sweep_sizes=[48] if quick else [48, 112, 160],
        sweep_batches=[64] if quick else [32, 64, 128, 256, 512],
        sweep_size=32 if quick else 72,
        data="synthetic",
        seed=0,
    )
    for name in (
        "batch_size",
        "visits",
        "windows",
        "window_s",
        "warmup",
        "time_limit",
        "max_mb",
        "data",
        "seed",
    ):
        v = getattr(a, name)
        if v is not None:
            setattr(s, name, v)
    if a.sizes:
        s.sizes = [int(v) for v in a.sizes.split(",")]
    if a.variants:
        s.variant_keys = [v.strip() for v in a.variants.split(",") if v.strip()]
        unknown = set(s.variant_keys) - set(variants.MAIN_VARIANTS)
        if unknown:
            raise SystemExit(
                f"unknown variants {sorted(unknown)}; known: {list(variants.MAIN_VARIANTS)}"
            )
    if a.groups:
        s.groups = [g.strip() for g in a.groups.split(",") if g.strip() and g.strip() != "none"]
        unknown = set(s.groups) - set(GROUPS)
        if unknown:
            raise SystemExit(f"unknown groups {sorted(unknown)}; known: {list(GROUPS)}")
    if a.n_ops:
        s.n_ops_values = [int(v) for v in a.n_ops.split(",")]
    if a.sweep_sizes:
        s.sweep_sizes = [int(v) for v in a.sweep_sizes.split(",")]
    if a.sweep_batches:
        s.sweep_batches = [int(v) for v in a.sweep_batches.split(",")]
    if a.no_epoch:
        s.epoch = False
    return s


# --------------------------------------------------------------------------
# Data, held once per size


class Data:
    def __init__(self, st: Settings):
        self.st = st
        self.np: dict[int, np.ndarray] = {}
        self.tf: dict[int, tf.Tensor] = {}

    def n_max(self, size: int, batch_size: int) -> int:
        """Images held for ``size``: within ``max_mb``, a multiple of 512 (so of
        every batch size of the sweeps) where that fits, of ``batch_size`` else."""
        n = int(self.st.max_mb * 2**20 // (size * size * 3))
        unit = 512 if n >= 512 and 512 % batch_size == 0 else batch_size
        return max(n // unit * unit, batch_size)

    def get(self, size: int, n: int):
        if size not in self.np or self.np[size].shape[0] < n:
            log(f"  generating {n} {self.st.data} images of {size}x{size}")
            self.np[size] = make_images(self.st.data, n, size, self.st.seed)
            self.tf[size] = tf.constant(self.np[size])
        return self.np[size], self.tf[size]


# --------------------------------------------------------------------------
# torchvision in a child process


class TorchClient:
    def __init__(self):
        self.proc = None
        self.sizes: dict[int, int] = {}
        self.versions: dict[str, str] = {}

    def _start(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.torch_runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=str(REPO),
        )

    def call(self, **msg) -> dict:
        if self.proc is None:
            self._start()
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"torch runner exited (code {self.proc.poll()})")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(reply["error"])
        return reply

    def setup(self, st: Settings, size: int, n: int):
        if self.sizes.get(size, 0) >= n:
            return
        reply = self.call(cmd="setup", kind=st.data, n=n, size=size, seed=st.seed)
        self.versions = {k: v for k, v in reply.items() if k in ("torch", "torchvision")}
        self.sizes[size] = n

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()


# --------------------------------------------------------------------------
# Points: one variant at one size and batch size


@dataclasses.dataclass
class Point:
    """One variant at one size and batch size, measured in interleaved visits.

    A visit makes one fresh iterator over the repeated dataset: its first batch
    is timed on its own, ``warmup`` batches are discarded, then ``windows``
    consecutive windows of about ``window_s`` each are timed (a window ends at
    the first batch past ``window_s``); then, if per-epoch passes are on, one
    fresh iterator over ``n_images`` images is timed to its end.
    """

    group: str
    variant: variants.Variant
    size: int
    batch_size: int
    extra: dict = dataclasses.field(default_factory=dict)
    # Built once and reused by every visit, as fit() reuses one dataset across
    # epochs: a fresh iterator per pass, never a fresh trace.
    ds_steady: object = None
    ds_epoch: object = None
    n_images: int = 0  # images per epoch pass, from the first visit's rate
    slow: bool = False
    visits: list = dataclasses.field(default_factory=list)
    epochs: list = dataclasses.field(default_factory=list)
    epoch_cold: dict | None = None
    last_visit_s: float = 0.0
    error: str = ""

    def record(self) -> dict:
        rates = [w["rate"] for v in self.visits for w in v["windows"]]
        firsts = [v["first_batch_s"] for v in self.visits]
        return {
            "group": self.group,
            "variant": self.variant.key,
            "label": self.variant.label,
            "note": self.variant.note,
            "size": self.size,
            "batch_size": self.batch_size,
            **self.extra,
            "n_images": self.n_images,
            "visits": len(self.visits),
            "windows": len(rates),
            "slow": self.slow,
            "first_batch_cold_s": firsts[0] if firsts else None,
            "first_batch_warm_s": summarize(firsts[1:]),
            "steady": summarize(rates),
            "epoch": summarize([r["rate"] for r in self.epochs]),
            "epoch_seconds": summarize([r["seconds"] for r in self.epochs]),
            "epoch_cold": self.epoch_cold,
            "raw": {"visits": self.visits, "epochs": self.epochs},
            **({"error": self.error} if self.error else {}),
        }


def summarize(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def prepare(p: Point, st: Settings, data: Data, torch: TorchClient) -> None:
    n_max = data.n_max(p.size, p.batch_size)
    _, x_tf = data.get(p.size, n_max)
    if p.variant.kind == "torch":
        torch.setup(st, p.size, n_max)
    else:
        # The steady-state pipeline repeats all the images held for this size.
        p.ds_steady = measure.tf_dataset(x_tf, n_max, p.batch_size, p.variant.build, repeat=True)


def visit(p: Point, st: Settings, data: Data, torch: TorchClient) -> None:
    b = p.batch_size
    first = not p.visits
    kw = {
        "warmup": st.warmup,
        "windows": st.windows,
        "window_s": st.window_s,
        "slow_batch_s": st.slow_batch_s,
    }
    if p.variant.kind == "torch":
        v = torch.call(
            cmd="visit", size=p.size, batch_size=b, transform=p.variant.torch_transform, **kw
        )
    else:
        v = measure.tf_visit(p.ds_steady, b, **kw)
    p.visits.append(v)
    if first:
        rate = statistics.median(w["rate"] for w in v["windows"])
        p.slow = v["slow"]
        n_max = data.n_max(p.size, b)
        n_batches = min(max(2, math.ceil(rate * st.epoch_s / b)), n_max // b)
        p.n_images = n_batches * b
        if st.epoch and not p.slow and p.group == "main" and p.variant.kind == "tf":
            _, x_tf = data.get(p.size, n_max)
            p.ds_epoch = measure.tf_dataset(x_tf, p.n_images, b, p.variant.build, repeat=False)
        log(
            f"  {p.variant.key:<16} {p.size:>3}px b{b:<4} first batch {v['first_batch_s']:.2f} s,"
            f" ~{rate:.0f} img/s"
            + (" (slow: one window, no more visits, no per-epoch pass)" if p.slow else "")
        )
    if st.epoch and not p.slow and p.group == "main" and len(p.visits) <= st.epoch_visits:
        # Visit 1 makes the first pass over the epoch dataset, its first iterator ever
        # (first-use costs): kept apart as the cold epoch. Later visits, up to
        # `epoch_visits`, each time one more epoch.
        if p.variant.kind == "torch":
            e = torch.call(
                cmd="epoch",
                size=p.size,
                batch_size=b,
                n_images=p.n_images,
                transform=p.variant.torch_transform,
            )
        else:
            e = measure.tf_epoch(p.ds_epoch, p.n_images)
        if first:
            p.epoch_cold = e
        else:
            p.epochs.append(e)


def run_points(
    points: list[Point],
    st: Settings,
    data: Data,
    torch: TorchClient,
    skipped: list,
    deadline: float = float("inf"),
) -> list[Point]:
    """Visits every point ``st.visits`` times, interleaved across the points.

    Visit 1 of every point, then visit 2 of every point (starting from another
    point), ...; later visits are dropped when the next round would end after
    ``deadline`` (``time.perf_counter()`` time).
    """
    live = []
    for p in points:
        try:
            prepare(p, st, data, torch)
            live.append(p)
        except Exception as e:
            _skip(skipped, p, e)
    for k in range(st.visits):
        todo = [p for p in live if not p.slow and not p.error]
        if k > 0 and time.perf_counter() + sum(p.last_visit_s for p in todo) > deadline:
            log(f"  time limit of this group reached after {k} visit(s)")
            break
        start = k % len(todo) if todo else 0
        for p in todo[start:] + todo[:start]:
            t0 = time.perf_counter()
            try:
                visit(p, st, data, torch)
            except Exception as e:
                if not p.visits:
                    _skip(skipped, p, e)
                p.error = variants._err(e)
                log(f"  {p.variant.key} visit {k + 1} failed: {p.error}")
            p.last_visit_s = time.perf_counter() - t0
        log(f"  visit {k + 1}/{st.visits} of every point done")
    return [p for p in live if p.visits]


def _skip(skipped: list, p: Point, e: BaseException) -> None:
    reason = f"failed at {p.size}px: {variants._err(e)}"
    log(f"SKIP {p.variant.label}: {reason}")
    skipped.append(
        {"variant": p.variant.key, "label": p.variant.label, "group": p.group, "reason": reason}
    )


# --------------------------------------------------------------------------
# The layer inside a model


def model_group(st: Settings, data: Data, skipped: list, deadline: float) -> list[dict]:
    import keras

    try:
        from randaugment import RandAugment
    except Exception as e:
        skipped.append(
            {
                "variant": "layer_in_model",
                "label": "RandAugment layer in a model",
                "group": "model",
                "reason": f"randaugment not importable ({variants._err(e)})",
            }
        )
        log(f"SKIP RandAugment layer in a model: {skipped[-1]['reason']}")
        return []
    size, b = st.sweep_size, st.batch_size

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.t = []

        def on_train_begin(self, logs=None):
            self.t = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.t.append(time.perf_counter())

    def build(with_layer: bool, jit: bool):
        inputs = keras.Input((size, size, 3), dtype="uint8")
        h = inputs
        if with_layer:
            h = RandAugment(
                value_range=(0, 255),
                augmentations_per_image=3,
                magnitude=0.8,
                seed=variants.BASE_SEED,
            )(h)
        h = keras.layers.Rescaling(1.0 / 255)(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
        outputs = keras.layers.Dense(10)(h)
        m = keras.Model(inputs, outputs)
        m.compile(
            optimizer="sgd",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        return m

    n_max = data.n_max(size, b)
    _, x_tf = data.get(size, n_max)
    y = tf.constant(np.random.default_rng(0).integers(0, 10, n_max).astype(np.int32))
    # One dataset for every fit() call: each call makes a fresh iterator.
    ds_fit = tf.data.Dataset.from_tensor_slices((x_tf, y)).take(n_max).repeat().batch(b)
    ds_fit = ds_fit.prefetch(tf.data.AUTOTUNE)

    def fit(m, n_batches, warm):
        timer = Timer()
        m.fit(
            ds_fit,
            steps_per_epoch=1 + warm + n_batches,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[timer],
        )
        t = timer.t
        return {
            "first_batch_s": t[1] - t[0],
            "seconds": t[-1] - t[1 + warm],
            "rate": n_batches * b / (t[-1] - t[1 + warm]),
        }

    cases = []
    for with_layer in (False, True):
        for jit in (False, True):
            key = f"model_{'layer' if with_layer else 'nolayer'}{'_xla' if jit else ''}"
            label = (
                ("RandAugment layer" if with_layer else "no augmentation")
                + " in model, "
                + ("jit_compile=True" if jit else "jit_compile=False")
            )
            try:
                m = build(with_layer, jit)
                t0 = time.perf_counter()
                c = fit(m, 3, 1)
                c["first_batch_s"] = c["first_batch_s"]
                c["build_and_first_fit_s"] = time.perf_counter() - t0
                n = min(max(3, math.ceil(c["rate"] * st.window_s * 2 / b)), 200)
                log(
                    f"  {key:<20} {size}px b{b} first batch {c['first_batch_s']:.2f} s, ~{c['rate']:.0f} img/s -> {n} batches"
                )
                cases.append({"key": key, "label": label, "model": m, "n": n, "cal": c, "runs": []})
            except Exception as e:
                reason = variants._err(e)
                skipped.append({"variant": key, "label": label, "group": "model", "reason": reason})
                log(f"SKIP {label}: {reason}")
    last = {}
    for rep in range(st.model_reps):
        estimate = sum(last.values())
        if rep > 0 and time.perf_counter() + estimate > deadline:
            log(f"  time limit of this group reached: {rep} reps")
            break
        for c in cases[rep % max(len(cases), 1) :] + cases[: rep % max(len(cases), 1)]:
            t0 = time.perf_counter()
            try:
                c["runs"].append(fit(c["model"], c["n"], st.warmup))
                last[c["key"]] = time.perf_counter() - t0
            except Exception as e:
                log(f"  {c['key']} rep {rep} failed: {variants._err(e)}")
    out = []
    for c in cases:
        out.append(
            {
                "group": "model",
                "variant": c["key"],
                "label": c["label"],
                "note": "keras.Model(uint8 input -> [RandAugment(value_range=(0, 255), augmentations_per_image=3, magnitude=0.8)] -> Rescaling -> GlobalAveragePooling2D -> Dense(10)), fit() with SGD; images/s of training steps",
                "size": size,
                "batch_size": b,
                "n_images": c["n"] * b,
                "reps": len(c["runs"]),
                "first_batch_cold_s": c["cal"]["first_batch_s"],
                "steady": summarize([r["rate"] for r in c["runs"]]),
                "first_batch_warm_s": summarize([r["first_batch_s"] for r in c["runs"]]),
                "epoch": None,
                "raw": {"steady": c["runs"], "calibration": c["cal"]},
            }
        )
    return out


# --------------------------------------------------------------------------
# Main


def build_variants(keys, skipped):
    built = {}
    for key in keys:
        v = variants.MAIN_VARIANTS[key]()
        if isinstance(v, variants.Skip):
            log(f"SKIP {v.label}: {v.reason}")
            skipped.append(
                {"variant": v.key, "label": v.label, "group": "main", "reason": v.reason}
            )
        else:
            built[key] = v
    return built


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a reduced run, under 2 minutes")
    ap.add_argument(
        "--sizes", help="comma-separated image sizes of the main table (default 32,72,224)"
    )
    ap.add_argument(
        "--variants", help=f"comma-separated subset of {','.join(variants.MAIN_VARIANTS)}"
    )
    ap.add_argument("--groups", help=f"comma-separated subset of {','.join(GROUPS)}, or none")
    ap.add_argument("--n-ops", help="N values of the n_ops sweep (default 0..5)")
    ap.add_argument("--sweep-sizes", help="extra sizes of the size sweep (default 48,112,160)")
    ap.add_argument(
        "--sweep-batches", help="batch sizes of the batch sweep (default 32,64,128,256,512)"
    )
    ap.add_argument("--batch-size", type=int, help="batch size of the main table (default 128)")
    ap.add_argument(
        "--visits", type=int, help="fresh iterators per point, interleaved (default 3, quick 1)"
    )
    ap.add_argument("--windows", type=int, help="timed windows per visit (default 2)")
    ap.add_argument(
        "--window-s", type=float, help="seconds per timed window (default 0.4, quick 0.15)"
    )
    ap.add_argument("--warmup", type=int, help="batches discarded after the first one (default 2)")
    ap.add_argument(
        "--time-limit",
        type=float,
        help="seconds for the whole run (default 840, quick 100): visits are cut to fit",
    )
    ap.add_argument("--max-mb", type=float, help="MB of images held per size (default 96)")
    ap.add_argument(
        "--data",
        choices=["synthetic", "photos"],
        help="image-like synthetic data (default) or crops of scikit-image's photos",
    )
    ap.add_argument("--seed", type=int, help="data seed")
    ap.add_argument(
        "--no-epoch", action="store_true", help="skip the per-epoch (fresh iterator) passes"
    )
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--out-dir", default=str(RESULTS_DIR), help="where the JSON and PNG go")
    ap.add_argument(
        "--name", help="file stem of the outputs (default throughput-<UTC time>, quick-<UTC time>)"
    )
    a = ap.parse_args(argv)
    st = settings_from_args(a)

    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    log(
        f"randaugment throughput benchmark, {'quick' if a.quick else 'default'} run, started {started}"
    )
    skipped: list[dict] = []
    data = Data(st)
    torch = TorchClient()
    records: list[dict] = []
    load_start = os.getloadavg()
    # The commit is read now, not at the end: edits made while a run goes on must not
    # be attributed to the code that was measured.
    git_at_start = report.metadata(REPO, {})["git"]
    try:
        built = build_variants(st.variant_keys, skipped)
        if "main" in st.groups and built:
            log(f"== main table: sizes {st.sizes}, batch {st.batch_size}")
            pts = [
                Point("main", v, size, st.batch_size) for size in st.sizes for v in built.values()
            ]
            deadline = _T0 + st.time_limit * (0.6 if len(st.groups) > 1 else 1.0)
            records += [p.record() for p in run_points(pts, st, data, torch, skipped, deadline)]

        ours_graph = variants.ours(3, 0.8, False)
        ours_xla = variants.ours(3, 0.8, True)
        have_ours = not isinstance(ours_graph, variants.Skip)
        sweeps = [g for g in st.groups if g in ("n_ops", "size", "batch", "model")]
        if sweeps and not have_ours:
            log(f"SKIP sweeps {sweeps}: {ours_graph.reason}")
            skipped.append(
                {
                    "variant": "ours",
                    "label": "randaugment sweeps",
                    "group": ",".join(sweeps),
                    "reason": ours_graph.reason,
                }
            )
            sweeps = []
        for i, g in enumerate(sweeps):
            # The time left is shared equally by the groups left.
            deadline = time.perf_counter() + (_T0 + st.time_limit - time.perf_counter()) / (
                len(sweeps) - i
            )
            if g == "n_ops":
                log(f"== throughput against N at {st.sweep_size}px: N in {st.n_ops_values}")
                pts = []
                for n in st.n_ops_values:
                    for jit in (False, True):
                        v = variants.ours(n, 0.8, jit)
                        if isinstance(v, variants.Skip):
                            skipped.append(
                                {"variant": v.key, "label": v.label, "group": g, "reason": v.reason}
                            )
                            continue
                        pts.append(
                            Point(g, v, st.sweep_size, st.batch_size, {"num_ops": n, "jit": jit})
                        )
            elif g == "size":
                log(
                    f"== throughput against image size: {st.sweep_sizes} (the main table has the others)"
                )
                pts = [
                    Point(g, v, size, st.batch_size, {"jit": v is ours_xla})
                    for size in st.sweep_sizes
                    for v in (ours_graph, ours_xla)
                    if not isinstance(v, variants.Skip)
                ]
                if "floor" in built:
                    pts += [
                        Point(g, built["floor"], size, st.batch_size) for size in st.sweep_sizes
                    ]
            elif g == "batch":
                log(f"== throughput against batch size at {st.sweep_size}px: {st.sweep_batches}")
                # Graph mode only: under XLA every batch size is one more compile.
                pts = [
                    Point(g, ours_graph, st.sweep_size, bs, {"jit": False})
                    for bs in st.sweep_batches
                ]
            else:
                log(f"== the RandAugment layer inside a model at {st.sweep_size}px")
                records += model_group(st, data, skipped, deadline)
                continue
            records += [p.record() for p in run_points(pts, st, data, torch, skipped, deadline)]
    finally:
        torch.close()

    meta = report.metadata(REPO, torch.versions)
    meta["git"] = git_at_start
    meta.update(
        {
            "started_utc": started,
            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": time.perf_counter() - t_start,
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "argv": sys.argv[1:] if argv is None else list(argv),
            "quick": a.quick,
            "settings": dataclasses.asdict(st),
        }
    )
    result = {"meta": meta, "skipped": skipped, "records": records}
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = (
        a.name
        or f"{'quick' if a.quick else 'throughput'}-{started.replace(':', '').replace('-', '')}"
    )
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    png_path = None
    if not a.no_plot:
        try:
            png_path = report.plot(result, out_dir / f"{stem}.png")
        except Exception as e:
            log(f"no plot: {variants._err(e)}")
    print(report.markdown(result))
    print(f"\nRaw results: {json_path}" + (f"\nPlot: {png_path}" if png_path else ""))
    log(f"done in {meta['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
