"""--seeds aggregation against hand-computed means and standard deviations, and the
tables written from it."""

from __future__ import annotations

import json

import pytest

from examples.cifar10 import aggregate, reporting, runs
from examples.cifar10.evaluation import summarize

# Hand-chosen accuracies per seed: clean, fog severity 1, fog severity 2.
VALUES = {
    "base": {"clean": (0.50, 0.60, 0.70), "fog1": (0.40, 0.40, 0.40), "fog2": (0.20, 0.30, 0.40)},
    "randaugment": {
        "clean": (0.55, 0.70, 0.70),
        "fog1": (0.50, 0.52, 0.48),
        "fog2": (0.30, 0.30, 0.30),
    },
}


def fake_result(arm: str, seed: int) -> dict:
    v = VALUES[arm]
    corruptions = {"fog": {"1": v["fog1"][seed], "2": v["fog2"][seed]}}
    summary = json.loads(json.dumps(summarize(v["clean"][seed], corruptions)))
    return {
        "seed": seed,
        "arm": arm,
        "summary": summary,
        "corruptions": corruptions,
        "history": {"accuracy": [0.3, 0.4], "val_accuracy": [0.3, 0.35]},
        "parameters": 123,
        "cifar10c": {"sources": {"fog": "folder x"}, "images": {"fog": 10}, "missing": {}},
        "timing_seconds": {"train": 10.0 + seed, "evaluation": 2.0},
        "environment": {
            "machine": "test machine",
            "date_utc": "today",
            "source": "abc1234",
            "python": "3",
            "tensorflow": "2",
            "keras": "3",
        },
    }


@pytest.fixture
def run_dir(tmp_path):
    recipe = {
        "model": "tiny",
        "image_size": 32,
        "epochs": 2,
        "batch_size": 8,
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "schedule": "cosine",
        "warmup_epochs": 0.5,
        "weight_decay": 5e-4,
        "base_augmentation": True,
        "num_ops": 2,
        "magnitude": 0.5,
        "momentum": 0.9,
        "steps_per_epoch": None,
    }
    runs.check_or_write_config(
        tmp_path,
        {
            "preset": "paper",
            "recipe": recipe,
            "train_examples": 100,
            "test_examples": 50,
            "dataset": "hand-made",
            "eval_subset": None,
        },
    )
    for seed in range(3):
        for arm in ("randaugment", "base"):
            runs.write_result(tmp_path, seed, arm, fake_result(arm, seed))
    return tmp_path


