"""Command line: train both pipelines, evaluate on CIFAR-10 and CIFAR-10-C, write the report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

PRESETS: dict[str, dict] = {
    # The published keras.io run.
    "keras-io": {
        "model": "resnet50v2",
        "image_size": 72,
        "epochs": 1,
        "train_subset": None,
        "eval_subset": None,
        "learning_rate": 1e-3,
    },
    # Chosen by measurement on 2 shared CPU cores (see examples/README.md).
    "cpu": {
        "model": "resnet14",
        "image_size": 32,
        "epochs": 5,
        "train_subset": None,
        "eval_subset": 2000,
        "learning_rate": 1e-3,
    },
}

DESCRIPTION = """\
Train one network twice from the same initial weights, once with a simple augmentation
(flip, rotation 0.02, zoom 0.2) and once with RandAugment (this library's rand_augment in
tf.data), then report clean CIFAR-10 accuracy and CIFAR-10-C accuracy for every available
corruption and severity, side by side.

Presets: keras-io = ResNet50V2 (weights=None) at 72x72 for 1 epoch, the published
keras.io setting (hours on a CPU); cpu = a small CIFAR ResNet at 32x32 for a few epochs,
sized for a 2-core CPU. Any flag given overrides the preset.
"""

EPILOG = """\
outputs (in --output-dir): results.json, results.md, accuracy_per_corruption.png,
samples_simple.png, samples_randaugment.png, histories.json, history.png,
initial.weights.h5, model_simple.keras, model_randaugment.keras.

examples:
  python -m examples.cifar10 --preset cpu --data-dir /data --output-dir runs/cpu
  python -m examples.cifar10 --preset keras-io --cifar10c-dir /data/CIFAR-10-C
