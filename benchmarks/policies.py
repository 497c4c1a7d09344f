"""Images per second of the other policies: this library's `trivial_augment`,
`auto_augment(policy="imagenet")` and `aug_mix` beside torchvision's
`TrivialAugmentWide`, `AutoAugment(IMAGENET)` and `AugMix`, and Keras 3's
`keras.layers.AugMix`.

    python -m benchmarks.policies            # 32, 72 and 224: about 6-10 min on 2 cores
    python -m benchmarks.policies --quick    # one short visit per point: about 2-4 min

The protocol and the harness are `benchmarks.throughput`'s (uint8 images in memory,
batch 128, `map` with `AUTOTUNE`, steady-state windows in interleaved visits;
torchvision in its child process, a `DataLoader` with 2 workers). Each library keeps
its defaults (severity 3, width 3, depth -1 for AugMix) apart from the fill (128
everywhere) and AugMix's op list (the paper's, `all_ops=False`, everywhere). Only
steady state is measured (no per-epoch passes). Peers that are missing are skipped
with a `SKIP` line, as in `benchmarks.throughput`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import report, throughput, variants
from benchmarks.throughput import Data, Point, TorchClient, log, run_points, settings_from_args

GROUP = "policies"
# Steady-state images/s of ours over torchvision's, per policy and size (issue 14).
TARGETS = {
    "trivial": {32: 3.0, 72: 3.0, 224: 1.0},
    "auto": {32: 3.0, 72: 3.0, 224: 1.0},
    "augmix": {32: 2.0, 72: 2.0},
}


def _settings(a):
    """`benchmarks.throughput`'s settings for the same flags, for this group only."""
    base = argparse.Namespace(
        quick=a.quick,
        sizes=a.sizes or "32,72,224",
        variants=None,
        groups="none",
        n_ops=None,
        sweep_sizes=None,
        sweep_batches=None,
        batch_size=a.batch_size,
        visits=a.visits,
        windows=a.windows,
        window_s=a.window_s,
        warmup=a.warmup,
        time_limit=a.time_limit,
        max_mb=a.max_mb,
        data=a.data,
        seed=a.seed,
        no_epoch=True,
    )
    st = settings_from_args(base)
    if a.time_limit is None:
        st.time_limit = 300.0 if a.quick else 900.0
    st.variant_keys = list(variants.POLICY_VARIANTS)
    if a.variants:
        st.variant_keys = [v.strip() for v in a.variants.split(",") if v.strip()]
        unknown = set(st.variant_keys) - set(variants.POLICY_VARIANTS)
        if unknown:
            raise SystemExit(
                f"unknown variants {sorted(unknown)}; known: {list(variants.POLICY_VARIANTS)}"
            )
    return st


def _median(record):
    return record["steady"]["median"] if record and record.get("steady") else None


