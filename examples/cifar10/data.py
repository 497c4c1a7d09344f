"""CIFAR-10 from its official "python version" files, parsed without trusting them.

The official archive (https://www.cs.toronto.edu/~kriz/cifar.html) holds
``cifar-10-batches-py/`` with pickles ``data_batch_1`` .. ``data_batch_5`` and
``test_batch``: dicts whose ``b"data"`` is uint8 ``[10000, 3072]`` (channel-major:
the R, G and B planes of a 32x32 image, each row-major) and ``b"labels"`` a list of
ints in ``[0, 10)``.

Unpickling runs code by design and ``--data-dir`` may point anywhere, so the files
are read with :class:`RestrictedUnpickler`, which builds only what those files
hold: dicts, lists, bytes, strings, ints and numpy arrays.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# md5 published with the archive (and used by torchvision and many download scripts).
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
NUM_CLASSES = 10
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_SHAPE = (32, 32, 3)


class CifarFormatError(ValueError):
    """A CIFAR-10 or CIFAR-10-C file or folder is missing or not in the expected format."""


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a callable that CIFAR-10 files never contain."""


def _numpy_reconstruct() -> Callable:
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    return multiarray._reconstruct


def _numpy_frombuffer() -> Callable:
    try:
        from numpy._core import numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import numeric
    return numeric._frombuffer


def _codecs_encode() -> Callable:
    import codecs

    return codecs.encode