def test_stats_by_hand():
    s = aggregate.stats([0.5, 0.6, 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(0.1) and s["n"] == 3
    one = aggregate.stats([0.25])
    assert one["mean"] == 0.25 and one["std"] is None
    assert aggregate.stats([])["mean"] is None


def test_aggregate_by_hand(run_dir):
    results = runs.collect(run_dir)
    assert results["config"]["arms"] == ["base", "randaugment"]  # the reference first
    assert results["config"]["seeds"] == [0, 1, 2]
    base, ra = results["aggregate"]["base"], results["aggregate"]["randaugment"]
    assert base["clean"]["mean"] == pytest.approx(0.60)
    assert base["clean"]["std"] == pytest.approx(0.10)
    assert base["clean"]["values"] == pytest.approx([0.5, 0.6, 0.7])
    # RandAugment clean 0.55, 0.70, 0.70: mean 0.65, std sqrt((0.01 + 2 * 0.0025) / 2).
    assert ra["clean"]["mean"] == pytest.approx(0.65)
    assert ra["clean"]["std"] == pytest.approx(0.0075**0.5)
    # fog over its two severities: base 0.30, 0.35, 0.40; RandAugment 0.40, 0.41, 0.39.
    assert base["corruption/fog"]["mean"] == pytest.approx(0.35)
    assert base["corruption/fog"]["std"] == pytest.approx(0.05)
    assert ra["corruption/fog"]["mean"] == pytest.approx(0.40)
    assert ra["corruption/fog"]["std"] == pytest.approx(0.01)
    assert base["severity_2"]["mean"] == pytest.approx(0.30)
    assert base["block/fog/2"]["std"] == pytest.approx(0.10)
    # Differences per seed, then statistics: clean 0.05, 0.10, 0.00.
    d = results["differences"]["randaugment"]
    assert d["clean"]["values"] == pytest.approx([0.05, 0.10, 0.00])
    assert d["clean"]["mean"] == pytest.approx(0.05) and d["clean"]["std"] == pytest.approx(0.05)
    # fog_1: 0.10, 0.12, 0.08 -> mean 0.10, std 0.02; fog: 0.10, 0.06, -0.01.
    assert d["block/fog/1"]["mean"] == pytest.approx(0.10)
    assert d["block/fog/1"]["std"] == pytest.approx(0.02)
    assert d["corruption/fog"]["values"] == pytest.approx([0.10, 0.06, -0.01])
    assert "base" not in results["differences"]
    assert results["timing_seconds"]["train_total"] == pytest.approx(2 * (10 + 11 + 12))


def test_exceeds_spread():
    assert aggregate.exceeds_spread(aggregate.stats([0.10, 0.12, 0.08]))  # 0.10 > 2 x 0.02
    assert not aggregate.exceeds_spread(aggregate.stats([0.05, 0.10, 0.00]))  # a zero
    assert not aggregate.exceeds_spread(aggregate.stats([0.10, 0.06, -0.01]))  # signs differ
    assert not aggregate.exceeds_spread(aggregate.stats([0.01, 0.10, 0.01]))  # 0.04 < 2 x 0.052
    assert not aggregate.exceeds_spread(aggregate.stats([0.3]))  # one seed


def test_markdown_cells_by_hand(run_dir):
    results = json.loads(json.dumps(runs.collect(run_dir)))
    text = reporting.markdown(results)
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| metric")
    }
    assert rows["clean test accuracy"] == ["60.00 ± 10.00", "65.00 ± 8.66", "+5.00 ± 5.00"]
    assert rows["fog_1"] == ["40.00 ± 0.00", "50.00 ± 2.00", "**+10.00 ± 2.00**"]
    assert rows["fog"] == ["35.00 ± 5.00", "40.00 ± 1.00", "+5.00 ± 5.57"]
    assert "RandAugment - base (points)" in text
    # Per seed: every (seed, arm) with its own clean accuracy.
    assert "| 2 | RandAugment | 70.00 |" in text
    # Where RandAugment is not ahead: severity 2 only (0.10, 0.00, -0.10: mean 0).
    assert "RandAugment is below or equal to base on: `severity 2`." in text
    reporting.write_all(results, run_dir)
    for name in (
        "results.md",
        "results.json",
        "accuracy_per_corruption.png",
        "difference_per_corruption.png",
        "history.png",
    ):
        assert (run_dir / name).is_file(), name


def test_sweep_summary_by_hand(tmp_path):
    from examples.cifar10 import sweep

    setup = {
        "recipe": {
            "model": "tiny",
            "epochs": 2,
            "batch_size": 8,
            "optimizer": "sgd",
            "learning_rate": 0.1,
            "schedule": "cosine",
            "warmup_epochs": 0.5,
            "weight_decay": 5e-4,
            "base_augmentation": True,
        },
        "seed": 0,
        "holdout": 5000,
        "train_examples": 45000,
        "data": "hand-made",
    }
    points = [
        (None, None, 0.70),
        (1, 0.3, 0.72),
        (2, 0.5, 0.74),
        (2, 0.3, 0.73),
    ]
    (tmp_path / "points").mkdir()
    (tmp_path / "setup.json").write_text(json.dumps(setup))
    for n, m, acc in points:
        name = sweep.point_name(n, m)
        record = {
            "name": name,
            "num_ops": n,
            "magnitude": m,
            "holdout_accuracy": acc,
            "train_accuracy_last_epoch": acc - 0.01,
            "history": {},
            "train_seconds": 1.0,
        }
        (tmp_path / "points" / f"{name}.json").write_text(json.dumps(record))
    summary = sweep.write_report(tmp_path)
    assert summary["base"] == 0.70
    assert summary["best"] == {"name": "n2_m0.5", "num_ops": 2, "magnitude": 0.5,
                               "holdout_accuracy": 0.74}  # fmt: skip
    # sqrt(0.74 * 0.26 / 5000) = 0.0062
    assert summary["binomial_standard_error_of_best"] == pytest.approx(0.0062032, abs=1e-6)
    text = (tmp_path / "sweep.md").read_text()
    assert "| 2 | 73.00 | 74.00 |" in text and "| 1 | 72.00 |  |" in text
    assert "Best: N=2, magnitude 0.5, 74.00%" in text
    assert (tmp_path / "sweep.png").is_file()
    with pytest.raises(SystemExit, match="Received: points item '2-0.5'"):
        sweep._point("2-0.5")
    with pytest.raises(SystemExit, match="Received: magnitudes='0.3,2'"):
        sweep._floats("0.3,2", "magnitudes")


def test_the_report_names_the_code_of_every_model(run_dir):
    """One commit for every model: one name. A run extended at later commits (or with
    uncommitted changes) names each, with the models trained at it."""
    results = json.loads(json.dumps(runs.collect(run_dir)))
    assert "code at abc1234." in reporting.markdown(results)
    envs = results["environments"]
    envs["1"]["randaugment"]["source"] = "def5678 + local changes"
    envs["2"]["randaugment"]["source"] = "def5678 + local changes"
    line = next(x for x in reporting.markdown(results).splitlines() if x.startswith("- Machine"))
    assert line.endswith(
        "code per model: abc1234 (base seed 0, 1, 2; RandAugment seed 0), "
        "def5678 + local changes (RandAugment seed 1, 2)."
    ), line
