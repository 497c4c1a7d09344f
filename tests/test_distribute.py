"""The layer and `rand_augment` under `tf.distribute.MirroredStrategy` (issue 15, part 3).

Two logical CPU devices must be configured before TensorFlow initializes its devices,
so the runs happen in child processes (`tests/distribute_check.py`), which feed every
replica the same images: two replicas' outputs are equal exactly when they drew the
same ops. Without the replica id folded into the layer's per-call seed, every image of
every step was equal across the two replicas (8 of 8, measured before the fix).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("distribute_check.py")
TIMEOUT_S = 600


@functools.cache
def run_check(*flags: str) -> dict:
    """Runs the check script in a child process importing this checkout; its JSON."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["randaugment"]).resolve().parent.parent == ROOT, result["randaugment"]
    return result


def _check_replicas(result):
    for t, step in enumerate(result["steps"]):
        # One image in a few hundred can draw the same ops by chance; the whole batch
        # cannot (that was the state before replica ids were folded in).
        assert step["same_images_across_replicas"] <= 1, (t, step)
        assert step["digests"][0] != step["digests"][1], (t, step)
        # Replica 0 draws exactly what one device draws: single-device runs keep
        # today's output.
        assert step["replica0_is_single_device"], (t, step)
    # Each replica's copy of the seed state advanced once per step and the copies agree
    # (a checkpoint saves one of them).
    steps = len(result["steps"])
    first, second = result["seed_state"]
    assert first == second
    assert first[2] == 1234 and first[0] == 256 * steps, first


def test_replicas_draw_their_own_ops_and_replica0_draws_what_one_device_draws():
    _check_replicas(run_check("--quick"))


@pytest.mark.slow
def test_distributed_runs_are_reproducible_within_and_across_processes():
    full = run_check()
    _check_replicas(full)
    quick = run_check("--quick")
    for step, other in zip(full["steps"], quick["steps"], strict=True):
        assert step["rerun_digests"] == step["digests"]  # a fresh run in the same process
        assert other["digests"] == step["digests"]  # another process
    assert full["weights"][0] == full["weights"][1]


@pytest.mark.slow
def test_replica_seeds_compile_with_xla_and_match_the_graph():
    """XLA cannot compile a replica's step that reads a Keras variable on logical CPU
    devices (a TensorFlow limitation, see distribute_check.py), so this compiles the
    seed folding and the augmentation of each replica, given the per-call seed."""
    result = run_check("--jit")
    for step in result["xla"]:
        assert step["xla_is_graph"] == [True, True], step
        assert step["same_images_across_replicas"] <= 1, step


@pytest.mark.slow
def test_input_pipelines_fold_in_their_id_and_are_distinct_and_reproducible():
    full = run_check()
    first, rebuilt = full["pipelines"]
    assert first["contexts"] == [[0, 2], [1, 2]]
    # Same images in both pipelines: every batch differs because the seeds differ.
    digests = [[d for _, d in stream] for stream in first["streams"]]
    assert len(digests[0]) == len(digests[1]) == 16
    assert not set(digests[0]) & set(digests[1])
    # Built again: the same two streams, bit for bit.
    assert rebuilt["streams"] == first["streams"]
    # Sharded (the multi-host recipe): every id once across the pipelines.
    ids = [
        i for stream in full["pipelines_sharded"]["streams"] for batch, _ in stream for i in batch
    ]
    assert sorted(ids) == list(range(64))