# The only globals a CIFAR-10 pickle refers to: numpy's array reconstruction (under
# its numpy 1 and numpy 2 module names, and the protocol-5 form), and codecs.encode,
# with which Python 3 writes bytes in protocol 2. None of them can run other code.
_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], object]] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that admits only the globals found in CIFAR-10 files.

    Everything else (``os.system``, ``builtins.eval``, any class) raises
    :class:`UnsafePickleError` before it can be called. Persistent ids are refused too.
    """

    def find_class(self, module: str, name: str) -> object:
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name!s}: a CIFAR-10 pickle holds only "
                "dicts, lists, bytes, strings, ints and numpy arrays"
            )
        return factory()

    def persistent_load(self, pid: object) -> object:
        raise UnsafePickleError(f"refusing persistent id {pid!r} in a CIFAR-10 pickle")


def restricted_load(path: str | os.PathLike) -> object:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` (Python 2 strings as bytes).

    Raises:
        UnsafePickleError: the file refers to anything but the CIFAR-10 contents;
            the message names the file.
        CifarFormatError: the file is not a pickle.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except Exception as err:  # truncated or foreign file: pickle raises many types
        raise CifarFormatError(f"{path}: not a readable CIFAR-10 pickle ({err})") from None


def _get(batch: dict, key: str) -> object:
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise KeyError(key)


def load_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch pickle.

    Args:
        path: a ``data_batch_*`` or ``test_batch`` file.

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` (NHWC) and int64 ``[N]``.

    Raises:
        CifarFormatError: the file is not a CIFAR-10 batch.
        UnsafePickleError: the pickle refers to code.
    """
    batch = restricted_load(path)
    if not isinstance(batch, dict):
        raise CifarFormatError(f"{path}: expected a dict, got {type(batch).__name__}")
    try:
        data = _get(batch, "data")
        labels = _get(batch, "labels")
    except KeyError as err:
        raise CifarFormatError(f"{path}: no {err.args[0]!r} entry") from None
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise CifarFormatError(
            f"{path}: 'data' must be uint8 [N, 3072], got {data.dtype} {list(data.shape)}"
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise CifarFormatError(
            f"{path}: 'labels' must be {data.shape[0]} integers, got {labels.dtype} "
            f"{list(labels.shape)}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise CifarFormatError(f"{path}: labels outside [0, {NUM_CLASSES})")
    # Channel-major rows: [N, C, H, W] -> NHWC.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def find_batches_dir(data_dir: str | os.PathLike) -> Path:
    """Return the ``cifar-10-batches-py`` folder at or inside ``data_dir``.

    Raises:
        CifarFormatError: neither ``data_dir`` nor ``data_dir/cifar-10-batches-py``
            holds the six batch files; the message lists what is missing.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise CifarFormatError(f"CIFAR-10 folder {root} does not exist")
    candidates = [root / FOLDER_NAME, root]
    for candidate in candidates:
        if (candidate / TEST_FILE).is_file():
            missing = [f for f in TRAIN_FILES if not (candidate / f).is_file()]
            if missing:
                raise CifarFormatError(f"{candidate}: missing {', '.join(missing)}")
            return candidate
    archive = root / ARCHIVE_NAME
    if archive.is_file():
        return extract_archive(archive, root)
    raise CifarFormatError(
        f"{root} holds neither {FOLDER_NAME}/ (the official python-version layout: "
        f"{', '.join(TRAIN_FILES)}, {TEST_FILE}) nor {ARCHIVE_NAME}"
    )


def load_cifar10(
    data_dir: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10 from a folder, or download and cache the official archive.

    Args:
        data_dir: a folder holding ``cifar-10-batches-py/`` (or that folder itself,
            or the official ``cifar-10-python.tar.gz``). ``None`` downloads the
            archive once with ``keras.utils.get_file`` (md5 checked) into the Keras
            cache (``~/.keras/datasets``).

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: uint8 NHWC images
        ``[N, 32, 32, 3]`` and int64 labels ``[N]`` in ``[0, 10)``.

    Raises:
        CifarFormatError: the folder is missing, incomplete or malformed, or the
            download does not match its checksum.
        UnsafePickleError: a file refers to code.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_cifar10("/data")  # doctest: +SKIP
        >>> x_train.shape, y_train.dtype  # doctest: +SKIP
        ((50000, 32, 32, 3), dtype('int64'))
    """
    folder = find_batches_dir(data_dir) if data_dir is not None else download_cifar10()
    parts = [load_batch(folder / name) for name in TRAIN_FILES]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = load_batch(folder / TEST_FILE)
    return (x_train, y_train), (x_test, y_test)


def download_cifar10(
    cache_dir: str | os.PathLike | None = None,
    origin: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
) -> Path:
    """Download (once) and extract the official archive; return its batches folder.

    Args:
        cache_dir: the Keras cache root (default ``~/.keras``); files go to
            ``<cache_dir>/datasets``.
        origin: the archive URL (tests pass a ``file://`` URL).
        md5: the expected md5 of the archive.

    Raises:
        CifarFormatError: the download fails or its md5 differs.
    """
    import keras

    cache_dir = Path(
        cache_dir if cache_dir is not None else os.environ.get("KERAS_HOME", "~/.keras")
    ).expanduser()
    # get_file falls back to /tmp/.keras when the folder is not writable yet.
    (cache_dir / "datasets").mkdir(parents=True, exist_ok=True)
    target = cache_dir / "datasets" / ARCHIVE_NAME
    try:
        archive = keras.utils.get_file(
            fname=ARCHIVE_NAME,
            origin=origin,
            file_hash=md5,
            hash_algorithm="md5",
            cache_dir=os.fspath(cache_dir),
        )
    except ValueError as err:
        target.unlink(missing_ok=True)  # get_file leaves the bad download in place
        raise CifarFormatError(
            f"the CIFAR-10 archive from {origin} does not match its md5 {md5}: {err}"
        ) from None
    except Exception as err:
        raise CifarFormatError(
            f"could not download CIFAR-10 from {origin} ({err}); download it elsewhere "
            f"and pass the folder holding {FOLDER_NAME}/ or {ARCHIVE_NAME} as --data-dir"
        ) from None
    archive = Path(archive)
    return extract_archive(archive, archive.parent)


def extract_archive(archive: Path, dest: Path) -> Path:
    """Extract the batch files of ``archive`` into ``dest/cifar-10-batches-py``."""
    folder = dest / FOLDER_NAME
    if (folder / TEST_FILE).is_file() and all((folder / f).is_file() for f in TRAIN_FILES):
        return folder
    wanted = {f"{FOLDER_NAME}/{name}" for name in (*TRAIN_FILES, TEST_FILE, "batches.meta")}
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
            # The "data" filter refuses links and paths outside dest (Python >= 3.10.12).
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(dest, members=members, **safe)
    except tarfile.TarError as err:
        raise CifarFormatError(f"{archive}: not a readable tar archive ({err})") from None
    if not (folder / TEST_FILE).is_file():
        raise CifarFormatError(f"{archive}: does not contain {FOLDER_NAME}/{TEST_FILE}")
    return folder
