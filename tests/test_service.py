"""The tf.data service with `rand_augment` and the layer (issue 15, parts 1, 2 and 6).

The scenarios run in `tests/service_driver.py`, a child process started in new network
and PID namespaces (`unshare -rn --pid --fork --kill-child`): its only interface is the
loopback, so the servers, which TensorFlow binds to every interface, cannot be reached
from outside, and every process it started ends with it. Workers are `python -c`
processes that import TensorFlow and cannot import `randaugment`.

Where `unshare` is not available (not Linux, or unprivileged user namespaces are off),
the scenarios are skipped, unless RANDAUGMENT_TEST_SERVICE_UNISOLATED=1 allows them to
run with servers listening on every interface for the length of the test.

The scenarios are marked slow (each starts servers and processes): `.ci/run` runs them
as a step of their own; the launcher's argument checks stay in the default suite.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from randaugment import service

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("service_driver.py")
ISOLATE = ["unshare", "-rn", "--pid", "--fork", "--kill-child"]
N_BASIC = 256  # as in service_driver.scenario_basic


@functools.cache
def isolation() -> str | None:
    """Why the scenarios cannot run here, or None if they can."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        reason = "needs Linux and util-linux's unshare"
    else:
        try:
            probe = subprocess.run([*ISOLATE, "true"], capture_output=True, timeout=30)
            reason = None if probe.returncode == 0 else probe.stderr.decode().strip()
        except (OSError, subprocess.TimeoutExpired) as err:
            reason = str(err)
    return reason