"""


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
        default="cpu",
        help="starting values for --model, --image-size, --epochs, --train-subset, "
        "--eval-subset and --learning-rate (default: cpu). "
        + "; ".join(
            f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            for name, values in PRESETS.items()
        ),
    )
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
    run.add_argument("--learning-rate", type=float, help="Adam's learning rate")
    run.add_argument(
        "--num-ops", type=int, default=3, help="RandAugment's N, ops per image (default: 3)"
    )
    run.add_argument(
        "--magnitude",
        type=float,
        default=0.8,
        help="RandAugment's magnitude in [0, 1] (default: 0.8, as keras.io)",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="fixes the initial weights, the data order, the augmentation and the "
        "generated corruptions (default: 0)",
    )
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
        default=1,
        help="Keras fit verbosity: 1 progress bars (default), 2 one line per epoch, 0 silent",
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
        "else generated locally from the test set",
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
        help="save both trained models as .keras files (default: on)",
    )
    return p


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the flags left unset from the preset and check the values."""
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.corruptions:
        args.corruptions = tuple(c.strip() for c in args.corruptions.split(",") if c.strip())
    else:
        from examples.cifar10.cifar10c import ALL_CORRUPTIONS

        args.corruptions = ALL_CORRUPTIONS
    try:
        args.severities = tuple(int(s) for s in args.severities.split(",") if s.strip())
    except ValueError:
        raise SystemExit(f"--severities: expected integers 1..5, got {args.severities!r}") from None
    if not set(args.severities) <= {1, 2, 3, 4, 5}:
        raise SystemExit(f"--severities: expected integers 1..5, got {args.severities!r}")
    for name in ("epochs", "image_size", "batch_size", "num_ops", "eval_batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if not 0.0 <= args.magnitude <= 1.0:
        raise SystemExit(f"--magnitude must be in [0, 1], got {args.magnitude}")
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

    try:
        run(args)
    except (CifarFormatError, UnsafePickleError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def run(args: argparse.Namespace) -> dict:
    """Everything: data, training, evaluation, report. Returns the results dict."""
    import keras
    import tensorflow as tf

    from examples.cifar10 import cifar10c, evaluation, pipelines, reporting, training
    from examples.cifar10.data import CIFAR10_URL, load_cifar10
    from examples.cifar10.models import build_model

    start = time.perf_counter()
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    training.seed_everything(args.seed)

    (x_train, y_train), (x_test, y_test) = load_cifar10(args.data_dir)
    if args.train_subset is not None:
        x_train, y_train = x_train[: args.train_subset], y_train[: args.train_subset]
    data_label = args.data_label or (
        f"CIFAR-10 python version from {args.data_dir}"
        if args.data_dir
        else f"CIFAR-10 python version downloaded from {CIFAR10_URL}"
    )
    print(f"CIFAR-10: {len(x_train)} training and {len(x_test)} test images ({data_label})")
    # Open CIFAR-10-C before training, so that a bad folder fails in seconds.
    sources = cifar10c.open_sources(
        args.cifar10c_source,
        cifar10c_dir=args.cifar10c_dir,
        x_test=x_test,
        y_test=y_test,
        seed=args.seed,
        limit=args.eval_subset,
        names=args.corruptions,
        tfds_data_dir=args.tfds_data_dir,
    )
    missing = {}
    for n in args.corruptions:
        if n not in sources:
            reasons = [getattr(s, "unavailable", {}).get(n) for s in set(sources.values())]
            missing[n] = next((r for r in reasons if r), "no source provides it")
            print(f"CIFAR-10-C: no source for {n}, left out: {missing[n]}")

    steps = args.steps_per_epoch or training.steps_per_epoch(len(x_train), args.batch_size)
    # Enough passes for epochs * steps batches, whatever --steps-per-epoch is.
    passes = -(-args.epochs * steps // training.steps_per_epoch(len(x_train), args.batch_size))
    ds_options = dict(
        batch_size=args.batch_size,
        image_size=args.image_size,
        seed=args.seed,
        num_ops=args.num_ops,
        magnitude=args.magnitude,
    )

    def build() -> keras.Model:
        return build_model(args.model, args.image_size)

    initial = training.save_initial_weights(build, output_dir)
    validation = (
        pipelines.eval_dataset(
            x_test, y_test, batch_size=args.eval_batch_size, image_size=args.image_size
        )
        if args.validation
        else None
    )
    trained = {}
    for name in pipelines.PIPELINES:
        keras.utils.set_random_seed(args.seed)
        ds = pipelines.train_dataset(name, x_train, y_train, epochs=passes, **ds_options)
        # The first training batch. The order and RandAugment's seeds are stateless,
        # so a second iterator gives the batch training will see; the simple
        # pipeline's Keras layers draw from a stateful generator: it gets its own copy.
        shown = (
            ds
            if name == "randaugment"
            else pipelines.train_dataset(name, x_train, y_train, epochs=1, **ds_options)
        )
        reporting.sample_grid(
            next(iter(shown))[0].numpy(),
            f"{reporting.LABELS[name]} pipeline",
            output_dir / reporting.samples_png(name),
        )
        trained[name] = training.train(
            name,
            build,
            initial,
            ds,
            epochs=args.epochs,
            steps_per_epoch=steps,
            validation_ds=validation,
            learning_rate=args.learning_rate,
            verbose=args.verbose,
        )
    training.save_histories(trained, output_dir / reporting.HISTORY_JSON)
    if args.save_models:
        for name, t in trained.items():
            t.model.save(output_dir / f"model_{name}.keras")

    eval_start = time.perf_counter()
    models = {name: t.model for name, t in trained.items()}
    ev = dict(batch_size=args.eval_batch_size, image_size=args.image_size)
    clean = {name: evaluation.accuracy(m, x_test, y_test, **ev) for name, m in models.items()}
    for name, acc in clean.items():
        print(f"clean: {name} {100 * acc:.2f}% ({len(x_test)} test images)")
    subset = args.eval_subset if args.eval_subset and args.eval_subset < len(x_test) else None
    clean_subset = {}
    if subset:
        clean_subset = {
            name: evaluation.accuracy(m, x_test[:subset], y_test[:subset], **ev)
            for name, m in models.items()
        }
        for name, acc in clean_subset.items():
            print(f"clean, first {subset} test images: {name} {100 * acc:.2f}%")
    corrupted, where, counts = evaluation.evaluate_corruptions(
        models, sources, severities=args.severities, **ev
    )
    eval_seconds = time.perf_counter() - eval_start

    model_results = {}
    for name in models:
        summary = evaluation.summarize(clean[name], corrupted[name])
        if subset:
            summary["clean_eval_subset"] = clean_subset[name]
        model_results[name] = {"summary": summary, "corruptions": corrupted[name]}
    results = {
        "dataset": data_label,
        "test_examples": int(len(x_test)),
        "config": {
            "preset": args.preset,
            "model": args.model,
            "parameters": int(models["simple"].count_params()),
            "image_size": args.image_size,
            "epochs": args.epochs,
            "steps_per_epoch": steps,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "optimizer": "adam",
            "train_examples": int(len(x_train)),
            "num_ops": args.num_ops,
            "magnitude": args.magnitude,
            "seed": args.seed,
            "severities": list(args.severities),
            "argv": sys.argv[1:],
        },
        "cifar10c": {
            "images_per_block": max(counts.values(), default=0),
            "eval_subset": subset,
            "images": counts,
            "sources": where,
            "missing": missing,
            "overlaps_randaugment": list(cifar10c.OVERLAPS_RANDAUGMENT),
        },
        "environment": {
            "machine": machine(),
            "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "source": source_version(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "timing_seconds": {
            "train": {name: t.seconds for name, t in trained.items()},
            "evaluation": eval_seconds,
            "total": time.perf_counter() - start,
        },
        "models": model_results,
        "histories": {name: t.history for name, t in trained.items()},
    }
    # Round-trip through JSON so the markdown is written from exactly what is saved.
    results = json.loads(json.dumps(results))
    reporting.write_json(results, output_dir)
    reporting.write_markdown(results, output_dir)
    reporting.bar_chart(results, output_dir)
    reporting.history_plot(results["histories"], output_dir)
    print(f"Wrote {output_dir / reporting.RESULTS_MD} and the figures in {output_dir}")
    print(reporting.markdown(results).split("## Per corruption")[0])
    return results
