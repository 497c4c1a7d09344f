"""The outputs: results.json, results.md and the figures.

The markdown is written from the same dict as the JSON, so the two cannot disagree;
the tests check that anyway. Percentages are printed with two decimals, and
differences are RandAugment minus simple, in percentage points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from examples.cifar10.cifar10c import ALL_CORRUPTIONS, OVERLAPS_RANDAUGMENT
from examples.cifar10.evaluation import overlap_mark

LABELS = {"simple": "simple", "randaugment": "RandAugment"}
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
BAR_CHART = "accuracy_per_corruption.png"
HISTORY_PNG = "history.png"
HISTORY_JSON = "histories.json"


def samples_png(pipeline: str) -> str:
    return f"samples_{pipeline}.png"


def write_json(results: dict, output_dir: Path) -> Path:
    path = output_dir / RESULTS_JSON
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    return path


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def _diff(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{100 * (b - a):+.2f}"


def summary_rows(results: dict) -> list[tuple[str, float | None, float | None]]:
    """``(label, simple, randaugment)`` rows of the summary table."""
    s = results["models"]["simple"]["summary"]
    r = results["models"]["randaugment"]["summary"]
    n_bench, n_all = s["benchmark_count"], s["all_count"]
    rows = [("clean test accuracy", s["clean"], r["clean"])]
    if "clean_eval_subset" in s:
        rows.append(
            (
                f"clean, the first {results['cifar10c']['eval_subset']} test images (used "
                "for CIFAR-10-C)",
                s["clean_eval_subset"],
                r["clean_eval_subset"],
            )
        )
    if s["benchmark_mean"] is not None:
        rows.append(
            ("CIFAR-10-C mean, 15 benchmark corruptions", s["benchmark_mean"], r["benchmark_mean"])
        )
    elif n_bench:
        rows.append(
            (
                f"CIFAR-10-C mean, {n_bench} of the 15 benchmark corruptions",
                s["benchmark_available_mean"],
                r["benchmark_available_mean"],
            )
        )
    rows.append(
        (f"CIFAR-10-C mean, all {n_all} available corruptions", s["all_mean"], r["all_mean"])
    )
    for severity, value in s["per_severity"].items():
        rows.append((f"severity {severity}", value, r["per_severity"][severity]))
    if s["saturate_5"] is not None:
        rows.append(("saturate_5 (the keras.io number) *", s["saturate_5"], r["saturate_5"]))
    return rows


def corruption_rows(results: dict) -> list[tuple[str, float | None, float | None]]:
    s = results["models"]["simple"]["summary"]["per_corruption"]
    r = results["models"]["randaugment"]["summary"]["per_corruption"]
    return [(f"{n} {overlap_mark(n)}".strip(), s[n], r[n]) for n in ALL_CORRUPTIONS if n in s]


def block_rows(results: dict) -> list[tuple[str, float | None, float | None]]:
    s = results["models"]["simple"]["corruptions"]
    r = results["models"]["randaugment"]["corruptions"]
    return [(f"{n}_{sev}", s[n][sev], r[n][sev]) for n in ALL_CORRUPTIONS if n in s for sev in s[n]]


def _table(first: str, rows: list[tuple[str, float | None, float | None]]) -> list[str]:
    lines = [
        f"| {first} | simple (%) | RandAugment (%) | RandAugment - simple (points) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {label} | {_pct(a)} | {_pct(b)} | {_diff(a, b)} |" for label, a, b in rows]
    return lines


def losses(results: dict) -> list[str]:
    """Labels of the summary and per-corruption rows where RandAugment is not ahead."""
    rows = summary_rows(results) + corruption_rows(results)
    return [label for label, a, b in rows if a is not None and b is not None and b <= a]


def _counts(c10c: dict) -> str:
    counts = sorted(set(c10c.get("images", {}).values())) or [c10c["images_per_block"]]
    return " or ".join(str(c) for c in counts)


def markdown(results: dict) -> str:
    """results.md: both models side by side, the differences, and where RA loses."""
    cfg = results["config"]
    env = results["environment"]
    timing = results["timing_seconds"]
    c10c = results["cifar10c"]
    sources = sorted(set(c10c["sources"].values()))
    lines = [
        "# CIFAR-10 and CIFAR-10-C: simple augmentation vs RandAugment",
        "",
        f"- Data: {results['dataset']}.",
        f"- Model: {cfg['model']} at {cfg['image_size']}x{cfg['image_size']}, "
        f"{cfg['epochs']} epoch(s) of {cfg['steps_per_epoch']} steps, batch {cfg['batch_size']}, "
        f"Adam (learning rate {cfg['learning_rate']}), {cfg['train_examples']} training images, "
        f"seed {cfg['seed']}, preset `{cfg['preset']}`. Both models start from the same "
        "saved initial weights.",
        "- Pipelines: simple = flip, rotation 0.02, zoom 0.2 (Keras layers); "
        f"RandAugment = this library's `rand_augment`, N={cfg['num_ops']}, "
        f"magnitude {cfg['magnitude']}.",
        f"- CIFAR-10-C: {_counts(c10c)} images per corruption and severity, "
        f"from {'; '.join(sources) if sources else 'no source'}. "
        f"Clean accuracy on the {results['test_examples']} test images.",
        *[f"- Not evaluated: `{n}` ({why})." for n, why in c10c.get("missing", {}).items()],
        f"- Machine: {env['machine']}; {env['date_utc']}; training "
        f"{timing['train']['simple']:.0f} s (simple) + {timing['train']['randaugment']:.0f} s "
        f"(RandAugment), evaluation {timing['evaluation']:.0f} s, total {timing['total']:.0f} s; "
        f"code at {env.get('source', 'unknown')}.",
        "",
        "## Summary",
        "",
        *_table("metric", summary_rows(results)),
        "",
        "`*` marks corruptions that resemble RandAugment's own ops "
        f"({', '.join(OVERLAPS_RANDAUGMENT)}): training on brightness, contrast and color "
        "changes makes these corruptions partly in-distribution.",
        "",
        "## Where RandAugment does not beat the simple pipeline",
        "",
    ]
    lost = losses(results)
    if lost:
        lines.append(
            "RandAugment is below or equal to the simple pipeline on: "
            + ", ".join(f"`{label}`" for label in lost)
            + "."
        )
    else:
        lines.append("Nowhere in the summary or per-corruption tables of this run.")
    lines += [
        "",
        "## Per corruption (mean over severities)",
        "",
        *_table("corruption", corruption_rows(results)),
        "",
        "## Every corruption and severity",
        "",
        *_table("corruption_severity", block_rows(results)),
        "",
    ]
    return "\n".join(lines)


def write_markdown(results: dict, output_dir: Path) -> Path:
    path = output_dir / RESULTS_MD
    path.write_text(markdown(results))
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(results: dict, output_dir: Path) -> Path:
    """Grouped bars: clean and each corruption (mean over severities), both models."""
    plt = _pyplot()
    rows = [("clean", *summary_rows(results)[0][1:])] + corruption_rows(results)
    labels = [r[0] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.6 * len(rows) + 2), 4.5))
    for offset, (index, name) in zip(
        (-0.2, 0.2), enumerate(("simple", "randaugment")), strict=True
    ):
        values = [100 * (r[1 + index] or 0.0) for r in rows]
        ax.bar(x + offset, values, width=0.4, label=LABELS[name])
    ax.set_xticks(x, labels, rotation=60, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(
        f"{results['config']['model']}: CIFAR-10-C accuracy per corruption (* overlaps RandAugment)"
    )
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = output_dir / BAR_CHART
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sample_grid(images: np.ndarray, title: str, path: Path) -> Path:
    """A 3x3 grid of the first nine images (float or uint8 in [0, 255])."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(6, 6))
    for ax, image in zip(axes.flat[: len(images[:9])], images[:9], strict=True):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype(np.uint8))
        ax.axis("off")
    for ax in list(axes.flat)[len(images[:9]) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def history_plot(histories: Mapping[str, Mapping[str, list[float]]], output_dir: Path) -> Path:
    """Training and validation accuracy per epoch of both models."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, history in histories.items():
        epochs = np.arange(1, len(history.get("accuracy", [])) + 1)
        line = ax.plot(
            epochs, history.get("accuracy", []), marker="o", label=f"{LABELS[name]} train"
        )
        if "val_accuracy" in history:
            ax.plot(
                epochs,
                history["val_accuracy"],
                marker="s",
                linestyle="--",
                color=line[0].get_color(),
                label=f"{LABELS[name]} test",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = output_dir / HISTORY_PNG
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
