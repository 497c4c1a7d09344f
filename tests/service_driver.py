"""tf.data service scenarios, run by `tests/test_service.py` in a child process.

    python tests/service_driver.py SCENARIO   # basic | findings | faults | launcher

The driver runs a dispatcher in its own process and starts every worker as a separate
`python -c` process that imports only TensorFlow: `randaugment` is blocked in the
workers' `sys.modules`, so the augmentation they run can only have come inside the
dataset graph. Each worker runs in a directory of its own holding a file `WORKER` with
its name; the pipelines read that file to tag every element with the worker that made
it. The last line on stdout is a JSON object with what was measured; the test asserts
on it.

`tests/test_service.py` starts this driver in new network and PID namespaces
(`unshare`), where the only interface is the loopback: TensorFlow's servers bind every
interface and cannot be told otherwise, and the namespaces keep them unreachable from
outside and end every process when the driver ends.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

import randaugment  # noqa: E402
from randaugment import RandAugment, rand_augment  # noqa: E402
from randaugment.service import start_dispatcher  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 2024
SIZE = 32
BATCH = 8
LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 240  # a worker's TensorFlow import on a loaded 2-core machine
JOB_TIMEOUT_S = 240

WORKER = r"""
import sys
sys.modules["randaugment"] = None  # any import of it fails in this process
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
dispatcher, port, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "wait"
if wait:
    sys.stdin.readline()
config = tf.data.experimental.service.WorkerConfig(
    dispatcher_address=dispatcher, worker_address="127.0.0.1:%port%", port=port)
worker = tf.data.experimental.service.WorkerServer(config)
print(worker._address.rsplit(":", 1)[1], flush=True)
worker.join()
"""


def loopback_up() -> None:
    """Brings `lo` up (it starts down in a new network namespace), without `ip`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14s", b"lo", 0, bytes(14))
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, request))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, bytes(14)))  # IFF_UP


def digest(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """One line of the process's stdout, or an error after `timeout` seconds."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError(f"no line from pid {proc.pid} within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"pid {proc.pid} exited ({proc.wait()}) before printing a line")
    return line.strip()


class Cluster:
    """A dispatcher in this process and workers in `python -c` child processes."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.dispatcher = start_dispatcher(port=0)
        self.port = int(self.dispatcher.target.rsplit(":", 1)[1])
        self.address = f"{LOOPBACK}:{self.port}"
        self.target = f"grpc://{self.address}"
        self.workers: dict[str, dict] = {}

    def spawn(self, name: str, port: int = 0, hold: bool = False) -> None:
        """Starts worker `name`; with `hold`, it imports TensorFlow and then waits for
        `release(name)` before registering."""
        home = self.tmp / name
        home.mkdir(exist_ok=True)
        (home / "WORKER").write_text(name)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, self.address, str(port), "wait" if hold else "go"],
            cwd=home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(home / "stderr.txt", "w"),  # noqa: SIM115
            text=True,
        )
        self.workers[name] = {"proc": proc, "port": None}

    def release(self, name: str) -> None:
        self.workers[name]["proc"].stdin.write("go\n")
        self.workers[name]["proc"].stdin.flush()

    def ready(self, name: str) -> int:
        """Waits for worker `name` to print its port (it has registered by then)."""
        worker = self.workers[name]
        if worker["port"] is None:
            worker["port"] = int(read_line(worker["proc"], START_TIMEOUT_S))
        return worker["port"]

    def wait_registered(self, n: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.dispatcher._num_workers() < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} workers did not register within {START_TIMEOUT_S} s")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        proc = self.workers[name]["proc"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        for worker in self.workers.values():
            if worker["proc"].poll() is None:
                worker["proc"].kill()
                worker["proc"].wait(timeout=30)
        self.dispatcher.stop()


def worker_tag(*_):
    """The name of the worker running this element (its directory's WORKER file)."""
    return tf.io.read_file("WORKER")


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3)).astype(np.uint8)


def by_id(ids: tf.Tensor, pixels: tf.Tensor):
    """The seeding recipe: the element's id (carried from the source, fixed before the
    pipeline is distributed) and the run's SEED are the whole seed."""

    def augment(i):
        return rand_augment(
            tf.gather(pixels, i),
            num_ops=2,
            magnitude=0.9,
            seed=tf.stack([SEED, tf.cast(i, tf.int32)]),
        )

    return tf.data.Dataset.from_tensor_slices(ids).map(lambda i: (i, augment(i)))


