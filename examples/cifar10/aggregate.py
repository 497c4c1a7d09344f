"""Mean and standard deviation over seeds, per arm and per difference between arms.

Each (seed, arm) result is flattened by :func:`metrics` into scalar accuracies under
stable keys (``clean``, ``benchmark_mean``, ``severity_3``, ``corruption/fog``,
``block/fog/3``, ...). :func:`aggregate` then gives, for every arm and key, the mean
and the sample standard deviation (``ddof=1``) over the seeds, and for every arm but
the reference the same statistics of the per-seed differences ``arm - reference``:
paired by seed, since within a seed both arms start from the same weights and see the
same images in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

SUMMARY_KEYS = (
    "clean",
    "clean_eval_subset",
    "benchmark_mean",
    "benchmark_available_mean",
    "all_mean",
    "saturate_5",
)


def metrics(result: Mapping) -> dict[str, float | None]:
    """Flatten one (seed, arm) result into ``{key: accuracy}`` (``None`` when missing)."""
    summary = result["summary"]
    out: dict[str, float | None] = {k: summary.get(k) for k in SUMMARY_KEYS if k in summary}
    for severity, value in summary["per_severity"].items():
        out[f"severity_{severity}"] = value
    for name, value in summary["per_corruption"].items():
        out[f"corruption/{name}"] = value
    for name, blocks in result["corruptions"].items():
        for severity, value in blocks.items():
            out[f"block/{name}/{severity}"] = value
    return out


def stats(values: list[float]) -> dict:
    """``{"mean", "std", "n", "values"}``; ``std`` is the sample standard deviation
    (``ddof=1``), ``None`` for fewer than two values; ``mean`` ``None`` for none."""
    n = len(values)
    mean = math.fsum(values) / n if n else None
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n, "values": list(values)}


def exceeds_spread(diff: Mapping) -> bool:
    """Whether a difference stands out of the seed-to-seed spread: at least two seeds,
    every per-seed difference of the same sign, and ``|mean| > 2 std``."""
    values = diff.get("values", [])
    if len(values) < 2 or diff["std"] is None:
        return False
    same_sign = all(v > 0 for v in values) or all(v < 0 for v in values)
    return same_sign and abs(diff["mean"]) > 2 * diff["std"]


def aggregate(
    per_seed: Mapping[str, Mapping[str, Mapping]], arms: list[str], reference: str | None
) -> tuple[dict, dict]:
    """Statistics over seeds.

    Args:
        per_seed: ``{seed: {arm: result}}`` (results as written by the CLI).
        arms: the arms to aggregate.
        reference: the arm the others are compared with (``None``: no differences).

    Returns:
        ``(by_arm, differences)``: ``{arm: {key: stats}}`` over the seeds that have the
        arm and a value for the key, and ``{arm: {key: stats of arm - reference}}`` over
        the seeds that have both.
    """
    flat = {s: {a: metrics(r) for a, r in arms_.items()} for s, arms_ in per_seed.items()}
    by_arm: dict[str, dict] = {}
    differences: dict[str, dict] = {}
    for arm in arms:
        keys: list[str] = []
        for seed_metrics in flat.values():
            for key in seed_metrics.get(arm, {}):
                if key not in keys:
                    keys.append(key)
        by_arm[arm] = {
            key: stats(
                [m[arm][key] for m in flat.values() if arm in m and m[arm].get(key) is not None]
            )
            for key in keys
        }
        if reference is None or arm == reference:
            continue
        differences[arm] = {
            key: stats(
                [
                    m[arm][key] - m[reference][key]
                    for m in flat.values()
                    if arm in m
                    and reference in m
                    and m[arm].get(key) is not None
                    and m[reference].get(key) is not None
                ]
            )
            for key in keys
        }
    return by_arm, differences
