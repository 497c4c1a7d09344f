"""Images per second through the tf.data service on this machine, against one process.

Run ``python -m benchmarks.service`` (about 5 min on 2 cores) or
``python -m benchmarks.service --quick`` (about 2 min; its JSON, ``quick-service-*``, is
not published). The numbers and what they mean are in ``docs/scaling.md``.

Four configurations of one pipeline, measured side by side in interleaved visits:

- ``local_1core``: one process, one thread: the cost of an image on one core;
- ``local``: one process, ``num_parallel_calls=AUTOTUNE``: what a trainer's own host does;
- ``service_1w``: a dispatcher (in this process) and one worker process;
- ``service_1w_raw``: the same, with the service's compression off (``compression=None``);
- ``service_2w``: a dispatcher and two worker processes.

The pipeline: the source is the batch index, each batch is gathered from uint8 images
held in the graph and augmented with ``rand_augment(num_ops=2, magnitude=0.9)`` seeded
by its index (the recipe of ``docs/scaling.md``). The service configurations consume in
this process what the workers make, as a trainer would. Every process shares this
machine's cores, so on 2 cores the service cannot add compute: it measures overhead.

TensorFlow's servers listen on every interface; the benchmark re-runs itself in new
network, PID and mount namespaces (``unshare``), where only the loopback exists and
``/proc`` shows the namespace's processes (their CPU time is read there), unless
``--unisolated`` is given.
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
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CONFIGS = ("local_1core", "local", "service_1w", "service_1w_raw", "service_2w")
ISOLATE = ["unshare", "-rn", "--pid", "--fork", "--mount-proc", "--kill-child"]
# Trainer speeds (images/s) for the estimate of worker cores.
TRAINER_RATES = (250, 500, 1000, 2000, 4000, 8000)
SEED = 7

WORKER = r"""
import sys
sys.modules["randaugment"] = None  # the workers run TensorFlow only
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
config = tf.data.experimental.service.WorkerConfig(
    dispatcher_address=sys.argv[1], worker_address="127.0.0.1:%port%")
