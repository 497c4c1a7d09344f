"""Command line: train every arm for every seed, evaluate on CIFAR-10 and CIFAR-10-C,
aggregate over seeds and write the report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from examples.cifar10.recipe import PRESETS, Recipe

DESCRIPTION = """\
Train one network per augmentation arm, for each seed from the same initial weights,
then report clean CIFAR-10 accuracy and CIFAR-10-C accuracy for every available
corruption and severity: mean and standard deviation over the seeds, and each arm minus
the reference arm (base, or simple when there is no base arm).

Arms: base = pad 4 + random crop + horizontal flip (the papers' CIFAR base; with
--no-base-augmentation, no augmentation); randaugment = this library's rand_augment
(then the crop and flip); simple = keras.io's flip, rotation 0.02, zoom 0.2 (after the
crop and flip); augmix = the library's aug_mix after the crop and flip (as
augmentation only, without the Jensen-Shannon consistency loss); augmix_jsd = AugMix as
its paper trains it: the clean view and two aug_mix views of every image in one forward
pass, cross-entropy of the clean view + 12 x their Jensen-Shannon consistency (a step
costs about three plain ones).

Presets: paper = the RandAugment and AugMix papers' CIFAR recipe at CPU scale (ResNet-8,
7 epochs, SGD + Nesterov, weight decay 5e-4, cosine with warm-up, crop + flip; measured
times in examples/README.md); keras-io = ResNet50V2
(weights=None) at 72x72 for 1 epoch with Adam, the published keras.io setting (hours on
a CPU); cpu = the first CPU run of this example (ResNet-14, 5 epochs, Adam, no crop).
Any flag given overrides the preset.
"""

EPILOG = """\
outputs (in --output-dir): results.json, results.md, accuracy_per_corruption.png,
difference_per_corruption.png, history.png, samples_<arm>.png, run.json, and per seed
seed_<s>/initial.weights.h5 and seed_<s>/<arm>/{train.json,result.json,model.keras,
samples.png}.
A (seed, arm) whose result.json exists is kept, not retrained: rerun with more --seeds or
--arms to extend a run (the recipe must be the same; run.json is checked), or with
--report-only to rewrite the report.

examples:
  python -m examples.cifar10 --preset paper --seeds 0,1,2 --data-dir /data --output-dir runs/paper
  python -m examples.cifar10 --preset paper --seeds 0,1,2 --arms augmix --output-dir runs/paper
  python -m examples.cifar10 --preset keras-io --cifar10c-dir /data/CIFAR-10-C
