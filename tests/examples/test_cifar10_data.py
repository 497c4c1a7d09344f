"""The CIFAR-10 loader: formats, conversions, checksums, and refusing unsafe pickles."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import TEST_SIZE, TRAIN_PER_BATCH, known_image

from examples.cifar10 import data
from examples.cifar10.data import CifarFormatError, UnsafePickleError


def test_shapes_dtypes_and_labels(cifar_files):
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(cifar_files["data_dir"])
    assert x_train.shape == (5 * TRAIN_PER_BATCH, 32, 32, 3)
    assert x_test.shape == (TEST_SIZE, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert y_train.dtype == y_test.dtype == np.int64
    assert y_train.shape == (5 * TRAIN_PER_BATCH,) and y_test.shape == (TEST_SIZE,)
    assert 0 <= y_train.min() and y_train.max() < 10
    np.testing.assert_array_equal(x_train, cifar_files["x_train"])
    np.testing.assert_array_equal(y_test, cifar_files["y_test"])


def test_channel_major_rows_become_nhwc():
    """Row layout: 1024 R values, then G, then B, each plane row-major."""
    image = known_image()
    row = np.concatenate([image[:, :, c].reshape(-1) for c in range(3)])
    buf = io.BytesIO()
    pickle.dump({b"data": row[None], b"labels": [3]}, buf, protocol=2)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"known_batch_{os.getpid()}"
    path.write_bytes(buf.getvalue())
    try:
        images, labels = data.load_batch(path)
    finally:
        path.unlink()
    np.testing.assert_array_equal(images[0], image)
    assert images[0, 5, 7, 1] == (5 * 7 + 7 * 3 + 85) % 256
    assert labels.tolist() == [3]


def test_known_image_through_the_folder(cifar_files):
    _, (x_test, _) = data.load_cifar10(cifar_files["data_dir"])
    np.testing.assert_array_equal(x_test[0], known_image())


def test_accepts_the_batches_folder_itself(cifar_files):
    _, (x_test, _) = data.load_cifar10(cifar_files["data_dir"] / "cifar-10-batches-py")
    assert len(x_test) == TEST_SIZE


def test_latin1_style_keys_are_accepted(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [1, 2]}))
    images, labels = data.load_batch(path)
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [1, 2]


class Exploit:
    """Unpickling this runs a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps({b"data": Exploit(marker), b"labels": []}, protocol=2))
    # The plain unpickler would run it: the file is a real exploit.
    with pytest.raises(UnsafePickleError, match=r"refusing to load global (posix|os|nt)\.system"):
        data.load_batch(path)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError, match="test_batch"):
        data.restricted_load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(eval, protocol=2),  # builtins.eval
        b"cbuiltins\nexec\n(Vprint(1)\ntR.",  # exec("print(1)")
        b"\x80\x02cnumpy\nload\nq\x00.",  # any numpy function but the reconstruction
    ],
)
def test_other_globals_are_refused(tmp_path, payload):
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError, match="refusing"):
        data.restricted_load(path)


def test_cli_reports_unsafe_pickle_clearly(tmp_path, cifar_files, capsys):
    from examples.cifar10.cli import main

    root = tmp_path / "data"
    shutil.copytree(cifar_files["data_dir"] / "cifar-10-batches-py", root / "cifar-10-batches-py")
    bad = root / "cifar-10-batches-py" / "data_batch_4"
    bad.write_bytes(pickle.dumps({b"data": Exploit(tmp_path / "x")}, protocol=2))
    assert main(["--data-dir", str(root), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "data_batch_4" in err and "refusing" in err
    assert not (tmp_path / "x").exists()


def test_missing_folder(tmp_path):
    with pytest.raises(CifarFormatError, match="does not exist"):
        data.load_cifar10(tmp_path / "nowhere")


def test_folder_without_batches(tmp_path):
    with pytest.raises(CifarFormatError, match="cifar-10-batches-py"):
        data.load_cifar10(tmp_path)


def test_folder_missing_a_batch(tmp_path, cifar_files):
    shutil.copytree(cifar_files["data_dir"] / "cifar-10-batches-py", tmp_path / "c")
    (tmp_path / "c" / "data_batch_3").unlink()
    with pytest.raises(CifarFormatError, match="missing data_batch_3"):
        data.load_cifar10(tmp_path / "c")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a pickle at all", "not a readable CIFAR-10 pickle"),
        (pickle.dumps([1, 2, 3], protocol=2), "expected a dict"),
        (pickle.dumps({b"labels": [1]}, protocol=2), "no 'data' entry"),
        (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}), "uint8"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1]}), "labels"),
        (pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}), "outside"),
    ],
)
def test_malformed_batch(tmp_path, cifar_files, content, message):
    shutil.copytree(cifar_files["data_dir"] / "cifar-10-batches-py", tmp_path / "c")
    (tmp_path / "c" / "test_batch").write_bytes(content)
    with pytest.raises(CifarFormatError, match=message):
        data.load_cifar10(tmp_path / "c")


def _archive(tmp_path: Path, cifar_files) -> Path:
    archive = tmp_path / "src" / data.ARCHIVE_NAME
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(cifar_files["data_dir"] / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive


def test_download_checks_the_md5(tmp_path, cifar_files):
    archive = _archive(tmp_path, cifar_files)
    with pytest.raises(CifarFormatError, match="md5"):
        data.download_cifar10(
            cache_dir=tmp_path / "cache", origin=archive.as_uri(), md5=data.CIFAR10_MD5
        )
    assert not (tmp_path / "cache" / "datasets" / data.ARCHIVE_NAME).exists()


def test_download_extracts_and_caches(tmp_path, cifar_files):
    archive = _archive(tmp_path, cifar_files)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    folder = data.download_cifar10(cache_dir=tmp_path / "cache", origin=archive.as_uri(), md5=md5)
    assert folder == tmp_path / "cache" / "datasets" / "cifar-10-batches-py"
    _, (x_test, _) = data.load_cifar10(folder.parent)
    np.testing.assert_array_equal(x_test, cifar_files["x_test"])
    archive.unlink()  # a second call uses the cache
    assert data.download_cifar10(cache_dir=tmp_path / "cache", origin=archive.as_uri(), md5=md5)


def test_archive_in_data_dir_is_extracted(tmp_path, cifar_files):
    archive = _archive(tmp_path, cifar_files)
    (x_train, _), _ = data.load_cifar10(archive.parent)
    assert x_train.shape == (5 * TRAIN_PER_BATCH, 32, 32, 3)


def test_official_constants():
    assert data.CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert data.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