def per_batch(pixels: tf.Tensor, n: int):
    """The batch recipe: the source is the batch index, each batch's members are fixed by
    it, and the batch index seeds the batch."""

    def load(b):
        ids = tf.range(b * BATCH, (b + 1) * BATCH)
        seed = tf.stack([SEED, tf.cast(b, tf.int32)])
        return ids, rand_augment(tf.gather(pixels, ids), num_ops=2, magnitude=0.9, seed=seed)

    return tf.data.Dataset.range(n // BATCH).map(load)


def run_job(ds, mode: str, target: str) -> list:
    """Every element of one job of `ds` (tagged elements: (ids, images, workers))."""
    service = ds.apply(tf.data.experimental.service.distribute(mode, target))
    return list(service.as_numpy_iterator())


def per_id(elements, batched: bool) -> tuple[dict, collections.Counter, collections.Counter]:
    """(id -> list of digests, ids counted, elements per worker)."""
    out = collections.defaultdict(list)
    workers = collections.Counter()
    for ids, pixels, tags in elements:
        if not batched:
            ids, pixels, tags = [ids], [pixels], [tags]
        for i, x, w in zip(ids, pixels, tags, strict=True):
            out[int(i)].append(digest(x))
            workers[w.decode()] += 1
    return out, collections.Counter({i: len(v) for i, v in out.items()}), workers


def summarize(elements, reference: dict, n: int, batched: bool, copies: int = 1) -> dict:
    digests, counts, workers = per_id(elements, batched)
    return {
        "elements": sum(counts.values()),
        "missing": sorted(set(range(n)) - set(counts)),
        "count_histogram": dict(collections.Counter(counts.values())),
        "by_worker": dict(workers),
        "differs_from_local": sorted(
            i for i, ds in digests.items() if any(d != reference[i] for d in ds)
        ),
        "all_exactly": all(counts[i] == copies for i in range(n)),
    }


_CLOCK = [time.perf_counter()]


def lap(result: dict, name: str) -> None:
    """Records the seconds since the previous lap under result["laps"][name]."""
    now = time.perf_counter()
    result.setdefault("laps", {})[name] = round(now - _CLOCK[0], 1)
    _CLOCK[0] = now


def scenario_basic(tmp: Path, findings: bool = False) -> dict:
    """Two workers, both recipes, the layer; with `findings`, also what the docs say of
    the layer's and unseeded draws across jobs and of service iterator checkpoints."""
    n = 256
    pixels = tf.constant(images(n))
    ids = tf.range(n, dtype=tf.int64)
    cluster = Cluster(tmp)
    result = {}
    try:
        cluster.spawn("a")
        cluster.spawn("b", hold=True)  # imports TensorFlow now, registers later

        # The pipelines, traced once; the service versions add the worker's tag.
        element_ds = by_id(ids, pixels)
        batch_ds = per_batch(pixels, n)
        tagged_elements = element_ds.map(lambda i, x: (i, x, worker_tag()))
        tagged_batches = batch_ds.map(lambda i, x: (i, x, tf.fill([BATCH], worker_tag())))
        # The layer in tf.data, over copies of one image: equal outputs mean equal draws.
        # (In distributed_epoch mode `batch` runs on each worker over the splits it got,
        # so each worker may end with a partial batch.)
        layer = RandAugment(num_ops=2, magnitude=0.9, seed=SEED)
        one_image = tf.repeat(pixels[:1], n, axis=0)
        layer_ds = (
            tf.data.Dataset.from_tensor_slices((ids, one_image))
            .batch(BATCH)
            .map(lambda i, x: (i, layer(x), tf.fill(tf.shape(i), worker_tag())))
        )

        local = {i: digest(x) for i, x in element_ds.as_numpy_iterator()}
        local_batches = {}
        for batch_ids, batch in batch_ds.as_numpy_iterator():
            for i, x in zip(batch_ids, batch, strict=True):
                local_batches[int(i)] = digest(x)
        lap(result, "traced_and_local")

        cluster.ready("a")
        cluster.wait_registered(1)
        one = {
            "by_id": summarize(
                run_job(tagged_elements, "distributed_epoch", cluster.target), local, n, False
            )
        }
        if findings:
            one["per_batch"] = summarize(
                run_job(tagged_batches, "distributed_epoch", cluster.target), local_batches, n, True
            )
        result["one_worker"] = one
        lap(result, "one_worker")

        cluster.release("b")
        cluster.ready("b")
        cluster.wait_registered(2)
        two = {}
        # Both workers must take part for the comparison to mean anything; which one
        # gets the splits is up to TensorFlow, so try a few jobs.
        for attempt in range(1, 4):
            two["by_id"] = summarize(
                run_job(tagged_elements, "distributed_epoch", cluster.target), local, n, False
            )
            two["attempts"] = attempt
            if len(two["by_id"]["by_worker"]) == 2:
                break
        two["per_batch"] = summarize(
            run_job(tagged_batches, "distributed_epoch", cluster.target), local_batches, n, True
        )
        parallel = run_job(tagged_elements, "parallel_epochs", cluster.target)
        two["parallel_epochs"] = summarize(parallel, local, n, False, copies=2)
        result["two_workers"] = two
        lap(result, "two_workers")

        # The layer: every element once, but each worker holds its own copy of the
        # layer's seed state, copied into the graph when the job was made.
        layer_jobs = {}
        draws = {}
        for mode in ("distributed_epoch", "parallel_epochs"):
            elements = run_job(layer_ds, mode, cluster.target)
            draws[mode] = collections.Counter(digest(x) for _, x, _ in elements)
            _, counts, workers = per_id(elements, True)
            layer_jobs[mode] = {
                "elements": sum(counts.values()),
                "ids_exactly": sorted(set(counts.values())),
                "missing": sorted(set(range(n)) - set(counts)),
                "by_worker": dict(workers),
                "batches": len(elements),
                "distinct_batches": len(draws[mode]),
            }
        layer_jobs["client_seed_state"] = layer.seed_state.numpy().tolist()
        result["layer"] = layer_jobs
        lap(result, "layer")
        if not findings:
            return result

        again = run_job(layer_ds, "parallel_epochs", cluster.target)
        layer_jobs["second_job_repeats_first"] = (
            collections.Counter(digest(x) for _, x, _ in again) == draws["parallel_epochs"]
        )

        # rand_augment without a seed draws from a generator variable: copied the same way.
        unseeded_ds = (
            tf.data.Dataset.from_tensor_slices(one_image)
            .batch(BATCH)
            .map(lambda x: (rand_augment(x, num_ops=2, magnitude=0.9), worker_tag()))
        )
        unseeded = {}
        for job in ("first", "second"):
            elements = run_job(unseeded_ds, "parallel_epochs", cluster.target)
            unseeded[job] = collections.Counter(digest(x) for x, _ in elements)
        unseeded["batches"] = sum(unseeded["first"].values())
        unseeded["distinct_batches"] = len(unseeded["first"])
        unseeded["second_job_repeats_first"] = unseeded.pop("second") == unseeded.pop("first")
        layer_jobs["unseeded_rand_augment"] = unseeded

        # enumerate() after the source counts on each worker, over the splits it got.
        numbered = element_ds.enumerate().map(lambda k, e: (k, e[0], worker_tag()))
        for _ in range(3):  # until both workers took part
            elements = run_job(numbered, "distributed_epoch", cluster.target)
            by_worker = collections.Counter(w.decode() for _, _, w in elements)
            if len(by_worker) == 2:
                break
        layer_jobs["enumerate_after_source"] = {
            "elements": len(elements),
            "by_worker": dict(by_worker),
            "number_is_not_id": sum(int(k) != int(i) for k, i, _ in elements),
            "numbers_per_worker_start_at_0": sorted(
                min(int(k) for k, _, w in elements if w.decode() == name) for name in by_worker
            ),
        }

        # Can the trainer checkpoint its iterator over a service dataset?
        iterator = iter(
            tagged_elements.apply(
                tf.data.experimental.service.distribute("distributed_epoch", cluster.target)
            )
        )
        next(iterator)
        try:
            tf.train.Checkpoint(iterator=iterator).write(str(tmp / "service-iterator"))
            layer_jobs["service_iterator_checkpoint"] = "saved"
        except Exception as err:  # what TensorFlow says is the finding
            layer_jobs["service_iterator_checkpoint"] = f"{type(err).__name__}: {err}"[:300]
        del iterator
        lap(result, "findings")
    finally:
        cluster.close()
    return result


def scenario_findings(tmp: Path) -> dict:
    return scenario_basic(tmp, findings=True)


def consume_with_kill(cluster, ds, mode, n, victim, kill_after, restart_after_s):
    """Iterates one job of `ds`; kills `victim` after `kill_after` elements, and restarts
    it on its port `restart_after_s` seconds later from another thread."""
    port = cluster.workers[victim]["port"]
    t0 = time.monotonic()
    times, elements = [], []
    events = {}

    def restart():
        cluster.spawn(victim + "2", port=port)
        cluster.ready(victim + "2")
        events["restarted_at_s"] = time.monotonic() - t0
        events["elements_before_restart"] = len(elements)

    timer = None
    service = ds.apply(tf.data.experimental.service.distribute(mode, cluster.target))
    for element in service.as_numpy_iterator():
        elements.append(element)
        times.append(time.monotonic() - t0)
        if len(elements) == kill_after:
            cluster.kill(victim)
            events["killed_at_s"] = time.monotonic() - t0
            timer = threading.Timer(restart_after_s, restart)
            timer.start()
        if time.monotonic() - t0 > JOB_TIMEOUT_S:
            raise TimeoutError(f"the {mode} job ran over {JOB_TIMEOUT_S} s")
    events["job_ended_at_s"] = time.monotonic() - t0  # the iterator's end of sequence
    if timer is not None:
        timer.join(START_TIMEOUT_S)
    events["last_element_at_s"] = times[-1] if times else None
    before = [t for t in times if t < events.get("restarted_at_s", float("inf"))]
    events["last_element_before_restart_s"] = before[-1] if before else None
    return elements, events


def scenario_faults(tmp: Path) -> dict:
    """A worker killed mid-epoch and restarted on its port; the catch-up of what was lost."""
    n = 2048
    pixels = tf.constant(images(n))
    ids = tf.range(n, dtype=tf.int64)
    element_ds = by_id(ids, pixels)
    tagged = element_ds.map(lambda i, x: (i, x, worker_tag()))
    local = {i: digest(x) for i, x in element_ds.as_numpy_iterator()}
    result = {}
    for mode, copies in (("distributed_epoch", 1), ("parallel_epochs", 2)):
        cluster = Cluster(tmp / mode)
        (tmp / mode).mkdir(exist_ok=True)
        try:
            cluster.spawn("a")
            cluster.spawn("b")
            cluster.ready("a")
            cluster.ready("b")
            cluster.wait_registered(2)
            # Restart well after the survivor could have finished the epoch alone.
            elements, events = consume_with_kill(
                cluster, tagged, mode, n, "a", kill_after=n // 4, restart_after_s=15.0
            )
            summary = summarize(elements, local, n, False, copies=copies)
            _, counts, _ = per_id(elements, False)
            summary["repeated"] = sum(max(0, c - copies) for c in counts.values())
            summary["lost"] = sum(max(0, copies - counts.get(i, 0)) for i in range(n))
            summary.update(events)
            if mode == "distributed_epoch":
                # The catch-up: the same function of the ids over the ids not delivered.
                missing = tf.constant(summary["missing"], tf.int64)
                catch_up = by_id(missing, pixels).map(lambda i, x: (i, x, worker_tag()))
                extra = (
                    run_job(catch_up, "distributed_epoch", cluster.target)
                    if len(summary["missing"])
                    else []
                )
                total = summarize(elements + extra, local, n, False)
                summary["after_catch_up"] = total
            result[mode] = summary
        finally:
            cluster.close()
    return result


def launcher(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "randaugment.service", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(proc: subprocess.Popen, sig=None, timeout: float = 60) -> dict:
    if sig is not None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in (out + err).splitlines() if line.startswith("randaugment.service")]
    return {"returncode": proc.returncode, "lines": lines}


def scenario_launcher(tmp: Path) -> dict:
    """`python -m randaugment.service` end to end: serve a pipeline, refuse a taken port
    and an unreachable dispatcher, stop cleanly on SIGTERM and SIGINT."""
    result = {}
    dispatcher = launcher("dispatcher", "--port", "0")
    # Nothing listens on this port (bound, never listening): the worker must give up.
    with socket.socket() as closed:
        closed.bind((LOOPBACK, 0))
        dead = closed.getsockname()[1]
        lost = launcher("worker", "--dispatcher", f"{LOOPBACK}:{dead}", "--connect-timeout", "3")
        result["unreachable"] = finish(lost, timeout=START_TIMEOUT_S)
    line = read_line(dispatcher, START_TIMEOUT_S)
    result["dispatcher_ready"] = line
    port = int(line.split(" on port ")[1].split()[0])
    taken = launcher("dispatcher", "--port", str(port))
    worker = launcher("worker", "--dispatcher", f"{LOOPBACK}:{port}", "--host", LOOPBACK)
    result["taken"] = finish(taken, timeout=START_TIMEOUT_S)
    result["worker_ready"] = read_line(worker, START_TIMEOUT_S)
    ds = tf.data.Dataset.range(64).map(
        lambda i: rand_augment(
            tf.zeros([8, 8, 3], tf.uint8) + tf.cast(i, tf.uint8),
            seed=tf.stack([SEED, tf.cast(i, tf.int32)]),
        )
    )
    served = ds.apply(
        tf.data.experimental.service.distribute("distributed_epoch", f"grpc://{LOOPBACK}:{port}")
    )
    result["served_equals_local"] = [digest(x) for x in served.as_numpy_iterator()] == [
        digest(x) for x in ds.as_numpy_iterator()
    ]
    result["worker_stop"] = finish(worker, signal.SIGTERM)
    result["dispatcher_stop"] = finish(dispatcher, signal.SIGINT)
    return result


def main() -> None:
    scenario = sys.argv[1]
    if os.environ.get("RANDAUGMENT_TEST_NETNS") == "1":
        loopback_up()
        interfaces = [name for _, name in socket.if_nameindex()]
        assert interfaces == ["lo"], f"not an isolated network namespace: {interfaces}"
    else:
        interfaces = None
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "scenario": scenario,
            "randaugment": randaugment.__file__,
            "interfaces": interfaces,
            **globals()[f"scenario_{scenario}"](Path(tmp)),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
