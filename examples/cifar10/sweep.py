"""Choose RandAugment's N and magnitude on a held-out part of the training set.

    python -m examples.cifar10.sweep --data-dir DIR --output-dir runs/sweep \\
        [--num-ops 1,2,3] [--magnitudes 0.3,0.5,0.7] [--holdout 5000] [--seed 0]

The last ``--holdout`` training images are set aside; every point trains the preset's
recipe (``paper`` by default: crop and flip, SGD, cosine) on the others, from the same
initial weights, and is scored by its accuracy on the held-out images. The test set is
never read. ``base`` (crop and flip without RandAugment) is trained too, as the
reference. Each point is saved as soon as it is trained (``points/<name>.json``), so an
interrupted sweep resumes where it stopped; ``sweep.json``, ``sweep.md`` and
``sweep.png`` are rewritten after every point.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from examples.cifar10.recipe import PRESETS, Recipe

SWEEP_JSON = "sweep.json"
SWEEP_MD = "sweep.md"
SWEEP_PNG = "sweep.png"


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(
            f"--{name}: expected comma-separated integers. Received: {name.replace('-', '_')}={text!r}"
        ) from None
    if not values or min(values) < 1:
        raise SystemExit(
            f"--{name}: expected integers >= 1. Received: {name.replace('-', '_')}={text!r}"
        )
    return values


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(
            f"--{name}: expected comma-separated numbers in [0, 1]. Received: {name}={text!r}"
        ) from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise SystemExit(f"--{name}: expected numbers in [0, 1]. Received: {name}={text!r}")
    return values


def _point(text: str) -> tuple[int, float]:
    try:
        n, m = text.split(":")
        n, m = int(n), float(m)
    except ValueError:
        raise SystemExit(
            f"--points: expected N:magnitude pairs. Received: points item {text!r}"
        ) from None
    if n < 1 or not 0.0 <= m <= 1.0:
        raise SystemExit(
            f"--points: N >= 1 and magnitude in [0, 1]. Received: points item {text!r}"
        )
    return n, m


def point_name(num_ops: int | None, magnitude: float | None) -> str:
    """``base`` for the reference, else e.g. ``n2_m0.5``."""
    return "base" if num_ops is None else f"n{num_ops}_m{magnitude:g}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m examples.cifar10.sweep",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data-dir", help="folder holding cifar-10-batches-py/ (default: download)")
    p.add_argument("--data-label", help="how the report names the data")
    p.add_argument("--output-dir", default="runs/sweep", help="default: runs/sweep")
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="paper", help="the recipe (default: paper)"
    )
    p.add_argument("--num-ops", default="1,2,3", help="values of N (default: 1,2,3)")
    p.add_argument(
        "--magnitudes", default="0.3,0.5,0.7", help="magnitudes in [0, 1] (default: 0.3,0.5,0.7)"
    )
    p.add_argument(
        "--holdout",
        type=int,
        default=5000,
        help="the last N training images are the validation set (default: 5000)",
    )
    p.add_argument(
        "--points",
        help="explicit (N, magnitude) points in this order, e.g. 2:0.5,1:0.5 (instead of the "
        "grid of --num-ops and --magnitudes)",
    )
    p.add_argument("--seed", type=int, default=0, help="initial weights, order, draws (default 0)")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--model", help="override the preset's network")
    p.add_argument("--train-subset", type=int, help="train on the first N non-held-out images")
    p.add_argument("--steps-per-epoch", type=int, help="batches per epoch (default: one pass)")
    p.add_argument("--batch-size", type=int, default=128, help="default: 128")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=0, help="Keras fit verbosity")
    return p


def run(args: argparse.Namespace) -> dict:
    import keras

    from examples.cifar10 import evaluation, training
    from examples.cifar10.data import load_cifar10

    num_ops = _ints(args.num_ops, "num-ops")
    magnitudes = _floats(args.magnitudes, "magnitudes")
    preset = PRESETS[args.preset]
    values = {f.name: preset.get(f.name) for f in dataclasses.fields(Recipe) if f.name in preset}
    values.update(batch_size=args.batch_size, steps_per_epoch=args.steps_per_epoch)
    for key in ("epochs", "model"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    recipe = Recipe(**values)
    if not recipe.base_augmentation:
        print("note: this preset has no base augmentation", flush=True)

    out = Path(args.output_dir)
    (out / "points").mkdir(parents=True, exist_ok=True)
    (x_train, y_train), _ = load_cifar10(args.data_dir)
    if not 0 < args.holdout < len(x_train):
        raise SystemExit(
            f"--holdout must be between 1 and {len(x_train) - 1}. Received: holdout={args.holdout}"
        )
    x_fit, y_fit = x_train[: -args.holdout], y_train[: -args.holdout]
    x_val, y_val = x_train[-args.holdout :], y_train[-args.holdout :]
    if args.train_subset:
        x_fit, y_fit = x_fit[: args.train_subset], y_fit[: args.train_subset]
    data_label = args.data_label or (args.data_dir or "CIFAR-10 (downloaded)")
    print(
        f"sweep: {len(x_fit)} training images, {len(x_val)} held-out validation images "
        f"(the last {args.holdout} of the training set; {data_label})",
        flush=True,
    )
    training.seed_everything(args.seed)
    initial = out / f"initial_seed{args.seed}.weights.h5"
    if not initial.exists():
        training.save_initial_weights(recipe.build, initial)
    setup = {
        "recipe": recipe.to_dict(),
        "seed": args.seed,
        "holdout": args.holdout,
        "train_examples": len(x_fit),
        "data": data_label,
    }
    setup_path = out / "setup.json"
    if setup_path.exists():
        previous = json.loads(setup_path.read_text())
        changed = sorted(k for k in setup if previous.get(k) != setup[k])
        if changed:
            raise SystemExit(
                f"{out} holds a sweep with a different setup ({', '.join(changed)}); "
                f"use another --output-dir. Received: {', '.join(f'{k}={setup[k]!r}' for k in changed)}"
            )
    setup_path.write_text(json.dumps(setup, indent=2) + "\n")

    if args.points:
        grid = [_point(text) for text in args.points.split(",")]
    else:
        grid = [(n, m) for n in num_ops for m in magnitudes]
    points = [(None, None)] + grid
    start = time.perf_counter()
    for i, (n, m) in enumerate(points, 1):
        name = point_name(n, m)
        path = out / "points" / f"{name}.json"
        if path.exists():
            print(f"[{i}/{len(points)}] {name}: already done, kept", flush=True)
            continue
        point_recipe = recipe if n is None else dataclasses.replace(recipe, num_ops=n, magnitude=m)
        arm = "base" if n is None else "randaugment"
        trained = _train(point_recipe, arm, x_fit, y_fit, args, initial, name)
        acc = evaluation.accuracy(
            trained.model, x_val, y_val, batch_size=500, image_size=recipe.image_size
        )
        record = {
            "name": name,
            "num_ops": n,
            "magnitude": m,
            "holdout_accuracy": acc,
            "train_accuracy_last_epoch": trained.history["accuracy"][-1],
            "history": trained.history,
            "train_seconds": trained.seconds,
        }
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(
            f"[{i}/{len(points)}] {name}: held-out accuracy {100 * acc:.2f}% "
            f"(training accuracy {100 * record['train_accuracy_last_epoch']:.2f}%, "
            f"{trained.seconds:.0f} s; sweep {time.perf_counter() - start:.0f} s so far)",
            flush=True,
        )
        keras.backend.clear_session()
        write_report(out)
    return write_report(out)


def _train(recipe, arm, x, y, args, initial, name):
    from examples.cifar10.recipe import train_arm

    return train_arm(
        recipe, arm, x, y, seed=args.seed, initial_weights=initial, verbose=args.verbose, label=name
    )


def load_points(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "points").glob("*.json"))]


def summarize(points: list[dict], setup: dict) -> dict:
    """The table of points, the best RandAugment point and its margin over base."""
    base = next((p for p in points if p["num_ops"] is None), None)
    grid = [p for p in points if p["num_ops"] is not None]
    best = max(grid, key=lambda p: p["holdout_accuracy"], default=None)
    holdout = setup["holdout"]
    # Binomial standard error of one accuracy on the held-out images (sampling only;
    # the training noise of one seed comes on top of it).
    se = None
    if best is not None:
        a = best["holdout_accuracy"]
        se = (a * (1 - a) / holdout) ** 0.5
    return {
        "setup": setup,
        "points": points,
        "base": base["holdout_accuracy"] if base else None,
        "best": best and {k: best[k] for k in ("name", "num_ops", "magnitude", "holdout_accuracy")},
        "binomial_standard_error_of_best": se,
    }


def markdown(summary: dict) -> str:
    setup, points = summary["setup"], summary["points"]
    r = setup["recipe"]
    grid = [p for p in points if p["num_ops"] is not None]
    ns = sorted({p["num_ops"] for p in grid})
    ms = sorted({p["magnitude"] for p in grid})
    by = {(p["num_ops"], p["magnitude"]): p for p in grid}
    lines = [
        "# RandAugment sweep on a held-out split",
        "",
        f"- Data: {setup['data']}; trained on {setup['train_examples']} training images, "
        f"scored on the last {setup['holdout']} training images (never the test set).",
        f"- Recipe: {r['model']}, {r['epochs']} epochs, batch {r['batch_size']}, "
        f"{r['optimizer']} (peak learning rate {r['learning_rate']}, {r['schedule']}, "
        f"warm-up {r['warmup_epochs']} epoch, weight decay {r['weight_decay']}), "
        f"base augmentation {'pad 4 + crop + flip' if r['base_augmentation'] else 'none'}; "
        f"seed {setup['seed']}, the same initial weights for every point.",
        "",
    ]
    if grid:
        lines += [
            "Held-out accuracy (%), RandAugment N (rows) by magnitude (columns):",
            "",
            "| N \\ magnitude | " + " | ".join(f"{m:g}" for m in ms) + " |",
            "|---|" + "---:|" * len(ms),
        ]
    for n in ns:
        cells = [f"{100 * by[(n, m)]['holdout_accuracy']:.2f}" if (n, m) in by else "" for m in ms]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    if summary["base"] is not None:
        lines += ["", f"base (crop and flip, no RandAugment): {100 * summary['base']:.2f}%."]
    if summary["best"]:
        b = summary["best"]
        lines += [
            "",
            f"Best: N={b['num_ops']}, magnitude {b['magnitude']:g}, "
            f"{100 * b['holdout_accuracy']:.2f}% (binomial standard error of one score on "
            f"{setup['holdout']} images: {100 * summary['binomial_standard_error_of_best']:.2f} "
            "points; one seed, so training noise comes on top)."
            + (
                f" No RandAugment point is above base ({100 * summary['base']:.2f}%)."
                if summary["base"] is not None and summary["base"] >= b["holdout_accuracy"]
                else ""
            ),
        ]
    lines += [
        "",
        "| point | held-out accuracy (%) | training accuracy, last epoch (%) | train time (s) |",
        "|---|---:|---:|---:|",
    ]
    for p in points:
        lines.append(
            f"| {p['name']} | {100 * p['holdout_accuracy']:.2f} | "
            f"{100 * p['train_accuracy_last_epoch']:.2f} | {p['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def chart(summary: dict, path: Path) -> Path:
    """Held-out accuracy against magnitude, one line per N, base as a dashed line."""
    from examples.cifar10.reporting import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = [p for p in summary["points"] if p["num_ops"] is not None]
    for n in sorted({p["num_ops"] for p in grid}):
        pts = sorted(
            (p["magnitude"], 100 * p["holdout_accuracy"]) for p in grid if p["num_ops"] == n
        )
        ax.plot([a for a, _ in pts], [b for _, b in pts], marker="o", label=f"RandAugment N={n}")
    if summary["base"] is not None:
        ax.axhline(
            100 * summary["base"], color="gray", linestyle="--", label="base (no RandAugment)"
        )
    ax.set_xlabel("magnitude")
    ax.set_ylabel(f"held-out accuracy (%), {summary['setup']['holdout']} images")
    ax.set_title(f"RandAugment sweep, {summary['setup']['recipe']['model']}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(out: Path) -> dict:
    setup = json.loads((out / "setup.json").read_text())
    summary = summarize(load_points(out), setup)
    (out / SWEEP_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (out / SWEEP_MD).write_text(markdown(summary))
    if summary["points"]:
        chart(summary, out / SWEEP_PNG)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    summary = run(args)
    print(markdown(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
