"""Metadata, the markdown report and the plot of a benchmark run."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path

# Targets of issue 6: (size, x keras_cv, x torchvision), steady state, N=3, m=0.8.
TARGETS = {32: (10.0, 3.0), 72: (5.0, 1.5), 224: (3.0, 0.75)}
OURS_MAIN = ("ours_n3m08", "ours_n3m08_xla")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:
        return ""


def _git_info(repo: Path) -> dict:
    """The commit measured. A `git archive` export (no .git) may carry it in a
    `.git-commit` file: the commit hash on the first line, its subject on the second."""
    if not (repo / ".git").exists() and (repo / ".git-commit").exists():
        lines = (repo / ".git-commit").read_text().splitlines() + ["", ""]
        return {
            "commit": lines[0].strip(),
            "subject": lines[1].strip(),
            "dirty": False,
            "export": True,
        }
    return {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "subject": _git(repo, "log", "-1", "--format=%s"),
        "dirty": bool(_git(repo, "status", "--porcelain", "--untracked-files=no")),
    }


def metadata(repo: Path, torch_versions: dict) -> dict:
    versions = {}
    for dist in (
        "tensorflow",
        "keras",
        "keras-cv",
        "tf-models-official",
        "tf-keras",
        "numpy",
        "torch",
        "torchvision",
        "randaugment",
    ):
        try:
            versions[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            versions[dist] = None
    versions.update({k: v for k, v in torch_versions.items() if v})
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "machine": {
            "cpu": _cpu_model(),
            "cores_available": cores,
            "cpu_count": os.cpu_count(),
            "memory_gib": _mem_gib(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "versions": versions,
        "git": _git_info(repo),
    }


# --------------------------------------------------------------------------
# Markdown


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 10_000:
        return f"{v / 1000:.1f}k"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(s: dict | None, unit: str = "window") -> str:
    if not s:
        return "-"
    if s["n"] == 1:
        return f"{fmt(s['median'])} (1 {unit})"
    return f"{fmt(s['median'])} ({fmt(s['min'])}-{fmt(s['max'])})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _by(records, group):
    return [r for r in records if r["group"] == group]


def _median(r, mode="steady"):
    s = r.get(mode) if r else None
    return s["median"] if s else None


def markdown(result: dict) -> str:
    meta, recs = result["meta"], result["records"]
    out = []
    main = _by(recs, "main")
    sizes = sorted({r["size"] for r in main})
    order: list[str] = []
    labels = {}
    for r in main:
        if r["variant"] not in order:
            order.append(r["variant"])
            labels[r["variant"]] = r["label"]
    get = {(r["variant"], r["size"]): r for r in main}
    b = main[0]["batch_size"] if main else None

    if main:
        out.append(f"### Steady state, images/s, batch {b}")
        out.append(
            "Median (min-max) over the timed windows of all visits (a visit: one fresh iterator, "
            "its first batch and warm-up batches not timed, then consecutive windows of "
            "batches).\n"
        )
        out.append(
            _table(
                ["variant"] + [f"{s}x{s}" for s in sizes],
                [
                    [labels[k]] + [cell((get.get((k, s)) or {}).get("steady")) for s in sizes]
                    for k in order
                ],
            )
        )

        out.append(
            "\n### Per epoch (a fresh iterator per pass over n images, timed from its creation "
            "to its end, as `fit` does each epoch)\n"
        )
        out.append(
            "images/s of the epochs after the first, the fixed cost per epoch in seconds "
            "(epoch time minus n / steady-state rate), then the first epoch's images/s (the "
            "first iterator of that dataset: first-use costs), and n.\n"
        )
        rows = []
        for k in order:
            row = [labels[k]]
            for s in sizes:
                r = get.get((k, s))
                cold = (r or {}).get("epoch_cold")
                cold_txt = f"first epoch {fmt(cold['rate'])}" if cold else ""
                if not (r and r.get("epoch") and r.get("steady")):
                    row.append(f"{cold_txt} [n={r['n_images']}]" if cold else "-")
                    continue
                overhead = r["epoch_seconds"]["median"] - r["n_images"] / r["steady"]["median"]
                row.append(
                    f"{cell(r['epoch'], 'epoch')}; +{overhead:.2f} s; {cold_txt} [n={r['n_images']}]"
                )
            rows.append(row)
        out.append(_table(["variant"] + [f"{s}x{s}" for s in sizes], rows))

        out.append(
            "\n### Time to the first batch, s: cold (first iterator of the run: first-use costs, XLA compile) / warm (median of later iterators)\n"
        )
        rows = []
        for k in order:
            row = [labels[k]]
            for s in sizes:
                r = get.get((k, s))
                if not r:
                    row.append("-")
                    continue
                warm = r["first_batch_warm_s"]["median"] if r.get("first_batch_warm_s") else None
                row.append(f"{fmt(r['first_batch_cold_s'])} / {fmt(warm)}")
            rows.append(row)
        out.append(_table(["variant"] + [f"{s}x{s}" for s in sizes], rows))

        # Targets
        rows = []
        for s in sizes:
            if s not in TARGETS:
                continue
            t_kcv, t_tv = TARGETS[s]
            kcv = _median(get.get(("keras_cv", s)))
            tv = _median(get.get(("torchvision", s)))
            for key in OURS_MAIN:
                o = _median(get.get((key, s)))
                if o is None:
                    continue
                rk = o / kcv if kcv else None
                rt = o / tv if tv else None
                met = []
                if rk is not None:
                    met.append("kcv " + ("met" if rk >= t_kcv else "MISSED"))
                if rt is not None:
                    met.append("tv " + ("met" if rt >= t_tv else "MISSED"))
                rows.append(
                    [
                        f"{s}x{s}",
                        labels.get(key, key),
                        fmt(o),
                        f"{rk:.2f}x (>= {t_kcv:g}x)" if rk is not None else "-",
                        f"{rt:.2f}x (>= {t_tv:g}x)" if rt is not None else "-",
                        ", ".join(met) or "-",
                    ]
                )
        if rows:
            out.append("\n### Targets of issue 6 (steady state, same run)\n")
            out.append(
                _table(
                    ["size", "ours", "images/s", "vs keras_cv", "vs torchvision", "verdict"], rows
                )
            )

    nops = _by(recs, "n_ops")
    if nops:
        size = nops[0]["size"]
        out.append(
            f"\n### Against N (number of ops per image), {size}x{size}, magnitude 0.8, batch {nops[0]['batch_size']}"
        )
        out.append("Per-op cost: (1/rate(N) - 1/rate(0)) / N, in microseconds per image.\n")
        ns = sorted({r["num_ops"] for r in nops})
        g = {(r["num_ops"], r["jit"]): r for r in nops}
        rows = []
        for n in ns:
            row = [str(n)]
            for jit in (False, True):
                r = g.get((n, jit))
                r0 = g.get((0, jit))
                row.append(cell(r["steady"]) if r else "-")
                if r and r0 and n > 0 and _median(r) and _median(r0):
                    row.append(f"{(1 / _median(r) - 1 / _median(r0)) / n * 1e6:.0f}")
                else:
                    row.append("-")
            rows.append(row)
        out.append(
            _table(
                ["N", "graph images/s", "graph us/op/img", "XLA images/s", "XLA us/op/img"], rows
            )
        )

    size_recs = _by(recs, "size") + [r for r in main if r["variant"] in ("floor",) + OURS_MAIN]
    if _by(recs, "size"):
        out.append(
            f"\n### Against image size (N=3, m=0.8, batch {b or size_recs[0]['batch_size']}; main-table sizes included)\n"
        )
        allsizes = sorted({r["size"] for r in size_recs})
        rows = []
        for key, lab in (
            ("floor", "floor (cast only)"),
            ("ours_n3m08", "graph"),
            ("ours_n3m08_xla", "XLA"),
        ):
            vals = {r["size"]: r for r in size_recs if r["variant"] == key}
            if vals:
                rows.append(
                    [lab] + [cell(vals[s]["steady"]) if s in vals else "-" for s in allsizes]
                )
        out.append(_table(["variant"] + [f"{s}x{s}" for s in allsizes], rows))
        rows = []
        for key, lab in (("ours_n3m08", "graph"), ("ours_n3m08_xla", "XLA")):
            vals = {r["size"]: r for r in size_recs if r["variant"] == key}
            if vals:
                rows.append(
                    [lab]
                    + [
                        f"{1e9 / _median(vals[s]) / (s * s):.1f}"
                        if s in vals and _median(vals[s])
                        else "-"
                        for s in allsizes
                    ]
                )
        out.append("\nCost in nanoseconds per pixel (1 / rate / pixels):\n")
        out.append(_table(["variant"] + [f"{s}x{s}" for s in allsizes], rows))

    swept = {r["batch_size"] for r in _by(recs, "batch")}
    batch = _by(recs, "batch") + [
        r
        for r in main
        if r["variant"] in OURS_MAIN
        and r["batch_size"] not in swept
        and r["size"] == (_by(recs, "batch") or [{"size": None}])[0]["size"]
    ]
    if _by(recs, "batch"):
        size = _by(recs, "batch")[0]["size"]
        out.append(f"\n### Against batch size ({size}x{size}, N=3, m=0.8)\n")
        bs = sorted({r["batch_size"] for r in batch})
        rows = []
        for key, lab in (("ours_n3m08", "graph"), ("ours_n3m08_xla", "XLA")):
            vals = {r["batch_size"]: r for r in batch if r["variant"] == key}
            if vals:
                rows.append([lab] + [cell(vals[x]["steady"]) if x in vals else "-" for x in bs])
        out.append(_table(["variant"] + [str(x) for x in bs], rows))

    model = _by(recs, "model")
    if model:
        size = model[0]["size"]
        out.append(
            f"\n### The RandAugment layer inside a model, fit() on CPU ({size}x{size}, batch {model[0]['batch_size']}, N=3, m=0.8)\n"
        )
        rows = [[r["label"], cell(r["steady"], "fit"), fmt(r["first_batch_cold_s"])] for r in model]
        out.append(_table(["model", "training images/s", "first fit step, s"], rows))

    if result["skipped"]:
        out.append("\n### Skipped\n")
        for s in result["skipped"]:
            out.append(f"- {s['label']} ({s['group']}): {s['reason']}")

    m, v, gt = meta["machine"], meta["versions"], meta["git"]
    out.append("\n### Run\n")
    out.append(
        f"- date: {meta['started_utc']} to {meta['finished_utc']} ({meta['wall_seconds']:.0f} s), load average at start {meta['loadavg_start'][0]:.2f}, at end {meta['loadavg_end'][0]:.2f}"
    )
    out.append(
        f"- machine: {m['cpu']}, {m['cores_available']} cores available, {m['memory_gib']} GiB, {m['platform']}, Python {m['python']}"
    )
    out.append("- versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val))
    out.append(
        f"- randaugment commit: {gt['commit'][:12]} ({gt['subject']})"
        + (" + local changes" if gt["dirty"] else "")
        + (", run from a `git archive` export of it" if gt.get("export") else "")
    )
    out.append(f"- settings: {' '.join(meta['argv']) or '(default)'}")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Plot


def plot(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    recs = result["records"]
    main = [r for r in _by(recs, "main") if r.get("steady")]
    panels = [g for g in ("n_ops", "size", "batch", "model") if _by(recs, g)]
    ncols = 2
    nrows = 1 + math_ceil(len(panels), ncols)
    fig = plt.figure(figsize=(13, 4.6 * nrows), constrained_layout=True)
    gs = fig.add_gridspec(nrows, ncols)
    m = result["meta"]
    fig.suptitle(
        f"RandAugment throughput, {m['machine']['cores_available']} cores ({m['machine']['cpu']}), "
        f"{m['started_utc'][:16].replace('T', ' ')} UTC; randaugment {m['git']['commit'][:8]}",
        fontsize=10,
    )

    ax = fig.add_subplot(gs[0, :])
    if main:
        sizes = sorted({r["size"] for r in main})
        keys = []
        for r in main:
            if r["variant"] not in keys:
                keys.append(r["variant"])
        get = {(r["variant"], r["size"]): r for r in main}
        width = 0.8 / len(keys)
        cmap = plt.get_cmap("tab20")
        for i, k in enumerate(keys):
            xs, ys, lo, hi = [], [], [], []
            for j, s in enumerate(sizes):
                r = get.get((k, s))
                if not r:
                    continue
                st = r["steady"]
                xs.append(j + (i - (len(keys) - 1) / 2) * width)
                ys.append(st["median"])
                lo.append(st["median"] - st["min"])
                hi.append(st["max"] - st["median"])
            lab = next(r["label"] for r in main if r["variant"] == k)
            hatch = "//" if k.startswith("ours") and k.endswith("_xla") else None
            ax.bar(
                xs,
                ys,
                width,
                yerr=[lo, hi],
                label=lab,
                color=cmap(i % 20),
                hatch=hatch,
                capsize=2,
                edgecolor="black",
                linewidth=0.4,
            )
        ax.set_xticks(range(len(sizes)), [f"{s}x{s}" for s in sizes])
        ax.set_yscale("log")
        ax.set_ylabel("images/s (steady state, median, min-max bars)")
        ax.set_title(
            f"tf.data pipelines, batch {main[0]['batch_size']}, N=3 magnitude 0.8 unless noted"
        )
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=3)

    for idx, g in enumerate(panels):
        ax = fig.add_subplot(gs[1 + idx // ncols, idx % ncols])
        rs = [r for r in _by(recs, g) if r.get("steady")]
        if g == "n_ops":
            for jit, lab in ((False, "graph"), (True, "XLA")):
                pts = sorted((r["num_ops"], r["steady"]) for r in rs if r["jit"] == jit)
                if pts:
                    ax.errorbar(
                        [p[0] for p in pts],
                        [p[1]["median"] for p in pts],
                        yerr=_err(pts),
                        marker="o",
                        label=lab,
                        capsize=3,
                    )
            ax.set_xlabel("N (ops per image)")
            ax.set_title(f"against N, {rs[0]['size']}x{rs[0]['size']}, magnitude 0.8")
            ax.set_yscale("log")
        elif g == "size":
            allr = rs + [r for r in main if r["variant"] in ("floor",) + OURS_MAIN]
            for key in ("floor",) + OURS_MAIN:
                pts = sorted((r["size"], r["steady"]) for r in allr if r["variant"] == key)
                if pts:
                    lab = next(r["label"] for r in allr if r["variant"] == key)
                    ax.errorbar(
                        [p[0] for p in pts],
                        [p[1]["median"] for p in pts],
                        yerr=_err(pts),
                        marker="o",
                        label=lab,
                        capsize=3,
                    )
            for key in ("keras_cv", "torchvision", "tfm"):
                pts = sorted((r["size"], r["steady"]) for r in main if r["variant"] == key)
                if pts:
                    lab = next(r["label"] for r in main if r["variant"] == key)
                    ax.plot(
                        [p[0] for p in pts],
                        [p[1]["median"] for p in pts],
                        marker="x",
                        linestyle="--",
                        label=lab,
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("image side (pixels)")
            ax.set_title("against image size, N=3 magnitude 0.8")
        elif g == "batch":
            swept = {r["batch_size"] for r in rs}
            allr = rs + [
                r
                for r in main
                if r["variant"] in OURS_MAIN
                and r["size"] == rs[0]["size"]
                and r["batch_size"] not in swept
            ]
            for key in OURS_MAIN:
                pts = sorted((r["batch_size"], r["steady"]) for r in allr if r["variant"] == key)
                if pts:
                    ax.errorbar(
                        [p[0] for p in pts],
                        [p[1]["median"] for p in pts],
                        yerr=_err(pts),
                        marker="o",
                        label="XLA" if key.endswith("xla") else "graph",
                        capsize=3,
                    )
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size")
            ax.set_title(f"against batch size, {rs[0]['size']}x{rs[0]['size']}, N=3")
        else:
            labels = [r["label"].replace(" in model, ", "\n") for r in rs]
            ys = [r["steady"]["median"] for r in rs]
            ax.barh(
                range(len(rs)),
                ys,
                xerr=_err([(0, r["steady"]) for r in rs]),
                capsize=3,
                color="tab:gray",
            )
            ax.set_yticks(range(len(rs)), labels, fontsize=8)
            ax.set_xscale("log")
            ax.set_xlabel("training images/s")
            ax.set_title(f"layer inside a model, fit(), {rs[0]['size']}x{rs[0]['size']}")
            ax.grid(axis="x", alpha=0.3)
            continue
        ax.set_ylabel("images/s")
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=8)
    np.seterr(all="ignore")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _err(pts):
    lo = [p[1]["median"] - p[1]["min"] for p in pts]
    hi = [p[1]["max"] - p[1]["median"] for p in pts]
    return [lo, hi]


def math_ceil(a: int, b: int) -> int:
    return -(-a // b)