def run_driver(scenario: str, timeout: float) -> dict:
    """Runs one scenario of the driver, isolated; kills it and everything it started
    after `timeout` seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(DRIVER), scenario]
    reason = isolation()
    if reason is None:
        command = [*ISOLATE, *command]
        env["RANDAUGMENT_TEST_NETNS"] = "1"
    elif os.environ.get("RANDAUGMENT_TEST_SERVICE_UNISOLATED") != "1":
        pytest.skip(
            f"cannot isolate the tf.data service servers in a loopback-only namespace "
            f"({reason}); set RANDAUGMENT_TEST_SERVICE_UNISOLATED=1 to run them anyway"
        )
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # one process group: killpg ends the driver's children too
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the {scenario} scenario ran over {timeout} s:\n{err[-4000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, f"the {scenario} scenario failed:\n{err[-6000:]}"
    result = json.loads(out.strip().splitlines()[-1])
    assert Path(result["randaugment"]).resolve().parent.parent == ROOT, result["randaugment"]
    if reason is None:
        assert result["interfaces"] == ["lo"]
    return result


@pytest.fixture(scope="module")
def basic():
    return run_driver("basic", timeout=600)


# -- the launcher's checks, in this process (no server is started) ----------------------


def test_a_taken_port_is_refused_naming_it():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(service.ServiceError, match=rf"--port {port}: the port is taken"):
            service.check_port_free(port)
    service.check_port_free(0)  # the OS picks: always free


@pytest.mark.parametrize("port", [-1, 65536, "5050", 1.5, True])
def test_a_port_out_of_range_is_refused_echoing_it(port):
    with pytest.raises(service.ServiceError, match=r"--port .*expected a port in 0-65535"):
        service.check_port_free(port)


@pytest.mark.parametrize("address", ["nonsense", "host:", ":5050", "host:0", "host:70000", "h:p"])
def test_a_malformed_dispatcher_address_is_refused_echoing_it(address):
    with pytest.raises(
        service.ServiceError, match=rf"--dispatcher '{address}': expected HOST:PORT"
    ):
        service.parse_address(address)


def test_addresses_parse():
    assert service.parse_address("grpc://localhost:5050") == ("localhost", 5050)
    assert service.parse_address("[::1]:5051") == ("::1", 5051)


def test_an_unreachable_dispatcher_is_reported_with_its_address_within_the_timeout():
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(service.ServiceError, match=rf"--dispatcher {address}: no dispatcher"):
            service.wait_for_dispatcher(address, timeout=1.0)
        assert time.monotonic() - start < 5


# -- part 1: two workers, the seeding recipe ---------------------------------------------


RUNS = (("one_worker", "by_id"), ("two_workers", "by_id"), ("two_workers", "per_batch"))


@pytest.mark.slow
def test_workers_serve_every_element_once_in_distributed_epoch_mode(basic):
    for workers, recipe in RUNS:
        run = basic[workers][recipe]
        assert run["all_exactly"] and not run["missing"], (workers, recipe, run)
        assert run["elements"] == N_BASIC
    # The two-worker runs were shared between both workers.
    assert len(basic["two_workers"]["by_id"]["by_worker"]) == 2, basic["two_workers"]
    assert sum(basic["two_workers"]["by_id"]["by_worker"].values()) == N_BASIC


@pytest.mark.slow
def test_each_worker_serves_a_full_epoch_in_parallel_epochs_mode(basic):
    run = basic["two_workers"]["parallel_epochs"]
    assert run["all_exactly"], run  # every id twice
    assert run["by_worker"] == {"a": N_BASIC, "b": N_BASIC}


@pytest.mark.slow
def test_an_elements_augmentation_depends_on_its_id_not_on_the_worker_or_their_number(basic):
    # Every element, whichever worker made it, with one worker or two, in either mode,
    # is bit-identical to the same element augmented locally without the service.
    for workers, recipe in RUNS:
        assert basic[workers][recipe]["differs_from_local"] == [], (workers, recipe)
    assert basic["two_workers"]["parallel_epochs"]["differs_from_local"] == []


@pytest.mark.slow
def test_the_layer_in_tf_data_serves_every_element_once_but_repeats_draws_across_workers(basic):
    """What docs/scaling.md says of the layer in a service pipeline: the elements are
    right, the draws are not independent (each worker holds a copy of the seed state
    taken when the job was made)."""
    layer = basic["layer"]
    dist = layer["distributed_epoch"]
    assert dist["elements"] == N_BASIC and dist["ids_exactly"] == [1] and not dist["missing"]
    parallel = layer["parallel_epochs"]
    assert parallel["elements"] == 2 * N_BASIC and parallel["ids_exactly"] == [2]
    assert set(parallel["by_worker"]) == {"a", "b"}
    # The two workers' epochs drew the same ops batch for batch.
    assert parallel["distinct_batches"] == parallel["batches"] // 2
    # The trainer's copy of the state never moves.
    assert layer["client_seed_state"] == [0, 0, 2024]


@pytest.mark.slow
def test_variables_in_a_service_pipeline_are_copied_and_service_iterators_do_not_save():
    """The other findings of docs/scaling.md: every new job repeats the layer's draws,
    `rand_augment(seed=None)` repeats across workers and jobs, and the trainer cannot
    checkpoint an iterator over a service dataset (TF 2.21)."""
    result = run_driver("findings", timeout=900)
    one = result["one_worker"]["per_batch"]  # the batch recipe with one worker, too
    assert one["all_exactly"] and one["differs_from_local"] == [], one
    layer = result["layer"]
    print(json.dumps(layer))
    assert layer["second_job_repeats_first"]
    unseeded = layer["unseeded_rand_augment"]
    assert unseeded["distinct_batches"] == unseeded["batches"] // 2
    assert unseeded["second_job_repeats_first"]
    assert "not yet supported" in layer["service_iterator_checkpoint"], layer
    # enumerate() after the source numbers each worker's elements from 0.
    numbered = layer["enumerate_after_source"]
    assert numbered["elements"] == N_BASIC
    if len(numbered["by_worker"]) == 2:
        assert numbered["numbers_per_worker_start_at_0"] == [0, 0]
        assert numbered["number_is_not_id"] > 0
    # batch() after the source: each worker batches its own elements, so the job gets
    # one batch per 8 elements of each worker, rounded up per worker (a partial batch
    # per worker unless its share happens to be a multiple of 8).
    dist = layer["distributed_epoch"]
    assert sum(dist["by_worker"].values()) == N_BASIC
    assert dist["batches"] == sum(-(-n // 8) for n in dist["by_worker"].values()), dist


# -- part 2: a worker lost mid-epoch -----------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_mid_epoch(record_property):
    """Kill one of two workers after a quarter of the epoch; restart it on its port 15 s
    later. The numbers are printed (pytest -s) and recorded in the JUnit properties."""
    result = run_driver("faults", timeout=900)
    n = 2048
    for mode in ("distributed_epoch", "parallel_epochs"):
        run = result[mode]
        record_property(mode, json.dumps({k: v for k, v in run.items() if k != "missing"}))
        print(mode, json.dumps({k: v for k, v in run.items() if k != "missing"}))
        # Whatever was delivered is right.
        assert run["differs_from_local"] == []
        # The epoch did not end on the survivor alone: it ended after the restart.
        assert run["job_ended_at_s"] >= run["restarted_at_s"], run
    dist = result["distributed_epoch"]
    # At most once: nothing repeated; what the killed worker held was lost.
    assert dist["repeated"] == 0
    assert dist["lost"] == len(dist["missing"]) < n // 4
    # The catch-up job over the missing ids completes the epoch exactly, bit for bit.
    after = dist["after_catch_up"]
    assert after["all_exactly"] and after["differs_from_local"] == [] and not after["missing"]
    parallel = result["parallel_epochs"]
    # Nothing lost; the restarted worker served its whole epoch again.
    assert parallel["lost"] == 0
    assert parallel["by_worker"].get("a2") == n and parallel["by_worker"]["b"] == n
    assert parallel["repeated"] == parallel["by_worker"]["a"]


# -- part 6: the launcher ------------------------------------------------------------------


@pytest.mark.slow
def test_the_launcher_serves_refuses_and_stops_cleanly():
    result = run_driver("launcher", timeout=600)
    assert "dispatcher ready on port" in result["dispatcher_ready"]
    assert "worker ready on port" in result["worker_ready"]
    assert result["served_equals_local"]
    taken = result["taken"]
    assert taken["returncode"] == 1
    assert any("the port is taken" in line for line in taken["lines"]), taken
    unreachable = result["unreachable"]
    assert unreachable["returncode"] == 1
    assert any("no dispatcher answered" in line for line in unreachable["lines"]), unreachable
    for name, signal_name in (("worker_stop", "SIGTERM"), ("dispatcher_stop", "SIGINT")):
        stop = result[name]
        assert stop["returncode"] == 0, stop
        assert any(f"{signal_name} received" in line for line in stop["lines"]), stop
        assert stop["lines"][-1].endswith("stopped"), stop


# -- the benchmark -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_service_benchmark_runs_and_writes_its_json(tmp_path):
    """A tiny run of benchmarks/service.py (no timing assertions): it isolates itself
    the same way, measures every configuration and writes the estimate."""
    if isolation() is not None and os.environ.get("RANDAUGMENT_TEST_SERVICE_UNISOLATED") != "1":
        pytest.skip(f"cannot isolate the benchmark's servers ({isolation()})")
    args = ["--quick", "--size=16", "--batch-size=8", "--images=16", "--visits=1"]
    args += ["--windows=1", "--window-s=0.2", "--warmup=1", f"--out-dir={tmp_path}", "--name=smoke"]
    if isolation() is not None:
        args.append("--unisolated")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.service", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    assert [r["config"] for r in result["records"]] == [
        "local_1core",
        "local",
        "service_1w",
        "service_1w_raw",
        "service_2w",
    ]
    for record in result["records"]:
        assert record["steady"]["median"] > 0
        assert record["client_core_ms_per_image"] > 0
        if record["config"].startswith("service"):
            assert record["worker_core_ms_per_image"] > 0
    assert result["estimate"]["cores_for"]["1000"] >= 1
    assert result["meta"]["isolated"] == (isolation() is None)
    assert "| dispatcher + 2 workers |" in proc.stdout