def markdown(result: dict) -> str:
    recs = [r for r in result["records"] if r["group"] == GROUP]
    sizes = sorted({r["size"] for r in recs})
    order = list(dict.fromkeys(r["variant"] for r in recs))
    labels = {r["variant"]: r["label"] for r in recs}
    get = {(r["variant"], r["size"]): r for r in recs}
    out = []
    if recs:
        out.append(f"### Policies: steady state, images/s, batch {recs[0]['batch_size']}")
        out.append("Median (min-max) over the timed windows of all visits.\n")
        out.append(
            report._table(
                ["variant"] + [f"{s}x{s}" for s in sizes],
                [
                    [labels[k]]
                    + [report.cell((get.get((k, s)) or {}).get("steady")) for s in sizes]
                    for k in order
                ],
            )
        )
        rows = []
        for policy, targets in TARGETS.items():
            for s in sizes:
                ours = _median(get.get((f"ours_{policy}", s)))
                tv = _median(get.get((f"torchvision_{policy}", s)))
                ka = _median(get.get(("keras_augmix", s))) if policy == "augmix" else None
                if ours is None:
                    continue
                target = targets.get(s)
                ratio = ours / tv if tv else None
                verdict = "-"
                if ratio is not None and target is not None:
                    verdict = "met" if ratio >= target else "MISSED"
                rows.append(
                    [
                        policy,
                        f"{s}x{s}",
                        report.fmt(ours),
                        report.fmt(tv) if tv else "-",
                        f"{ratio:.2f}x" if ratio is not None else "-",
                        f">= {target:g}x" if target is not None else "-",
                        verdict,
                        f"{ours / ka:.2f}x" if ka else "-",
                    ]
                )
        if rows:
            out.append(
                "\n### Ratios (ours / peer, medians of one run: only ratios mean anything)\n"
            )
            out.append(
                report._table(
                    [
                        "policy",
                        "size",
                        "ours",
                        "torchvision",
                        "ours / torchvision",
                        "target",
                        "",
                        "ours / keras.layers.AugMix",
                    ],
                    rows,
                )
            )
    if result["skipped"]:
        out.append("\n### Skipped\n")
        out += [f"- {s['label']}: {s['reason']}" for s in result["skipped"]]
    meta = result["meta"]
    out.append("\n### Run\n")
    out.append(
        f"{meta['machine'].get('cpu', '?')}, {meta['machine'].get('cores_available', '?')} cores; "
        f"load average {meta['loadavg_start']} at start, {meta['loadavg_end']} at end; "
        f"{meta['wall_seconds']:.0f} s; commit {meta['git'].get('commit', '?')[:10]}"
        + (" (dirty)" if meta["git"].get("dirty") else "")
    )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.policies", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one short visit per point")
    ap.add_argument("--sizes", help="comma-separated image sizes (default 32,72,224)")
    ap.add_argument(
        "--variants", help=f"comma-separated subset of {','.join(variants.POLICY_VARIANTS)}"
    )
    ap.add_argument("--batch-size", type=int, help="batch size (default 128)")
    ap.add_argument("--visits", type=int, help="fresh iterators per point (default 3, quick 1)")
    ap.add_argument("--windows", type=int, help="timed windows per visit (default 2)")
    ap.add_argument("--window-s", type=float, help="seconds per window (default 0.4, quick 0.15)")
    ap.add_argument("--warmup", type=int, help="batches discarded after the first one")
    ap.add_argument("--time-limit", type=float, help="seconds (default 900, quick 300)")
    ap.add_argument("--max-mb", type=float, help="MB of images held per size")
    ap.add_argument("--data", choices=["synthetic", "photos"], help="as benchmarks.throughput")
    ap.add_argument("--seed", type=int, help="data seed")
    ap.add_argument("--out-dir", default=str(throughput.RESULTS_DIR), help="where the JSON goes")
    ap.add_argument("--name", help="file stem (default policies-<UTC time>, quick-policies-...)")
    a = ap.parse_args(argv)
    st = _settings(a)

    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    log(f"randaugment policy benchmark, {'quick' if a.quick else 'default'} run, {started}")
    skipped: list[dict] = []
    records: list[dict] = []
    data = Data(st)
    torch = TorchClient()
    load_start = os.getloadavg()
    git_at_start = report.metadata(throughput.REPO, {})["git"]
    try:
        built = {}
        for key in st.variant_keys:
            v = variants.POLICY_VARIANTS[key]()
            if isinstance(v, variants.Skip):
                log(f"SKIP {v.label}: {v.reason}")
                skipped.append(
                    {"variant": v.key, "label": v.label, "group": GROUP, "reason": v.reason}
                )
            else:
                built[key] = v
        log(f"== policies: sizes {st.sizes}, batch {st.batch_size}")
        points = [Point(GROUP, v, size, st.batch_size) for size in st.sizes for v in built.values()]
        deadline = throughput._T0 + st.time_limit
        records = [p.record() for p in run_points(points, st, data, torch, skipped, deadline)]
    finally:
        torch.close()

    meta = report.metadata(throughput.REPO, torch.versions)
    meta["git"] = git_at_start
    meta.update(
        {
            "started_utc": started,
            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": time.perf_counter() - t_start,
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
            "argv": sys.argv[1:] if argv is None else list(argv),
            "quick": a.quick,
            "settings": dataclasses.asdict(st),
            "targets": {p: {str(s): t for s, t in ts.items()} for p, ts in TARGETS.items()},
        }
    )
    result = {"meta": meta, "skipped": skipped, "records": records}
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.replace(":", "").replace("-", "")
    stem = a.name or (f"quick-policies-{stamp}" if a.quick else f"policies-{stamp}")
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(markdown(result))
    print(f"\nRaw results: {json_path}")
    log(f"done in {meta['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
