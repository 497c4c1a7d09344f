"""Generate a CIFAR-10-C folder locally from the CIFAR-10 test set.

    python -m examples.cifar10.make_cifar10c --data-dir DIR --output-dir OUT \\
        [--corruptions gaussian_noise,fog] [--seed 0] [--limit N]

``DIR`` holds ``cifar-10-batches-py/`` (the official python version). ``OUT`` receives
the released CIFAR-10-C layout: ``<name>.npy`` uint8 ``[5 N, 32, 32, 3]`` with
severities 1..5 in consecutive blocks of ``N`` test images (in test-set order), and
``labels.npy`` int64 ``[5 N]``, the test labels tiled 5 times (the released file
stores them as uint8; int64 holds the same values). Corruptions that cannot be
generated here (see :mod:`examples.cifar10.corruptions`) are skipped with a message
when requested implicitly, and are an error when named in ``--corruptions``.

Reproducibility: the images of one corruption and severity are corrupted in chunks
of :data:`CHUNK` images; chunk ``k`` uses ``np.random.default_rng([seed, index of
the corruption in CORRUPTIONS, severity, k])``. So the output depends only on the
images and ``seed``, and a run with ``--limit N`` (N a multiple of 1000) gives the
first N images of each severity exactly as the full run does.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from examples.cifar10.corruptions import CORRUPTIONS, SEVERITIES, available_corruptions

CHUNK = 1000
TEST_BATCH = ("cifar-10-batches-py", "test_batch")


class _TestBatchUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR-10 batch holds: builtin containers and numpy arrays."""

    _ALLOWED = {
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "bytes"),
        ("builtins", "str"),
        ("builtins", "int"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_test_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = _TestBatchUnpickler(f, encoding="bytes").load()
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR-10 batch (a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"{path}: missing 'data' or 'labels'")
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: data has shape {data.shape}, expected [N, 3072]")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)


def load_test_set(data_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 test set as uint8 ``[N, 32, 32, 3]`` and int64 ``[N]``.

    Uses the package's loader (:mod:`examples.cifar10.data`) when it is present, or
    reads ``cifar-10-batches-py/test_batch`` with a restricted unpickler.
    """
    try:
        from examples.cifar10 import data as cifar_data
    except ImportError:
        cifar_data = None
    if (
        cifar_data is not None
        and hasattr(cifar_data, "find_batches_dir")
        and hasattr(cifar_data, "load_batch")
    ):
        folder = cifar_data.find_batches_dir(data_dir)
        images, labels = cifar_data.load_batch(Path(folder) / TEST_BATCH[1])
        return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    if cifar_data is not None and hasattr(cifar_data, "load_cifar10"):
        _, (images, labels) = cifar_data.load_cifar10(data_dir)
        return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    root = Path(data_dir)
    path = root / TEST_BATCH[1] if (root / TEST_BATCH[1]).is_file() else root.joinpath(*TEST_BATCH)
    return _read_test_batch(path)


def corrupt_all_severities(images: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """``[5 N, 32, 32, 3]``: severities 1..5 in blocks of ``N``, chunk-seeded (module doc)."""
    corruption = CORRUPTIONS[name]
    index = list(CORRUPTIONS).index(name)
    n = images.shape[0]
    out = np.empty((len(SEVERITIES) * n,) + images.shape[1:], dtype=np.uint8)
    for s in SEVERITIES:
        for k, start in enumerate(range(0, n, CHUNK)):
            chunk_seed = np.random.SeedSequence([seed, index, s, k])
            stop = min(start + CHUNK, n)
            out[(s - 1) * n + start : (s - 1) * n + stop] = corruption(
                images[start:stop], s, int(chunk_seed.generate_state(1)[0])
            )
    return out


def write_cifar10c_folder(
    out_dir: str | os.PathLike,
    images: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> list[str]:
    """Write ``<name>.npy`` for each corruption and ``labels.npy`` into ``out_dir``.

    Args:
        out_dir: created if needed; existing files of the same names are replaced.
        images: uint8 ``[N, 32, 32, 3]`` clean images (the CIFAR-10 test set).
        labels: ``[N]`` integer labels.
        names: corruptions to write; ``None`` means every available one (unavailable
            ones are then skipped). Naming an unavailable one raises
            ``NotImplementedError``; an unknown one ``KeyError``.
        seed: base seed (see the module doc for how chunks are seeded).
        progress: print one line per corruption with its time.

    Returns:
        The names written, in order.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"images must be uint8 [N, 32, 32, 3], got {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be [{images.shape[0]}], got {labels.shape}")
    if names is None:
        names = list(available_corruptions())
    names = list(names)
    for name in names:
        if name not in CORRUPTIONS:
            raise KeyError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
        if not CORRUPTIONS[name].available:
            raise NotImplementedError(f"{name} is not available: {CORRUPTIONS[name].note}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "labels.npy", np.tile(labels.astype(np.int64), len(SEVERITIES)))
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        data = corrupt_all_severities(images, name, seed)
        tmp = out / f".{name}.npy.partial"
        with open(tmp, "wb") as f:
            np.save(f, data)
        os.replace(tmp, out / f"{name}.npy")
        if progress:
            print(
                f"[{i}/{len(names)}] {name}: {data.shape[0]} images in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
    return names


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.cifar10.make_cifar10c",
        description="Generate CIFAR-10-C (Hendrycks & Dietterich 2019) from the CIFAR-10 test set.",
    )
    parser.add_argument("--data-dir", required=True, help="folder holding cifar-10-batches-py/")
    parser.add_argument(
        "--output-dir", required=True, help="folder to write <corruption>.npy and labels.npy"
    )
    parser.add_argument(
        "--corruptions",
        default=None,
        help="comma-separated names (default: every available one: "
        + ",".join(available_corruptions())
        + ")",
    )
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N test images")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    names = (
        None
        if args.corruptions is None
        else [n.strip() for n in args.corruptions.split(",") if n.strip()]
    )
    try:
        for name in names or ():  # fail before reading any data
            if name not in CORRUPTIONS:
                raise KeyError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
            if not CORRUPTIONS[name].available:
                raise NotImplementedError(f"{name} is not available: {CORRUPTIONS[name].note}")
        images, labels = load_test_set(args.data_dir)
        if args.limit is not None:
            if args.limit < 1:
                raise ValueError("--limit must be positive")
            images, labels = images[: args.limit], labels[: args.limit]
        if names is None:
            skipped = [n for n in CORRUPTIONS if not CORRUPTIONS[n].available]
            if skipped:
                print(f"skipping unavailable corruptions: {', '.join(skipped)}", flush=True)
        print(f"{images.shape[0]} test images -> {args.output_dir}", flush=True)
        write_cifar10c_folder(args.output_dir, images, labels, names=names, seed=args.seed)
    except (KeyError, NotImplementedError, ValueError, OSError, pickle.UnpicklingError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