worker = tf.data.experimental.service.WorkerServer(config)
print(worker._address.rsplit(":", 1)[1], flush=True)
worker.join()
"""


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Settings:
    size: int
    batch_size: int
    images: int  # distinct images held in the graph
    visits: int
    windows: int
    window_s: float
    warmup: int
    configs: list[str]


def settings_from_args(a) -> Settings:
    s = Settings(
        size=64 if a.quick else 224,
        batch_size=32,
        images=128,
        visits=1 if a.quick else 3,
        windows=2,
        window_s=1.0 if a.quick else 3.0,
        warmup=2 if a.quick else 3,
        configs=list(CONFIGS),
    )
    for name in ("size", "batch_size", "images", "visits", "windows", "window_s", "warmup"):
        v = getattr(a, name)
        if v is not None:
            setattr(s, name, v)
    if a.configs:
        s.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
        unknown = set(s.configs) - set(CONFIGS)
        if unknown:
            raise SystemExit(f"--configs: unknown {sorted(unknown)}; known: {list(CONFIGS)}")
    return s


def pipeline(st: Settings, single_thread: bool = False):
    import tensorflow as tf

    from benchmarks.data import make_images
    from randaugment import rand_augment

    images = tf.constant(make_images("synthetic", st.images, st.size, seed=0))
    n, b = st.images, st.batch_size

    def load(index):
        ids = (index * b + tf.range(b, dtype=tf.int64)) % n
        seed = tf.stack([SEED, tf.cast(index % (2**31 - 1), tf.int32)])
        return rand_augment(tf.gather(images, ids), num_ops=2, magnitude=0.9, seed=seed)

    parallel = 1 if single_thread else tf.data.AUTOTUNE
    ds = tf.data.Dataset.range(2**62).map(load, num_parallel_calls=parallel)
    if single_thread:
        options = tf.data.Options()
        options.threading.private_threadpool_size = 1
        options.threading.max_intra_op_parallelism = 1
        ds = ds.with_options(options)
    return ds


class Cluster:
    def __init__(self, workers: int, tmp: Path):
        import tensorflow as tf

        self.dispatcher = tf.data.experimental.service.DispatchServer(
            tf.data.experimental.service.DispatcherConfig(port=0)
        )
        port = int(self.dispatcher.target.rsplit(":", 1)[1])
        self.target = f"grpc://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, f"127.0.0.1:{port}"],
                cwd=tmp,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for _ in range(workers)
        ]
        self.n = workers

    def wait(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.dispatcher._num_workers() < self.n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"{self.n} workers did not register within {timeout} s")
            time.sleep(0.2)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
        self.dispatcher.stop()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process `pid` (Linux /proc)."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def visit(ds, st: Settings, workers: list[int]) -> dict:
    """A fresh iterator (for the service: a new job): its first batch, warm-up, then
    timed windows, with the CPU time this process and each worker spent in them."""
    from benchmarks.timing import windows_after_warmup

    t0 = time.perf_counter()
    it = iter(ds)
    next(it)
    first = time.perf_counter() - t0
    for _ in range(st.warmup):
        next(it)
    cpu0 = [cpu_seconds(), *(cpu_seconds(p) for p in workers)]
    out = windows_after_warmup(it, st.batch_size, 0, st.windows, st.window_s, 60.0)
    cpu1 = [cpu_seconds(), *(cpu_seconds(p) for p in workers)]
    del it
    images = sum(w["batches"] for w in out["windows"]) * st.batch_size
    return {
        "first_batch_s": first,
        **out,
        "images": images,
        "client_cpu_s": cpu1[0] - cpu0[0],
        "worker_cpu_s": sum(b - a for a, b in zip(cpu0[1:], cpu1[1:], strict=True)),
    }


def summarize(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def measure(st: Settings) -> list[dict]:
    import tensorflow as tf

    tmp = Path(tempfile.mkdtemp(prefix="ra-service-bench-"))
    clusters = {}
    try:
        datasets = {}
        base = pipeline(st)  # traced once, run locally and shipped to the workers
        for c in st.configs:
            if c == "local_1core":
                datasets[c] = pipeline(st, single_thread=True)
            else:
                if c == "local":
                    datasets[c] = base.prefetch(tf.data.AUTOTUNE)
                else:
                    workers = 2 if c == "service_2w" else 1
                    if c == "service_1w_raw" and "service_1w" in clusters:
                        clusters[c] = clusters["service_1w"]  # the same worker
                    else:
                        clusters[c] = Cluster(workers, tmp)
                    compression = None if c.endswith("_raw") else "AUTO"
                    datasets[c] = base.apply(
                        tf.data.experimental.service.distribute(
                            "distributed_epoch", clusters[c].target, compression=compression
                        )
                    ).prefetch(tf.data.AUTOTUNE)
        for c, cluster in clusters.items():
            log(f"waiting for the {cluster.n} worker(s) of {c}")
            cluster.wait()
        records = {c: {"config": c, "visits": []} for c in st.configs}
        for v in range(st.visits):
            # Interleaved: every configuration once per round, in rotating order.
            order = st.configs[v % len(st.configs) :] + st.configs[: v % len(st.configs)]
            for c in order:
                pids = [p.pid for p in clusters[c].procs] if c in clusters else []
                r = visit(datasets[c], st, pids)
                rates = [w["rate"] for w in r["windows"]]
                log(f"visit {v + 1}/{st.visits} {c:12s} " + " ".join(f"{x:7.1f}" for x in rates))
                records[c]["visits"].append(r)
                time.sleep(1.0)  # let a finished job's workers go idle
        for rec in records.values():
            rates = [w["rate"] for r in rec["visits"] for w in r["windows"]]
            rec["steady"] = summarize(rates)
            # CPU per image, which contention on a shared machine does not inflate the
            # way it deflates images/s: core-milliseconds an image, client and workers.
            images = sum(r["images"] for r in rec["visits"])
            rec["client_core_ms_per_image"] = (
                1000 * sum(r["client_cpu_s"] for r in rec["visits"]) / max(images, 1)
            )
            rec["worker_core_ms_per_image"] = (
                1000 * sum(r["worker_cpu_s"] for r in rec["visits"]) / max(images, 1)
            )
        return list(records.values())
    finally:
        for cluster in {id(c): c for c in clusters.values()}.values():
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)


def estimate(records: list[dict], st: Settings) -> dict | None:
    """Worker cores a trainer needs at each rate of TRAINER_RATES: the workers' CPU time
    per image delivered through the service (augmentation and the service's own work),
    or, without a service run, the one-thread local cost."""
    by = {r["config"]: r for r in records}
    if "service_1w" in by and by["service_1w"]["worker_core_ms_per_image"] > 0:
        source, ms = "service_1w workers", by["service_1w"]["worker_core_ms_per_image"]
    elif "local_1core" in by:
        source, ms = "local_1core", by["local_1core"]["client_core_ms_per_image"]
    else:
        return None
    out = {
        "size": st.size,
        "source": source,
        "core_ms_per_image": ms,
        "cores_for": {str(r): math.ceil(r * ms / 1000) for r in TRAINER_RATES},
    }
    if "local_1core" in by:
        out["augment_core_ms_per_image"] = by["local_1core"]["client_core_ms_per_image"]
    if "service_1w" in by:
        out["trainer_core_ms_per_image"] = by["service_1w"]["client_core_ms_per_image"]
    return out


def fmt(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def markdown(result: dict) -> str:
    st = result["settings"]
    recs = {r["config"]: r for r in result["records"]}
    local = recs.get("local", {}).get("steady")
    lines = [
        f"### tf.data service on this machine: {st['size']}x{st['size']}, batch "
        f"{st['batch_size']}, rand_augment(num_ops=2, magnitude=0.9)",
        "",
        f"{result['meta']['machine']['cores_available']} cores, "
        f"load average {result['meta']['load_start'][0]:.1f} at start, "
        f"{result['meta']['load_end'][0]:.1f} at end.",
        "",
        "| configuration | images/s, median [min - max] | x local "
        "| core-ms an image: this process | workers |",
        "|---|---|---|---|---|",
    ]
    labels = {
        "local_1core": "one process, one thread",
        "local": "one process (AUTOTUNE)",
        "service_1w": "dispatcher + 1 worker",
        "service_1w_raw": "dispatcher + 1 worker, no compression",
        "service_2w": "dispatcher + 2 workers",
    }
    for c in CONFIGS:
        s = recs.get(c, {}).get("steady")
        if not s:
            continue
        ratio = f"{s['median'] / local['median']:.2f}" if local else "-"
        rec = recs[c]
        workers = f"{rec['worker_core_ms_per_image']:.2f}" if c.startswith("service") else "-"
        lines.append(
            f"| {labels[c]} | {fmt(s['median'])} [{fmt(s['min'])} - {fmt(s['max'])}] | {ratio} "
            f"| {rec['client_core_ms_per_image']:.2f} | {workers} |"
        )
    est = result.get("estimate")
    if est:
        lines += [
            "",
            f"Worker CPU per image delivered ({est['source']}): {est['core_ms_per_image']:.2f} "
            f"core-ms at {est['size']}x{est['size']}. Worker cores a trainer needs so as never "
            "to wait for augmentation (decoding and resizing not included):",
            "",
            "| trainer images/s | " + " | ".join(est["cores_for"]) + " |",
            "|---|" + "---|" * len(est["cores_for"]),
            "| worker cores | " + " | ".join(str(v) for v in est["cores_for"].values()) + " |",
        ]
    return "\n".join(lines)


def run(a) -> int:
    from benchmarks import report

    st = settings_from_args(a)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    log(f"tf.data service benchmark, {'quick' if a.quick else 'default'} run, started {started}")
    meta = report.metadata(REPO, {})  # the commit is read before anything is measured
    meta.update(started_utc=started, load_start=list(os.getloadavg()))
    meta["isolated"] = os.environ.get("RANDAUGMENT_BENCH_NETNS") == "1"
    records = measure(st)
    meta["load_end"] = list(os.getloadavg())
    meta["seconds"] = round(time.perf_counter() - _T0, 1)
    result = {
        "meta": meta,
        "settings": dataclasses.asdict(st),
        "records": records,
        "estimate": estimate(records, st),
    }
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # quick-* is git-ignored in benchmarks/results: quick runs are not published.
    stem = a.name or ("quick-service-" if a.quick else "service-") + time.strftime(
        "%Y-%m-%dT%H%M%SZ", time.gmtime()
    )
    path = out_dir / f"{stem}.json"
    path.write_text(json.dumps(result, indent=1))
    print(markdown(result))
    log(f"wrote {path}")
    return 0


def loopback_up() -> None:
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14s", b"lo", 0, bytes(14))
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, request))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, bytes(14)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.service", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="64x64, one visit: about 2 minutes")
    ap.add_argument("--size", type=int, help="image side (default 224, quick 64)")
    ap.add_argument("--batch-size", type=int, help="images per batch (default 32)")
    ap.add_argument("--images", type=int, help="distinct images held in the graph (default 128)")
    ap.add_argument("--visits", type=int, help="fresh iterators per configuration (default 3)")
    ap.add_argument("--windows", type=int, help="timed windows per visit (default 2)")
    ap.add_argument("--window-s", type=float, help="seconds per window (default 3, quick 1)")
    ap.add_argument("--warmup", type=int, help="batches discarded per visit (default 3)")
    ap.add_argument("--configs", help=f"comma-separated subset of {','.join(CONFIGS)}")
    ap.add_argument("--out-dir", default=str(RESULTS_DIR), help="where the JSON goes")
    ap.add_argument(
        "--name", help="file stem (default service-<UTC time>, quick-service-<UTC time>)"
    )
    ap.add_argument(
        "--unisolated",
        action="store_true",
        help="run without the loopback-only namespace (servers on every interface)",
    )
    a = ap.parse_args(argv)
    if a.unisolated or os.environ.get("RANDAUGMENT_BENCH_NETNS") == "1":
        if os.environ.get("RANDAUGMENT_BENCH_NETNS") == "1":
            loopback_up()
        return run(a)
    if shutil.which("unshare") is None or sys.platform != "linux":
        raise SystemExit("needs Linux and unshare to isolate the servers; or pass --unisolated")
    env = {**os.environ, "RANDAUGMENT_BENCH_NETNS": "1"}
    argv = sys.argv[1:] if argv is None else argv
    return subprocess.call(
        [*ISOLATE, sys.executable, "-m", "benchmarks.service", *argv], cwd=REPO, env=env
    )


if __name__ == "__main__":
    sys.exit(main())
