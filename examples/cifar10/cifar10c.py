"""CIFAR-10-C (Hendrycks and Dietterich, 2019) from one of three sources.

- ``folder``: the released ``CIFAR-10-C/`` folder: one ``<corruption>.npy`` uint8
  ``[5N, 32, 32, 3]`` per corruption, severities 1 to 5 in consecutive blocks of N
  (N = 10000 in the release), and ``labels.npy`` ``[5N]``. Read with
  ``allow_pickle=False`` and memory-mapped.
- ``tfds``: ``tensorflow_datasets`` configs ``cifar10_corrupted/<name>_<severity>``,
  where ``glass_blur`` is called ``frosted_glass_blur`` and ``elastic_transform``
  ``elastic``.
- ``generated``: the CIFAR-10 test set corrupted here, with the example's own
  corruption functions (``examples.cifar10.corruptions``).

Every loaded block records the source it came from, so the report can say which
source each number came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from examples.cifar10.corruptions import (
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
)
from examples.cifar10.corruptions import (
    OVERLAPS_RANDAUGMENT as OVERLAPS_RANDAUGMENT,  # re-exported for the report
)
from examples.cifar10.data import CifarFormatError

# One list of names, kept with the corruption functions: the 15 corruptions of the
# benchmark (the standard CIFAR-10-C mean), the 4 extra ones released with it, and
# the ones that resemble RandAugment's own ops.
ALL_CORRUPTIONS = BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS
SEVERITIES = (1, 2, 3, 4, 5)
# tfds spells two corruptions differently from the release.
TFDS_NAMES = {"glass_blur": "frosted_glass_blur", "elastic_transform": "elastic"}


def tfds_config(name: str, severity: int) -> str:
    """The tfds config of a corruption, e.g. ``cifar10_corrupted/frosted_glass_blur_3``.

    Raises:
        ValueError: unknown corruption or severity outside 1..5.
    """
    _check(name, severity)
    return f"cifar10_corrupted/{TFDS_NAMES.get(name, name)}_{severity}"


def _check(name: str, severity: int) -> None:
    if name not in ALL_CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(ALL_CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be 1..5, got {severity!r}")


@dataclass
class Block:
    """Images of one corruption at one severity, and where they came from."""

    images: np.ndarray  # uint8 [N, 32, 32, 3]
    labels: np.ndarray  # int64 [N]
    source: str


class FolderSource:
    """The released CIFAR-10-C folder (or one written by ``make_cifar10c``).

    Args:
        path: the folder holding ``labels.npy`` and ``<corruption>.npy`` files.
        limit: evaluate only the first ``limit`` images of each severity block.

    Raises:
        CifarFormatError: the folder or ``labels.npy`` is missing or malformed, or it
            holds no known corruption.
    """

    kind = "folder"

    def __init__(self, path: str | os.PathLike, limit: int | None = None) -> None:
        self.path = Path(path)
        self.limit = limit
        if not self.path.is_dir():
            raise CifarFormatError(f"CIFAR-10-C folder {self.path} does not exist")
        labels_path = self.path / "labels.npy"
        if not labels_path.is_file():
            raise CifarFormatError(f"{self.path}: no labels.npy (not a CIFAR-10-C folder)")
        labels = _load_npy(labels_path)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise CifarFormatError(
                f"{labels_path}: expected integer labels [5N], got {labels.dtype} "
                f"{list(labels.shape)}"
            )
        if len(labels) == 0 or len(labels) % len(SEVERITIES):
            raise CifarFormatError(
                f"{labels_path}: {len(labels)} labels is not 5 severity blocks of N"
            )
        if labels.min() < 0 or labels.max() >= 10:
            raise CifarFormatError(f"{labels_path}: labels outside [0, 10)")
        self.labels = np.asarray(labels, dtype=np.int64)
        self.block = len(labels) // len(SEVERITIES)
        self.available = tuple(n for n in ALL_CORRUPTIONS if (self.path / f"{n}.npy").is_file())
        if not self.available:
            raise CifarFormatError(
                f"{self.path}: no <corruption>.npy file of a known corruption "
                f"({', '.join(ALL_CORRUPTIONS)})"
            )

    def describe(self) -> str:
        return f"folder {self.path}"

    def load(self, name: str, severity: int) -> Block:
        """Images of ``name`` at ``severity``: block ``severity - 1`` of the file."""
        _check(name, severity)
        path = self.path / f"{name}.npy"
        images = _load_npy(path, mmap=True)
        expected = (len(self.labels), 32, 32, 3)
        if images.dtype != np.uint8 or images.shape != expected:
            raise CifarFormatError(
                f"{path}: expected uint8 {list(expected)}, got {images.dtype} {list(images.shape)}"
            )
        start = (severity - 1) * self.block
        stop = start + (self.block if self.limit is None else min(self.limit, self.block))
        return Block(np.array(images[start:stop]), self.labels[start:stop].copy(), self.describe())


def _load_npy(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as err:  # object arrays need pickle, which is refused
        raise CifarFormatError(f"{path}: not a plain .npy array ({err})") from None
    except OSError as err:
        raise CifarFormatError(f"{path}: unreadable ({err})") from None


class TfdsSource:
    """``tensorflow_datasets`` ``cifar10_corrupted/<name>_<severity>`` (test split).

    Args:
        data_dir: the tfds data folder (``None``: tfds' default).
        limit: the first ``limit`` images of each config.

    Raises:
        ImportError: tensorflow_datasets is not installed.
    """

    kind = "tfds"
    available = ALL_CORRUPTIONS

    def __init__(self, data_dir: str | None = None, limit: int | None = None) -> None:
        import tensorflow_datasets as tfds

        self.tfds = tfds
        self.data_dir = data_dir
        self.limit = limit

    def describe(self) -> str:
        return "tfds cifar10_corrupted"

    def load(self, name: str, severity: int) -> Block:
        config = tfds_config(name, severity)
        split = "test" if self.limit is None else f"test[:{self.limit}]"
        ds = self.tfds.load(config, split=split, as_supervised=True, data_dir=self.data_dir)
        images, labels = [], []
        for x, y in self.tfds.as_numpy(ds.batch(10000)):
            images.append(np.asarray(x, dtype=np.uint8))
            labels.append(np.asarray(y, dtype=np.int64))
        return Block(np.concatenate(images), np.concatenate(labels), f"tfds {config}")


class GeneratedSource:
    """The CIFAR-10 test set corrupted here with ``examples.cifar10.corruptions``.

    The images are those ``make_cifar10c`` writes for the same images and seed (its
    ``corrupt_all_severities``), so evaluating in process and evaluating a folder it
    wrote give the same numbers. All five severities of a corruption are generated on
    its first request and kept until the next corruption is asked for.

    Args:
        x_test, y_test: the clean test set (uint8 NHWC, int labels).
        seed: the base seed of the corruptions.
        limit: corrupt only the first ``limit`` test images.
    """

    kind = "generated"

    def __init__(
        self,
        x_test: np.ndarray,
        y_test: np.ndarray,
        seed: int = 0,
        limit: int | None = None,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        from examples.cifar10 import corruptions, make_cifar10c

        self.corrupt_all = make_cifar10c.corrupt_all_severities
        stop = len(x_test) if limit is None else min(limit, len(x_test))
        self.x = np.ascontiguousarray(x_test[:stop])
        self.y = np.asarray(y_test[:stop], dtype=np.int64)
        self.seed = seed
        # Generated blocks are saved here (one <name>.npy of all severities, as
        # make_cifar10c writes it) and read back by later arms and seeds.
        self.cache = (
            None if cache_dir is None else Path(cache_dir) / f"seed{seed}_first{len(self.x)}"
        )
        registry = corruptions.CORRUPTIONS
        self.available = tuple(
            n for n in ALL_CORRUPTIONS if n in registry and registry[n].available
        )
        # Why the others cannot be generated here (for the report).
        self.unavailable = {
            n: getattr(registry.get(n), "note", "") or "not implemented"
            for n in ALL_CORRUPTIONS
            if n not in self.available
        }
        self._cached: tuple[str, np.ndarray] | None = None

    def describe(self) -> str:
        return f"generated locally (examples.cifar10.corruptions, seed {self.seed})"

    def _generate(self, name: str) -> np.ndarray:
        if self.cache is None:
            return self.corrupt_all(self.x, name, self.seed)
        path = self.cache / f"{name}.npy"
        if path.is_file():
            return np.load(path, allow_pickle=False)
        images = self.corrupt_all(self.x, name, self.seed)
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = self.cache / f".{name}.npy.partial"
        with open(tmp, "wb") as fh:
            np.save(fh, images)
        os.replace(tmp, path)
        return images

    def load(self, name: str, severity: int) -> Block:
        _check(name, severity)
        if self._cached is None or self._cached[0] != name:
            self._cached = None  # free the previous corruption first
            self._cached = (name, self._generate(name))
        n = len(self.x)
        images = self._cached[1][(severity - 1) * n : severity * n]
        return Block(images, self.y.copy(), self.describe())


def open_sources(
    kind: str,
    *,
    cifar10c_dir: str | os.PathLike | None,
    x_test: np.ndarray,
    y_test: np.ndarray,
    seed: int,
    limit: int | None,
    names: tuple[str, ...] = ALL_CORRUPTIONS,
    tfds_data_dir: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, FolderSource | TfdsSource | GeneratedSource]:
    """Pick a source for each requested corruption.

    Args:
        kind: ``folder``, ``tfds``, ``generate``, or ``auto``: the folder when
            ``cifar10c_dir`` is given, else tfds when installed, else generated; in
            ``auto``, corruptions the folder lacks are generated locally.
        cifar10c_dir: the CIFAR-10-C folder (``--cifar10c-dir``).
        x_test, y_test: the clean test set, for generated corruptions.
        seed: base seed of generated corruptions.
        limit: evaluate the first ``limit`` images of each severity.
        names: the corruptions wanted.
        tfds_data_dir: tfds' data folder.
        cache_dir: where generated corruptions are saved and read back (``None``:
            generate on every request).

    Returns:
        ``{corruption: source}``; corruptions no source provides are left out.

    Raises:
        CifarFormatError: ``folder`` without a usable folder.
        ImportError: ``tfds`` without tensorflow_datasets, or ``generate`` without
            the corruptions module.
        ValueError: an unknown kind or corruption name.
    """
    unknown = [n for n in names if n not in ALL_CORRUPTIONS]
    if unknown:
        raise ValueError(f"unknown corruption(s) {unknown}; known: {', '.join(ALL_CORRUPTIONS)}")
    if kind not in ("auto", "folder", "tfds", "generate"):
        raise ValueError(f"unknown CIFAR-10-C source {kind!r}")
    chosen: dict = {}
    if kind == "folder" or (kind == "auto" and cifar10c_dir is not None):
        if cifar10c_dir is None:
            raise CifarFormatError("--cifar10c-source folder needs --cifar10c-dir")
        folder = FolderSource(cifar10c_dir, limit)
        chosen.update({n: folder for n in names if n in folder.available})
        if kind == "folder":
            return chosen
    elif kind == "tfds" or (kind == "auto" and _tfds_installed()):
        tfds_source = TfdsSource(tfds_data_dir, limit)
        return {n: tfds_source for n in names}
    missing = [n for n in names if n not in chosen]
    if missing:
        try:
            generated = GeneratedSource(x_test, y_test, seed, limit, cache_dir)
        except ImportError:
            if kind == "generate":
                raise
            return chosen
        chosen.update({n: generated for n in missing if n in generated.available})
    return {n: chosen[n] for n in names if n in chosen}


def _tfds_installed() -> bool:
    import importlib.util
    import sys

    if "tensorflow_datasets" in sys.modules:
        return True
    return importlib.util.find_spec("tensorflow_datasets") is not None
