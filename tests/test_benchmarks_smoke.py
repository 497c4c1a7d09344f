"""Smoke test of the throughput benchmark (benchmarks/): it runs, skips what is not
installed, and writes its JSON, table and plot. No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PEERS = (("keras_cv", "keras_cv"), ("tfm", "official"), ("torchvision", "torch"))


def _installed(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except (ImportError, ValueError):
        return False


@pytest.mark.slow
def test_quick_run_writes_json_table_and_plot(tmp_path):
    # Peers are requested only where they are missing (the project's test venv has
    # none): their skip line is what is tested, and the run stays short where a
    # benchmark venv has them all.
    peers = [k for k, mod in PEERS if not _installed(mod)]
    variants = ",".join(["floor", "simple_aug", *peers, "ours_n3m08"])
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.throughput",
        "--quick",
        "--sizes=32",
        f"--variants={variants}",
        "--groups=main,n_ops",
        "--n-ops=1",
        "--visits=1",
        "--windows=1",
        "--window-s=0.02",
        "--max-mb=1",
        f"--out-dir={tmp_path}",
        "--name=smoke",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    result = json.loads((tmp_path / "smoke.json").read_text())
    assert set(result) == {"meta", "skipped", "records"}
    meta = result["meta"]
    assert meta["versions"]["tensorflow"]
    assert meta["machine"]["cores_available"] >= 1
    assert meta["started_utc"].endswith("Z")

    measured = {r["variant"] for r in result["records"] if r["group"] == "main"}
    skipped = {s["variant"] for s in result["skipped"]}
    # Every requested variant is either measured or skipped with a reason.
    assert set(variants.split(",")) <= measured | skipped
    assert "floor" in measured
    for s in result["skipped"]:
        assert s["reason"]
        assert f"SKIP {s['label']}" in proc.stderr
    # Peers that are not installed are skipped, not errors.
    for key in peers:
        assert key in skipped
    assert result["records"]
    for r in result["records"]:
        assert r["steady"]["median"] > 0
        assert r["steady"]["min"] <= r["steady"]["median"] <= r["steady"]["max"]

    out = proc.stdout
    assert "### Steady state, images/s" in out
    assert "### Per epoch" in out
    assert "| floor (cast only) |" in out
    assert "### Run" in out
    if _installed("matplotlib"):
        assert (tmp_path / "smoke.png").stat().st_size > 1000


def _fake_result():
    def rec(variant, size, rate, group="main", **extra):
        s = {"median": rate, "min": rate * 0.9, "max": rate * 1.1, "n": 3}
        return {
            "group": group,
            "variant": variant,
            "label": variant,
            "size": size,
            "batch_size": 128,
            "n_images": 1280,
            "first_batch_cold_s": 1.0,
            "first_batch_warm_s": {"median": 0.5, "min": 0.4, "max": 0.6, "n": 3},
            "steady": s,
            "epoch": s,
            "epoch_seconds": {"median": 1.5, "min": 1.4, "max": 1.6, "n": 3},
            **extra,
        }

    records = [
        rec("keras_cv", 32, 1000.0),
        rec("torchvision", 32, 3000.0),
        rec("ours_n3m08", 32, 12000.0),
        rec("ours_n3m08_xla", 32, 8000.0),
        rec("ours_n0m08", 72, 50000.0, group="n_ops", num_ops=0, jit=False),
        rec("ours_n3m08", 72, 2000.0, group="n_ops", num_ops=3, jit=False),
    ]
    meta = {
        "machine": {
            "cpu": "cpu",
            "cores_available": 2,
            "memory_gib": 24,
            "platform": "linux",
            "python": "3.11",
        },
        "versions": {"tensorflow": "2.21.0"},
        "git": {"commit": "0" * 40, "subject": "s", "dirty": False},
        "started_utc": "2026-01-01T00:00:00Z",
        "finished_utc": "2026-01-01T00:01:00Z",
        "wall_seconds": 60.0,
        "loadavg_start": (0.0, 0.0, 0.0),
        "loadavg_end": (0.0, 0.0, 0.0),
        "argv": [],
    }
    return {"meta": meta, "skipped": [], "records": records}


def test_report_targets_and_per_op_cost():
    from benchmarks import report

    text = report.markdown(_fake_result())
    # 12000 / 1000 = 12x keras-cv (target 10x: met); 12000 / 3000 = 4x torchvision (3x: met)
    assert "12.00x (>= 10x)" in text
    assert "4.00x (>= 3x)" in text
    # 8000 / 1000 = 8x keras-cv: missed under XLA
    assert "kcv MISSED" in text
    # (1/2000 - 1/50000) / 3 s = 160 us per op per image
    assert "| 3 | 2000 (1800-2200) | 160 |" in text


@pytest.mark.skipif(not _installed("matplotlib"), reason="matplotlib not installed")
def test_plot_from_fake_result(tmp_path):
    from benchmarks import report

    path = report.plot(_fake_result(), tmp_path / "p.png")
    assert path.stat().st_size > 1000


@pytest.mark.slow
def test_profile_ops_runs_every_part():
    """The profiling tool (a developer's tool, not part of the published numbers)
    runs all its parts on a tiny setting and prints its tables."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.profile_ops",
        "--size=8",
        "--batch=4",
        "--reps=1",
        "--no-xla",
        "--seconds=0.05",
        "--rounds=1",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "| N=3 m=0.8 method=partition |" in out
    assert "| equalize | histogram |" in out
    assert "| default mix, N=3 |" in out and "families per slot" in out
    assert "| kernel | ms per call |" in out
    assert "us per node executed" in out


def test_policies_quick_run_writes_json_and_table(tmp_path, capsys):
    """`python -m benchmarks.policies`: this library's three other policies run in the
    harness; torchvision's are skipped with a reason where torch is missing. In this
    process (its `main`), to spare a second TensorFlow start."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks import policies

    ours = ["ours_trivial", "ours_auto", "ours_augmix"]
    peers = [] if _installed("torch") else ["torchvision_trivial", "torchvision_augmix"]
    argv = [
        "--quick",
        "--sizes=32",
        f"--variants={','.join(ours + peers)}",
        "--visits=1",
        "--windows=1",
        "--window-s=0.02",
        "--warmup=0",
        "--max-mb=1",
        f"--out-dir={tmp_path}",
        "--name=policies",
    ]
    assert policies.main(argv) == 0
    out, err = capsys.readouterr()
    result = json.loads((tmp_path / "policies.json").read_text())
    measured = {r["variant"] for r in result["records"]}
    skipped = {s["variant"] for s in result["skipped"]}
    assert set(ours) <= measured
    assert set(peers) <= skipped
    for s in result["skipped"]:
        assert s["reason"] and f"SKIP {s['label']}" in err
    for r in result["records"]:
        assert r["group"] == "policies" and r["size"] == 32 and r["steady"]["median"] > 0
    assert result["meta"]["targets"]["augmix"] == {"32": 2.0, "72": 2.0}
    assert "### Policies: steady state, images/s" in out
    assert "| randaugment trivial_augment |" in out
    assert "| randaugment aug_mix |" in out
