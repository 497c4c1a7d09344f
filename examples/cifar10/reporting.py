"""The outputs: results.md and the figures, written from the dict saved as results.json.

The markdown is written from the same dict as the JSON, so the two cannot disagree; the
tests check that anyway. Accuracies are printed in percent as ``mean ± std`` over the
seeds (just the mean for one seed); differences are ``arm - reference`` in percentage
points, averaged over the per-seed differences, in bold when they stand out of the
seed-to-seed spread (:func:`examples.cifar10.aggregate.exceeds_spread`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from examples.cifar10.aggregate import exceeds_spread
from examples.cifar10.cifar10c import ALL_CORRUPTIONS, OVERLAPS_RANDAUGMENT
from examples.cifar10.evaluation import overlap_mark

LABELS = {
    "base": "base",
    "randaugment": "RandAugment",
    "simple": "simple",
    "augmix": "AugMix",
    "augmix_jsd": "AugMix + JSD",
}
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
BAR_CHART = "accuracy_per_corruption.png"
DIFF_CHART = "difference_per_corruption.png"
HISTORY_PNG = "history.png"
SAMPLES_PNG = "samples.png"


def label(arm: str) -> str:
    return LABELS.get(arm, arm)


def samples_png(arm: str) -> str:
    return f"samples_{arm}.png"


def write_json(results: dict, output_dir: Path) -> Path:
    path = output_dir / RESULTS_JSON
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def _pct(stat: dict | None) -> str:
    if not stat or stat["mean"] is None:
        return "n/a"
    if stat["std"] is None:
        return f"{100 * stat['mean']:.2f}"
    return f"{100 * stat['mean']:.2f} ± {100 * stat['std']:.2f}"


def _diff(stat: dict | None) -> str:
    if not stat or stat["mean"] is None:
        return "n/a"
    text = f"{100 * stat['mean']:+.2f}"
    if stat["std"] is not None:
        text += f" ± {100 * stat['std']:.2f}"
    return f"**{text}**" if exceeds_spread(stat) else text


def summary_rows(results: dict) -> list[tuple[str, str]]:
    """``(row label, metric key)`` of the summary table."""
    keys = next(iter(results["aggregate"].values()))
    cfg = results["config"]
    rows = [("clean test accuracy", "clean")]
    if "clean_eval_subset" in keys:
        rows.append(
            (
                f"clean, the first {cfg['eval_subset']} test images (used for CIFAR-10-C)",
                "clean_eval_subset",
            )
        )
    n_bench = _count(results, "benchmark")
    if "benchmark_mean" in keys and keys["benchmark_mean"]["n"]:
        rows.append(("CIFAR-10-C mean, 15 benchmark corruptions", "benchmark_mean"))
    elif n_bench:
        rows.append(
            (
                f"CIFAR-10-C mean, {n_bench} of the 15 benchmark corruptions",
                "benchmark_available_mean",
            )
        )
    rows.append(
        (f"CIFAR-10-C mean, all {_count(results, 'all')} available corruptions", "all_mean")
    )
    for key in sorted(k for k in keys if k.startswith("severity_")):
        rows.append((f"severity {key.split('_')[1]}", key))
    if "saturate_5" in keys and keys["saturate_5"]["n"]:
        rows.append(("saturate_5 (the keras.io number) *", "saturate_5"))
    return rows


def _count(results: dict, which: str) -> int:
    from examples.cifar10.cifar10c import BENCHMARK_CORRUPTIONS

    keys = next(iter(results["aggregate"].values()))
    names = [k.split("/", 1)[1] for k in keys if k.startswith("corruption/")]
    return len([n for n in names if which == "all" or n in BENCHMARK_CORRUPTIONS])


def corruption_rows(results: dict) -> list[tuple[str, str]]:
    keys = next(iter(results["aggregate"].values()))
    return [
        (f"{n} {overlap_mark(n)}".strip(), f"corruption/{n}")
        for n in ALL_CORRUPTIONS
        if f"corruption/{n}" in keys
    ]


def block_rows(results: dict) -> list[tuple[str, str]]:
    keys = next(iter(results["aggregate"].values()))
    return [
        (f"{n}_{s}", f"block/{n}/{s}")
        for n in ALL_CORRUPTIONS
        for s in "12345"
        if f"block/{n}/{s}" in keys
    ]


def table(results: dict, first: str, rows: list[tuple[str, str]]) -> list[str]:
    """A markdown table: one column per arm, then one per difference with the reference."""
    arms = results["config"]["arms"]
    ref = results["config"]["reference"]
    diffs = [a for a in arms if a in results["differences"]]
    header = [first] + [f"{label(a)} (%)" for a in arms]
    header += [f"{label(a)} - {label(ref)} (points)" for a in diffs]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row_label, key in rows:
        cells = [_pct(results["aggregate"][a].get(key)) for a in arms]
        cells += [_diff(results["differences"][a].get(key)) for a in diffs]
        lines.append(f"| {row_label} | " + " | ".join(cells) + " |")
    return lines


def behind(results: dict, arm: str) -> list[str]:
    """Labels of the summary and per-corruption rows where ``arm`` is not ahead of the
    reference on average over the seeds."""
    diff = results["differences"][arm]
    rows = summary_rows(results) + corruption_rows(results)
    return [
        row_label
        for row_label, key in rows
        if key in diff and diff[key]["mean"] is not None and diff[key]["mean"] <= 0
    ]


def _recipe_line(cfg: dict) -> str:
    r = cfg["recipe"]
    if r["optimizer"] == "sgd":
        opt = (
            f"SGD, Nesterov momentum {r['momentum']}, L2 weight decay {r['weight_decay']:g}, "
            f"peak learning rate {r['learning_rate']:g}"
        )
    else:
        opt = f"Adam (learning rate {r['learning_rate']:g})"
    sched = (
        f"cosine decay after a {r['warmup_epochs']:g}-epoch linear warm-up"
        if r["schedule"] == "cosine"
        else "constant learning rate"
    )
    base = (
        "pad 4 + random crop + horizontal flip for every arm"
        if r["base_augmentation"]
        else "no crop or flip"
    )
    params = f", {cfg['parameters']:,} parameters" if cfg.get("parameters") else ""
    return (
        f"- Recipe (preset `{cfg['preset']}`): {r['model']}{params} at "
        f"{r['image_size']}x{r['image_size']}, {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}, batch {r['batch_size']}, "
        f"{opt}, {sched}; {base}; {cfg['train_examples']} training images. Within a seed "
        "every arm starts from the same saved initial weights and reads the same images in "
        "the same order" + (" with the same crops and flips." if r["base_augmentation"] else ".")
    )


def _arms_line(cfg: dict) -> str:
    r = cfg["recipe"]
    ra = cfg.get("arm_params", {}).get("randaugment", {})
    parts = {
        "base": "base = the crop and flip alone" if r["base_augmentation"] else "base = none",
        "randaugment": f"RandAugment = this library's `rand_augment`, N={ra.get('num_ops')}, "
        f"magnitude {ra.get('magnitude')}"
        + (", before the crop and flip" if r["base_augmentation"] else ""),
        "simple": "simple = keras.io's flip, rotation 0.02, zoom 0.2 (Keras layers)"
        + (", after the crop and flip" if r["base_augmentation"] else ""),
        "augmix": "AugMix = the library's `aug_mix` (severity 3, width 3, depth 1-3, alpha 1), "
        "no consistency loss",
        "augmix_jsd": "AugMix + JSD = the same `aug_mix` trained as its paper does: the "
        "clean view and two AugMix views of every image in one forward pass, cross-entropy "
        "of the clean view + 12 x the Jensen-Shannon consistency of the three "
        "(`randaugment.losses.AugMixConsistencyLoss`; its training accuracy is over the "
        "three views)",
    }
    return "- Arms: " + "; ".join(parts[a] for a in cfg["arms"]) + "."


def _code_line(results: dict) -> str:
    """The code every model was trained with: one commit, or each commit with the
    models trained at it (a run extended later has several; "+ local changes" means
    the tree had uncommitted changes under randaugment/ or examples/)."""
    models: dict[str, dict[str, list[str]]] = {}
    for seed, arms in (results.get("environments") or {}).items():
        for arm, env in arms.items():
            seeds = models.setdefault(env.get("source", "unknown"), {}).setdefault(arm, [])
            seeds.append(str(seed))
    if len(models) <= 1:
        return f"code at {next(iter(models), results['environment'].get('source', 'unknown'))}"
    parts = [
        f"{source} ("
        + "; ".join(f"{label(arm)} seed {', '.join(seeds)}" for arm, seeds in arms.items())
        + ")"
        for source, arms in models.items()
    ]
    return "code per model: " + ", ".join(parts)


def _timing_line(results: dict) -> str:
    t = results["timing_seconds"]
    per_arm: dict[str, list[float]] = {}
    for arms in t["per_seed"].values():
        for arm, v in arms.items():
            per_arm.setdefault(arm, []).append(v["train"])
    train = ", ".join(f"{label(a)} {np.mean(v):.0f} s" for a, v in per_arm.items())
    return (
        f"- Time: training {t['train_total'] / 60:.1f} min and evaluation "
        f"{t['evaluation_total'] / 60:.1f} min in all (mean training time per model: {train})."
    )


def markdown(results: dict) -> str:
    """results.md: every arm side by side, the differences, and where each arm is behind."""
    cfg = results["config"]
    env = results["environment"]
    c10c = results["cifar10c"]
    ref = cfg["reference"]
    seeds = cfg["seeds"]
    sources = sorted(set(c10c["sources"].values()))
    counts = sorted(set(c10c["images"].values())) or [c10c["images_per_block"]]
    names = " vs ".join(label(a) for a in cfg["arms"])
    lines = [
        f"# CIFAR-10 and CIFAR-10-C: {names}",
        "",
        f"- Data: {results['dataset']}.",
        _recipe_line(cfg),
        _arms_line(cfg),
        f"- Seeds: {', '.join(map(str, seeds))} ({len(seeds)}); every number is the mean "
        + (
            "± the standard deviation over the seeds (sample, ddof=1)."
            if len(seeds) > 1
            else "of one seed."
        )
        + (
            f" Differences are {', '.join(label(a) for a in results['differences'])} minus "
            f"{label(ref)}, per seed, then averaged; **bold** when every seed agrees on the "
            "sign and the mean is more than twice the standard deviation of the per-seed "
            "differences."
            if results["differences"]
            else ""
        ),
        f"- CIFAR-10-C: {' or '.join(map(str, counts))} images per corruption and severity, "
        f"from {'; '.join(sources) if sources else 'no source'}. "
        f"Clean accuracy on the {results.get('test_examples') or 'whole'} test images.",
        *[f"- Not evaluated: `{n}` ({why})." for n, why in c10c.get("missing", {}).items()],
        f"- Machine: {env['machine']}; TensorFlow {env['tensorflow']}, Keras {env['keras']}; "
        f"first model trained {env['date_utc']}; {_code_line(results)}.",
        _timing_line(results),
        "",
        "## Summary",
        "",
        *table(results, "metric", summary_rows(results)),
        "",
        "`*` marks corruptions that resemble RandAugment's own ops "
        f"({', '.join(OVERLAPS_RANDAUGMENT)}: its brightness, contrast and color ops), so "
        "they are partly in-distribution for RandAugment.",
        "",
    ]
    for arm in results["differences"]:
        lines += [f"## Where {label(arm)} is not ahead of {label(ref)}", ""]
        lost = behind(results, arm)
        if lost:
            lines.append(
                f"On average over the seeds, {label(arm)} is below or equal to {label(ref)} on: "
                + ", ".join(f"`{x}`" for x in lost)
                + "."
            )
        else:
            lines.append("Nowhere in the summary or per-corruption tables of this run.")
        lines.append("")
    lines += [
        "## Per corruption (mean over severities)",
        "",
        *table(results, "corruption", corruption_rows(results)),
        "",
        "## Every corruption and severity",
        "",
        *table(results, "corruption_severity", block_rows(results)),
        "",
        "## Per seed",
        "",
        *per_seed_table(results),
        "",
    ]
    return "\n".join(lines)


def per_seed_table(results: dict) -> list[str]:
    """Clean accuracy and the corruption means of every (seed, arm)."""
    keys = [(lbl, key) for lbl, key in summary_rows(results) if not key.startswith("severity")]
    lines = [
        "| seed | arm | " + " | ".join(lbl for lbl, _ in keys) + " |",
        "|---|---|" + "---:|" * len(keys),
    ]
    for seed, arms in results["per_seed"].items():
        for arm in results["config"]["arms"]:
            if arm not in arms:
                continue
            s = arms[arm]["summary"]
            cells = ["n/a" if s.get(key) is None else f"{100 * s[key]:.2f}" for _, key in keys]
            lines.append(f"| {seed} | {label(arm)} | " + " | ".join(cells) + " |")
    return lines


def write_markdown(results: dict, output_dir: Path) -> Path:
    path = output_dir / RESULTS_MD
    path.write_text(markdown(results))
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _err(stat: dict | None) -> float:
    return 0.0 if not stat or stat["std"] is None else 100 * stat["std"]


def _mean(stat: dict | None) -> float:
    return 0.0 if not stat or stat["mean"] is None else 100 * stat["mean"]


def _grouped_bars(plt, results: dict, series: list[tuple[str, dict, str]]):
    """A figure of grouped bars with error bars: clean and each corruption (mean over
    severities) on the x axis, one bar per ``(arm, stats by row key, legend label)``,
    coloured by the arm's place in the run's arms (the same colour in every chart)."""
    rows = [("clean", "clean")] + corruption_rows(results)
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(8, 0.65 * len(rows) + 2), 4.8))
    for i, (arm, by_key, legend) in enumerate(series):
        stats = [by_key.get(key) for _, key in rows]
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            [_mean(s) for s in stats],
            width=width,
            yerr=[_err(s) for s in stats],
            capsize=2,
            label=legend,
            color=f"C{results['config']['arms'].index(arm)}",
        )
    ax.set_xticks(x, [r[0] for r in rows], rotation=60, ha="right")
    return fig, ax


def bar_chart(results: dict, output_dir: Path) -> Path:
    """Grouped bars: clean and each corruption (mean over severities), every arm, with
    error bars of one standard deviation over the seeds."""
    plt = _pyplot()
    arms = results["config"]["arms"]
    fig, ax = _grouped_bars(
        plt, results, [(arm, results["aggregate"][arm], label(arm)) for arm in arms]
    )
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 20))
    n = len(results["config"]["seeds"])
    ax.set_title(
        f"{results['config']['recipe']['model']}: accuracy per corruption, mean over severities"
        + (f" and {n} seeds\n(error bars: ± 1 std over the seeds)" if n > 1 else "")
        + "; * resembles a RandAugment op",
        fontsize=10,
    )
    ax.legend(ncol=len(arms), loc="upper center", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = output_dir / BAR_CHART
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def difference_chart(results: dict, output_dir: Path) -> Path | None:
    """Each arm minus the reference, per corruption, with ± 1 std of the per-seed
    differences: the chart to read first."""
    if not results["differences"]:
        return None
    plt = _pyplot()
    reference = label(results["config"]["reference"])
    fig, ax = _grouped_bars(
        plt,
        results,
        [
            (arm, stats, f"{label(arm)} - {reference}")
            for arm, stats in results["differences"].items()
        ],
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("difference (percentage points)")
    n = len(results["config"]["seeds"])
    ax.set_title(
        "Accuracy difference per corruption, mean over severities"
        + (f" and {n} seeds\n(error bars: ± 1 std of the per-seed differences)" if n > 1 else "")
        + "; * resembles a RandAugment op",
        fontsize=10,
    )
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = output_dir / DIFF_CHART
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


def history_plot(results: dict, output_dir: Path) -> Path:
    """Training and test accuracy per epoch of every arm, mean over the seeds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, arm in enumerate(results["config"]["arms"]):
        runs = [h[arm] for h in results["histories"].values() if arm in h]
        for metric, style, what in (("accuracy", "-", "train"), ("val_accuracy", "--", "test")):
            curves = [r[metric] for r in runs if metric in r]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            mean = np.mean([c[:length] for c in curves], axis=0)
            ax.plot(
                np.arange(1, length + 1),
                mean,
                linestyle=style,
                marker="o" if what == "train" else "s",
                color=f"C{i}",
                label=f"{label(arm)} {what}",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy" + (" (mean over seeds)" if len(results["histories"]) > 1 else ""))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = output_dir / HISTORY_PNG
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_all(results: dict, output_dir: Path) -> None:
    """results.json, results.md, the charts, and each arm's sample grid of the first seed."""
    output_dir = Path(output_dir)
    write_json(results, output_dir)
    write_markdown(results, output_dir)
    bar_chart(results, output_dir)
    difference_chart(results, output_dir)
    history_plot(results, output_dir)
    first = str(results["config"]["seeds"][0])
    for arm in results["config"]["arms"]:
        grid = output_dir / f"seed_{first}" / arm / SAMPLES_PNG
        if grid.is_file():
            shutil.copyfile(grid, output_dir / samples_png(arm))