"""


def _preset_help() -> str:
    def show(v):
        return ",".join(v) if isinstance(v, tuple) else v

    return "; ".join(
        f"{name}: " + ", ".join(f"{k}={show(v)}" for k, v in values.items())
        for name, values in PRESETS.items()
    )


def parser() -> argparse.ArgumentParser:
    from examples.cifar10.cifar10c import ALL_CORRUPTIONS
    from examples.cifar10.models import MODELS

    p = argparse.ArgumentParser(
        prog="python -m examples.cifar10",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = p.add_argument_group("run")
    run.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="starting values of the flags below (default: paper). " + _preset_help(),
    )
    run.add_argument(
        "--arms",
        help="comma-separated arms to train: base, randaugment, simple, augmix, augmix_jsd "
        "(default: the preset's)",
    )
    run.add_argument(
        "--seeds",
        help="comma-separated seeds; each trains every arm once from its own initial weights "
        "(default: 0)",
    )
    run.add_argument("--seed", type=int, help="one seed (the same as --seeds N)")
    run.add_argument("--model", choices=sorted(MODELS), help="the network (tiny is for tests)")
    run.add_argument("--image-size", type=int, help="model input size; images are resized to it")
    run.add_argument("--epochs", type=int, help="training epochs for each model")
    run.add_argument(
        "--train-subset",
        type=int,
        help="train on the first N training images only (default: all 50000)",
    )
    run.add_argument(
        "--steps-per-epoch",
        type=int,
        help="batches per epoch (default: one pass over the training images)",
    )
    run.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    run.add_argument("--optimizer", choices=("adam", "sgd"), help="adam, or sgd (Nesterov 0.9)")
    run.add_argument(
        "--learning-rate", type=float, help="the constant rate, or the cosine schedule's peak"
    )
    run.add_argument("--schedule", choices=("constant", "cosine"), help="learning-rate schedule")
    run.add_argument(
        "--warmup-epochs", type=float, help="linear warm-up before the cosine decay, in epochs"
    )
    run.add_argument(
        "--weight-decay", type=float, help="L2 weight decay added to SGD's gradient (sgd only)"
    )
    run.add_argument(
        "--base-augmentation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pad 4 + random crop + horizontal flip for every arm (paper: on; keras-io, cpu: off)",
    )
    run.add_argument("--num-ops", type=int, help="RandAugment's N, ops per image")
    run.add_argument("--magnitude", type=float, help="RandAugment's magnitude in [0, 1]")
    run.add_argument(
        "--validation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="evaluate on the clean test set after every epoch (default: on)",
    )
    run.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=0,
        help="Keras fit verbosity: 0 (default) leaves the log to one line per epoch and a "
        "short line every 100 steps, 1 adds progress bars, 2 Keras' own epoch lines",
    )
    run.add_argument(
        "--train-only",
        action="store_true",
        help="train and save the models (seed_<s>/<arm>/train.json, model.keras) without "
        "evaluating; a later invocation without it evaluates them without training again",
    )
    run.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: aggregate the results already in --output-dir and rewrite the report",
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data-dir",
        help="folder holding cifar-10-batches-py/ (or cifar-10-python.tar.gz); default: "
        "download the official archive once into ~/.keras/datasets (md5 checked)",
    )
    data.add_argument(
        "--data-label",
        help="how the report names the CIFAR-10 data (default: from --data-dir or the URL)",
    )
    data.add_argument(
        "--cifar10c-dir",
        help="the released CIFAR-10-C folder (<corruption>.npy files and labels.npy)",
    )
    data.add_argument(
        "--cifar10c-source",
        choices=("auto", "folder", "tfds", "generate"),
        default="auto",
        help="where CIFAR-10-C comes from. auto (default): --cifar10c-dir when given "
        "(corruptions it lacks are generated), else tensorflow_datasets when installed, "
        "else generated locally from the test set (once, cached in "
        "<output-dir>/cifar10c-generated/)",
    )
    data.add_argument(
        "--cifar10c-seed",
        type=int,
        default=0,
        help="seed of locally generated corruptions, the same for every training seed (default 0)",
    )
    data.add_argument("--tfds-data-dir", help="tensorflow_datasets data folder (tfds source)")
    data.add_argument(
        "--corruptions",
        help="comma-separated corruptions to evaluate (default: all 19): "
        + ", ".join(ALL_CORRUPTIONS),
    )
    data.add_argument(
        "--severities",
        default="1,2,3,4,5",
        help="comma-separated severities to evaluate (default: 1,2,3,4,5)",
    )
    data.add_argument(
        "--eval-subset",
        type=int,
        help="evaluate CIFAR-10-C on the first N test images of each severity "
        "(clean accuracy always uses the whole test set)",
    )
    data.add_argument(
        "--eval-batch-size", type=int, default=500, help="evaluation batch size (default: 500)"
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--output-dir",
        default="runs/cifar10",
        help="where the results, figures and models go (default: runs/cifar10)",
    )
    out.add_argument(
        "--save-models",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="save each trained model as seed_<s>/<arm>/model.keras (default: on)",
    )
    return p


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    name = flag.lstrip("-").replace("-", "_")
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(
            f"{flag}: expected comma-separated integers. Received: {name}={text!r}"
        ) from None
    if len(set(values)) != len(values):
        raise SystemExit(f"{flag}: values repeat. Received: {name}={text!r}")
    return values


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the flags left unset from the preset and check the values.

    Raises:
        SystemExit: a bad value; the message names the flag and echoes the value.
    """
    from examples.cifar10.cifar10c import ALL_CORRUPTIONS
    from examples.cifar10.pipelines import ARMS

    for key, value in PRESETS[args.preset].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if isinstance(args.arms, str):
        arms = tuple(a.strip() for a in args.arms.split(","))
        unknown = [a for a in arms if a not in ARMS]
        if unknown or not arms or len(set(arms)) != len(arms):
            raise SystemExit(
                f"--arms: expected distinct names from {', '.join(ARMS)}. Received: "
                f"arms={args.arms!r}"
            )
        args.arms = arms
    if args.seeds is not None and args.seed is not None:
        raise SystemExit(
            f"give --seeds or --seed, not both. Received: seeds={args.seeds!r}, seed={args.seed}"
        )
    if args.seed is not None:
        args.seeds = (args.seed,)
    elif args.seeds is None:
        args.seeds = (0,)
    else:
        args.seeds = _int_list(args.seeds, "--seeds")
    if args.corruptions:
        names = tuple(c.strip() for c in args.corruptions.split(",") if c.strip())
        unknown = [c for c in names if c not in ALL_CORRUPTIONS]
        if unknown:
            raise SystemExit(
                f"--corruptions: unknown {', '.join(unknown)}; known: {', '.join(ALL_CORRUPTIONS)}. "
                f"Received: corruptions={args.corruptions!r}"
            )
        args.corruptions = names
    else:
        args.corruptions = ALL_CORRUPTIONS
    if isinstance(args.severities, str):
        try:
            severities = tuple(int(s) for s in args.severities.split(","))
        except ValueError:
            severities = ()
        if not severities or not set(severities) <= {1, 2, 3, 4, 5}:
            raise SystemExit(
                f"--severities: expected comma-separated integers 1..5. Received: "
                f"severities={args.severities!r}"
            )
        args.severities = severities
    for name in ("epochs", "image_size", "batch_size", "num_ops", "eval_batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(
                f"--{name.replace('_', '-')} must be at least 1. Received: "
                f"{name}={getattr(args, name)}"
            )
    for name in ("train_subset", "steps_per_epoch", "eval_subset"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise SystemExit(
                f"--{name.replace('_', '-')} must be at least 1. Received: {name}={value}"
            )
    if not 0.0 <= args.magnitude <= 1.0:
        raise SystemExit(f"--magnitude must be in [0, 1]. Received: magnitude={args.magnitude}")
    if args.learning_rate <= 0:
        raise SystemExit(
            f"--learning-rate must be positive. Received: learning_rate={args.learning_rate}"
        )
    if args.warmup_epochs < 0 or args.warmup_epochs >= args.epochs:
        raise SystemExit(
            f"--warmup-epochs must be in [0, epochs). Received: warmup_epochs="
            f"{args.warmup_epochs}, epochs={args.epochs}"
        )
    if args.weight_decay < 0 or (args.weight_decay and args.optimizer != "sgd"):
        raise SystemExit(
            "--weight-decay must be >= 0, and is for sgd only. Received: "
            f"weight_decay={args.weight_decay}, optimizer={args.optimizer!r}"
        )
    return args


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores, no GPU used, {platform.system()}"


def source_version() -> str:
    """The repository commit the run used, with "+ local changes" when the library or
    the example differ from it (``unknown`` outside a git checkout)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "randaugment", "examples"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not commit:
        return "unknown"
    return commit + (" + local changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = resolve(parser().parse_args(argv))
    from examples.cifar10.data import CifarFormatError, UnsafePickleError
    from examples.cifar10.runs import RunMismatchError

    try:
        run(args)
    except (CifarFormatError, UnsafePickleError, RunMismatchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # e.g. the augmix arm without randaugment.aug_mix
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def run_config(
    args: argparse.Namespace, recipe: Recipe, data_label: str, n_train: int, n_test: int
) -> dict:
    """What every (seed, arm) of a run directory must share (checked by ``runs``)."""
    return {
        "preset": args.preset,
        "recipe": recipe.shared_dict(),
        "train_examples": n_train,
        "test_examples": n_test,
        "dataset": data_label,
        "corruptions": list(args.corruptions),
        "severities": list(args.severities),
        "eval_subset": args.eval_subset,
        "cifar10c_source": args.cifar10c_source,
        "cifar10c_dir": str(args.cifar10c_dir) if args.cifar10c_dir else None,
        "cifar10c_seed": args.cifar10c_seed,
    }


def run(args: argparse.Namespace) -> dict:
    """Everything: data, training, evaluation, report. Returns the results dict."""
    import keras

    from examples.cifar10 import cifar10c, evaluation, pipelines, runs, training
    from examples.cifar10.data import CIFAR10_URL, load_cifar10

    start = time.perf_counter()
    output_dir = Path(args.output_dir)
    if args.report_only:
        results = runs.collect(output_dir)
        _write(results, output_dir)
        return results
    output_dir.mkdir(parents=True, exist_ok=True)
    training.seed_everything(args.seeds[0])  # deterministic kernels from here on
    recipe = Recipe.from_args(args)
    if set(pipelines.AUGMIX_ARMS) & set(args.arms):
        pipelines.augmix_fn()  # fail now, not after training the other arms

    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
    if args.train_subset is not None:
        x_train, y_train = x_train[: args.train_subset], y_train[: args.train_subset]
    data_label = args.data_label or (
        f"CIFAR-10 python version from {args.data_dir}"
        if args.data_dir
        else f"CIFAR-10 python version downloaded from {CIFAR10_URL}"
    )
    print(
        f"CIFAR-10: {len(x_train)} training and {len(x_test)} test images ({data_label})",
        flush=True,
    )
    config = run_config(args, recipe, data_label, len(x_train), len(x_test))
    runs.check_or_write_config(output_dir, config)

    # Open CIFAR-10-C before training, so that a bad folder fails in seconds.
    sources = cifar10c.open_sources(
        args.cifar10c_source,
        cifar10c_dir=args.cifar10c_dir,
        x_test=x_test,
        y_test=y_test,
        seed=args.cifar10c_seed,
        limit=args.eval_subset,
        names=args.corruptions,
        tfds_data_dir=args.tfds_data_dir,
        cache_dir=output_dir / "cifar10c-generated",
    )
    missing = {}
    for n in args.corruptions:
        if n not in sources:
            reasons = [getattr(s, "unavailable", {}).get(n) for s in set(sources.values())]
            missing[n] = next((r for r in reasons if r), "no source provides it")
            print(f"CIFAR-10-C: no source for {n}, left out: {missing[n]}", flush=True)

    validation = (
        pipelines.eval_dataset(
            x_test, y_test, batch_size=args.eval_batch_size, image_size=args.image_size
        )
        if args.validation
        else None
    )
    subset = args.eval_subset if args.eval_subset and args.eval_subset < len(x_test) else None
    ev = dict(batch_size=args.eval_batch_size, image_size=args.image_size)
    todo = [(s, a) for s in args.seeds for a in args.arms]
    for arm in args.arms:
        runs.check_arm_params(output_dir, arm, recipe.arm_params(arm))
    for i, (seed, arm) in enumerate(todo, 1):
        arm_dir = runs.arm_dir(output_dir, seed, arm)
        label = f"seed {seed} {arm}"
        if runs.has_result(output_dir, seed, arm):
            print(f"[{i}/{len(todo)}] seed {seed}, {arm}: result exists, kept", flush=True)
            continue
        if runs.has_trained(output_dir, seed, arm):
            if args.train_only:
                print(f"[{i}/{len(todo)}] seed {seed}, {arm}: trained, kept", flush=True)
                continue
            print(f"[{i}/{len(todo)}] {label}: trained earlier, evaluating", flush=True)
            record = runs.read_train(output_dir, seed, arm)
            model = keras.saving.load_model(arm_dir / runs.MODEL)
        else:
            print(f"[{i}/{len(todo)}] {label}", flush=True)
            model, record = _train_one(args, recipe, seed, arm, x_train, y_train, validation)
            if args.save_models or args.train_only:
                model.save(arm_dir / runs.MODEL)
            runs.write_train(output_dir, seed, arm, record)
            if args.train_only:
                keras.backend.clear_session()
                continue
        eval_start = time.perf_counter()
        clean = evaluation.accuracy(model, x_test, y_test, **ev)
        print(f"[{label}] clean: {100 * clean:.2f}% ({len(x_test)} test images)", flush=True)
        clean_subset = None
        if subset:
            clean_subset = evaluation.accuracy(model, x_test[:subset], y_test[:subset], **ev)
            print(f"[{label}] clean, first {subset} test images: {100 * clean_subset:.2f}%")
        corrupted, where, counts = evaluation.evaluate_corruptions(
            {arm: model}, sources, severities=args.severities, **ev
        )
        summary = evaluation.summarize(clean, corrupted[arm])
        if subset:
            summary["clean_eval_subset"] = clean_subset
        record["timing_seconds"]["evaluation"] = time.perf_counter() - eval_start
        runs.write_result(
            output_dir,
            seed,
            arm,
            {
                **record,
                "summary": summary,
                "corruptions": corrupted[arm],
                "cifar10c": {"sources": where, "images": counts, "missing": missing},
            },
        )
        keras.backend.clear_session()
    if args.train_only:
        print("Trained; run again without --train-only to evaluate and report.", flush=True)
        return {}
    results = runs.collect(output_dir)
    results["timing_seconds"]["this_invocation"] = time.perf_counter() - start
    _write(results, output_dir)
    return results


def _train_one(args, recipe, seed, arm, x_train, y_train, validation):
    """Train (seed, arm) from the seed's initial weights; write its sample grid.

    Returns:
        ``(model, record)``: the record is what ``train.json`` holds.
    """
    import numpy as np

    from examples.cifar10 import pipelines, reporting, runs
    from examples.cifar10.recipe import train_arm

    output_dir = Path(args.output_dir)
    arm_dir = runs.arm_dir(output_dir, seed, arm)
    initial = runs.initial_weights(output_dir, seed, recipe.build)
    arm_dir.mkdir(parents=True, exist_ok=True)
    grid_ds = pipelines.train_dataset(
        arm,
        x_train[: 4 * args.batch_size],
        y_train[: 4 * args.batch_size],
        batch_size=args.batch_size,
        image_size=args.image_size,
        seed=seed,
        num_ops=recipe.num_ops,
        magnitude=recipe.magnitude,
        base_augmentation=recipe.base_augmentation,
    )
    grid = next(iter(grid_ds))[0].numpy()
    title = f"{reporting.label(arm)} (seed {seed}, first images)"
    if pipelines.views(arm) > 1:  # one row per image: its views side by side
        views = np.split(grid, pipelines.views(arm))
        grid = np.stack(views, axis=1).reshape(-1, *grid.shape[1:])
        title = f"{reporting.label(arm)} (seed {seed}): clean, AugMix, AugMix"
    reporting.sample_grid(
        grid,
        title,
        arm_dir / reporting.SAMPLES_PNG,
    )
    trained = train_arm(
        recipe,
        arm,
        x_train,
        y_train,
        seed=seed,
        initial_weights=initial,
        validation_ds=validation,
        verbose=args.verbose,
        label=f"seed {seed} {arm}",
    )
    record = {
        "seed": seed,
        "arm": arm,
        "arm_params": recipe.arm_params(arm),
        "history": trained.history,
        "parameters": int(trained.model.count_params()),
        "timing_seconds": {"train": trained.seconds},
        "environment": environment(),
    }
    return trained.model, record


def environment() -> dict:
    import keras
    import tensorflow as tf

    return {
        "machine": machine(),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": source_version(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _write(results: dict, output_dir: Path) -> None:
    from examples.cifar10 import reporting

    # Round-trip through JSON so the markdown is written from exactly what is saved.
    results = json.loads(json.dumps(results))
    reporting.write_all(results, output_dir)
    print(f"Wrote {output_dir / reporting.RESULTS_MD} and the figures in {output_dir}", flush=True)
    print(reporting.markdown(results).split("## Per corruption")[0], flush=True)
