"""Clean and CIFAR-10-C accuracy of the trained models, and the summaries.

Accuracies are fractions in [0, 1] here and in results.json; the report prints
percentages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import keras
import numpy as np

from examples.cifar10.cifar10c import (
    ALL_CORRUPTIONS,
    BENCHMARK_CORRUPTIONS,
    OVERLAPS_RANDAUGMENT,
    SEVERITIES,
)
from examples.cifar10.pipelines import eval_dataset


def accuracy(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int, image_size: int
) -> float:
    """Top-1 accuracy on uint8 images ``x`` with labels ``y``: the fraction whose most
    probable class (``argmax``, the first on ties, as Keras's accuracy metric) is the
    label. From ``model.predict`` rather than ``evaluate``, so that it does not depend
    on the loss the model was compiled with (``augmix_jsd``'s needs three views)."""
    ds = eval_dataset(x, y, batch_size=batch_size, image_size=image_size)
    probabilities = model.predict(ds.map(lambda images, labels: images), verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(y).reshape(-1)))


def evaluate_corruptions(
    models: Mapping[str, keras.Model],
    sources: Mapping[str, object],
    *,
    severities: tuple[int, ...] = SEVERITIES,
    batch_size: int,
    image_size: int,
) -> tuple[dict[str, dict[str, dict[int, float]]], dict[str, str], dict[str, int]]:
    """Accuracy of every model on every available corruption and severity.

    Each block is loaded (or generated) once and evaluated with every model; one line
    is printed per block.

    Args:
        models: ``{pipeline: model}``.
        sources: ``{corruption: source}`` from ``cifar10c.open_sources``.
        severities: the severities to evaluate.
        batch_size, image_size: evaluation batch size and model input size.

    Returns:
        ``({pipeline: {corruption: {severity: accuracy}}}, {corruption: source
        description}, {corruption: images per severity})``.
    """
    results: dict[str, dict[str, dict[int, float]]] = {name: {} for name in models}
    where: dict[str, str] = {}
    count: dict[str, int] = {}
    for corruption, source in sources.items():
        for severity in severities:
            start = time.perf_counter()
            block = source.load(corruption, severity)
            loaded = time.perf_counter() - start
            where[corruption] = block.source
            count[corruption] = len(block.labels)
            scores = []
            for name, model in models.items():
                acc = accuracy(
                    model,
                    block.images,
                    block.labels,
                    batch_size=batch_size,
                    image_size=image_size,
                )
                results[name].setdefault(corruption, {})[severity] = acc
                scores.append(f"{name} {100 * acc:6.2f}%")
            total = time.perf_counter() - start
            print(
                f"{corruption}_{severity}: {'  '.join(scores)}  "
                f"({len(block.labels)} images, {block.source}, "
                f"load {loaded:.1f} s, total {total:.1f} s)",
                flush=True,
            )
    return results, where, count


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarize(clean: float, corrupted: Mapping[str, Mapping[int, float]]) -> dict:
    """The summaries of one model.

    Args:
        clean: clean test accuracy.
        corrupted: ``{corruption: {severity: accuracy}}``.

    Returns:
        A dict with ``clean``; ``benchmark_mean`` (mean over the 15 benchmark
        corruptions and all their severities; ``None`` unless all 15 are present, with
        ``benchmark_count`` saying how many were); ``all_mean`` over every available
        corruption and severity (``all_count`` corruptions); ``per_severity``
        ``{severity: mean over available corruptions}``; ``per_corruption``
        ``{corruption: mean over its severities}``; ``saturate_5`` (``None`` when
        missing).
    """
    names = [n for n in ALL_CORRUPTIONS if n in corrupted]
    bench = [n for n in BENCHMARK_CORRUPTIONS if n in corrupted]

    def over(selection: list[str]) -> float | None:
        return _mean([a for n in selection for a in corrupted[n].values()])

    severities = sorted({s for n in names for s in corrupted[n]})
    return {
        "clean": clean,
        "benchmark_mean": over(bench) if len(bench) == len(BENCHMARK_CORRUPTIONS) else None,
        "benchmark_count": len(bench),
        "benchmark_available_mean": over(bench),
        "all_mean": over(names),
        "all_count": len(names),
        "per_severity": {
            s: _mean([corrupted[n][s] for n in names if s in corrupted[n]]) for s in severities
        },
        "per_corruption": {n: _mean(list(corrupted[n].values())) for n in names},
        "saturate_5": corrupted.get("saturate", {}).get(5),
    }


def overlap_mark(corruption: str) -> str:
    """``*`` for corruptions that resemble RandAugment's own ops, else ``""``."""
    return "*" if corruption in OVERLAPS_RANDAUGMENT else ""
