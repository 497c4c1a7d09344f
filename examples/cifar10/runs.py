"""The run directory: one folder per seed and arm, so runs can be resumed and extended.

Layout of ``--output-dir``::

    run.json                        what every (seed, arm) shares: recipe, data, evaluation
    seed_<s>/initial.weights.h5     the seed's initial weights, loaded by every arm
    seed_<s>/<arm>/train.json       history, timing and the arm's own settings
    seed_<s>/<arm>/result.json      the same, with clean and corrupted accuracy
    seed_<s>/<arm>/model.keras      the trained model (unless --no-save-models)
    seed_<s>/<arm>/samples.png      the first training images as the arm sees them

A (seed, arm) with a ``result.json`` is done: a later invocation with the same recipe
keeps it, trains what is missing (another arm, another seed) from the saved initial
weights, and aggregates everything present. One with ``train.json`` and ``model.keras``
but no ``result.json`` (``--train-only``, or an interrupted evaluation) is evaluated
without training again. A different recipe is refused (:class:`RunMismatchError`), and
so are different settings of one arm across seeds (RandAugment's N and M), so results
from different recipes are never averaged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from examples.cifar10 import aggregate

RUN_JSON = "run.json"
RESULT_JSON = "result.json"
TRAIN_JSON = "train.json"
MODEL = "model.keras"


class RunMismatchError(ValueError):
    """The output directory holds a run with a different recipe or evaluation."""


def seed_dir(output_dir: Path, seed: int) -> Path:
    return Path(output_dir) / f"seed_{seed}"


def arm_dir(output_dir: Path, seed: int, arm: str) -> Path:
    return seed_dir(output_dir, seed) / arm


def has_result(output_dir: Path, seed: int, arm: str) -> bool:
    return (arm_dir(output_dir, seed, arm) / RESULT_JSON).is_file()


def has_trained(output_dir: Path, seed: int, arm: str) -> bool:
    folder = arm_dir(output_dir, seed, arm)
    return (folder / TRAIN_JSON).is_file() and (folder / MODEL).is_file()


def _write(folder: Path, name: str, record: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.partial"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, folder / name)
    return folder / name


def write_result(output_dir: Path, seed: int, arm: str, result: dict) -> Path:
    """Write ``result.json`` of (seed, arm) atomically (a crash leaves no half file)."""
    return _write(arm_dir(output_dir, seed, arm), RESULT_JSON, result)


def write_train(output_dir: Path, seed: int, arm: str, record: dict) -> Path:
    """Write ``train.json`` of (seed, arm): what training produced, before evaluation."""
    return _write(arm_dir(output_dir, seed, arm), TRAIN_JSON, record)


def read_train(output_dir: Path, seed: int, arm: str) -> dict:
    return json.loads((arm_dir(output_dir, seed, arm) / TRAIN_JSON).read_text())


def check_arm_params(output_dir: Path, arm: str, params: dict) -> None:
    """Refuse settings of ``arm`` that differ from those of its other seeds.

    Raises:
        RunMismatchError: the message names the seed, the old and the given values.
    """
    params = json.loads(json.dumps(params))
    for folder in sorted(Path(output_dir).glob(f"seed_*/{arm}")):
        for name in (RESULT_JSON, TRAIN_JSON):
            path = folder / name
            if path.is_file():
                old = json.loads(path.read_text()).get("arm_params", {})
                if old != params:
                    raise RunMismatchError(
                        f"{path} trained the {arm} arm with {old}; seeds of one arm must share "
                        f"its settings. Use another --output-dir. Received: {params}"
                    )
                break


def initial_weights(output_dir: Path, seed: int, build: Callable) -> Path:
    """The seed's initial weights: built from the seed and saved on first use, then
    loaded by every arm of that seed (also by arms added in a later invocation)."""
    import keras

    from examples.cifar10.training import INITIAL_WEIGHTS, save_initial_weights

    path = seed_dir(output_dir, seed) / INITIAL_WEIGHTS
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        keras.utils.set_random_seed(seed)
        save_initial_weights(build, path)
    return path


def check_or_write_config(output_dir: Path, config: dict) -> None:
    """Write ``run.json``, or check that the existing one has the same values.

    Raises:
        RunMismatchError: a key differs; the message names it with both values.
    """
    path = Path(output_dir) / RUN_JSON
    config = json.loads(json.dumps(config))
    if path.is_file():
        previous = json.loads(path.read_text())
        changed = [
            k for k in sorted(set(previous) | set(config)) if previous.get(k) != config.get(k)
        ]
        if changed:
            details = "; ".join(
                f"{k}: {previous.get(k)!r} in {path}. Received: {k}={config.get(k)!r}"
                for k in changed
            )
            raise RunMismatchError(
                f"{output_dir} holds a run with a different setup, so its results cannot be "
                f"combined with this one ({details}). Use another --output-dir, or the same "
                "settings to extend the run."
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")


def load_results(output_dir: Path) -> dict[str, dict[str, dict]]:
    """``{seed: {arm: result}}`` of every ``seed_<s>/<arm>/result.json`` present."""
    from examples.cifar10.pipelines import ARMS

    out: dict[str, dict[str, dict]] = {}
    seeds = sorted(
        (p for p in Path(output_dir).glob("seed_*") if p.is_dir()),
        key=lambda p: int(p.name.split("_", 1)[1]),
    )
    for folder in seeds:
        seed = folder.name.split("_", 1)[1]
        for arm in ARMS:
            path = folder / arm / RESULT_JSON
            if path.is_file():
                out.setdefault(seed, {})[arm] = json.loads(path.read_text())
    return out


def reference_arm(arms: list[str]) -> str | None:
    """``base`` when present, else ``simple`` (the keras-io and cpu presets), else none."""
    for candidate in ("base", "simple"):
        if candidate in arms:
            return candidate
    return None


def collect(output_dir: Path) -> dict:
    """Everything in the run directory, aggregated: the content of ``results.json``.

    Raises:
        RunMismatchError: no ``run.json`` or no result in ``output_dir``.
    """
    from examples.cifar10.cifar10c import OVERLAPS_RANDAUGMENT
    from examples.cifar10.pipelines import ARMS

    path = Path(output_dir) / RUN_JSON
    if not path.is_file():
        raise RunMismatchError(f"{output_dir} holds no {RUN_JSON}: not a run directory")
    config = json.loads(path.read_text())
    per_seed = load_results(output_dir)
    if not per_seed:
        raise RunMismatchError(f"{output_dir} holds no seed_<s>/<arm>/{RESULT_JSON} yet")
    present = {a for arms in per_seed.values() for a in arms}
    arms = [a for a in ARMS if a in present]
    reference = reference_arm(arms)
    if reference is not None:
        arms = [reference] + [a for a in arms if a != reference]
    by_arm, differences = aggregate.aggregate(per_seed, arms, reference)
    arm_params: dict[str, dict] = {}
    for seed, arms_ in per_seed.items():
        for arm, r in arms_.items():
            params = r.get("arm_params", {})
            if arm_params.setdefault(arm, params) != params:
                raise RunMismatchError(
                    f"{output_dir}: the {arm} arm has settings {arm_params[arm]} in one seed "
                    f"and {params} in seed {seed}; they cannot be averaged"
                )
    first = next(iter(next(iter(per_seed.values())).values()))
    sources: dict[str, str] = {}
    images: dict[str, int] = {}
    missing: dict[str, str] = {}
    for arms_ in per_seed.values():
        for r in arms_.values():
            sources.update(r["cifar10c"]["sources"])
            images.update(r["cifar10c"]["images"])
            missing.update(r["cifar10c"]["missing"])
    timing = {
        seed: {arm: r["timing_seconds"] for arm, r in arms_.items()}
        for seed, arms_ in per_seed.items()
    }
    return {
        "dataset": config["dataset"],
        "test_examples": config.get("test_examples"),
        "config": {
            **config,
            "seeds": [int(s) for s in per_seed],
            "arms": arms,
            "reference": reference,
            "arm_params": {a: arm_params[a] for a in arms},
            "parameters": first.get("parameters"),
        },
        "cifar10c": {
            "images_per_block": max(images.values(), default=0),
            "eval_subset": config.get("eval_subset"),
            "images": images,
            "sources": sources,
            "missing": missing,
            "overlaps_randaugment": list(OVERLAPS_RANDAUGMENT),
        },
        "environment": first["environment"],
        "environments": {
            seed: {arm: r["environment"] for arm, r in arms_.items()}
            for seed, arms_ in per_seed.items()
        },
        "timing_seconds": {
            "per_seed": timing,
            "train_total": sum(t["train"] for s in timing.values() for t in s.values()),
            "evaluation_total": sum(t["evaluation"] for s in timing.values() for t in s.values()),
        },
        "per_seed": {
            seed: {
                arm: {"summary": r["summary"], "corruptions": r["corruptions"]}
                for arm, r in a.items()
            }
            for seed, a in per_seed.items()
        },
        "aggregate": by_arm,
        "differences": differences,
        "histories": {
            seed: {arm: r["history"] for arm, r in a.items()} for seed, a in per_seed.items()
        },
    }
