"""The CIFAR-10-C sources: the released folder layout, tfds names, source selection."""

from __future__ import annotations

import shutil
import sys
import types

import numpy as np
import pytest
from conftest import C_BLOCK, C_NAMES

from examples.cifar10 import cifar10c
from examples.cifar10.data import CifarFormatError


def test_severity_slicing(cifar_files):
    source = cifar10c.FolderSource(cifar_files["cifar10c_dir"])
    assert source.available == tuple(n for n in cifar10c.ALL_CORRUPTIONS if n in C_NAMES)
    assert source.block == C_BLOCK
    for name in C_NAMES:
        for severity in range(1, 6):
            block = source.load(name, severity)
            assert block.images.shape == (C_BLOCK, 32, 32, 3)
            assert block.images.dtype == np.uint8 and block.labels.dtype == np.int64
            # The writer marked pixel (0, 0) with the severity and the corruption.
            assert (block.images[:, 0, 0, :] == 10 * severity + C_NAMES.index(name)).all()
            np.testing.assert_array_equal(block.images[:, 1:], cifar_files["x_test"][:C_BLOCK, 1:])
            np.testing.assert_array_equal(block.labels, cifar_files["y_test"][:C_BLOCK])
            assert str(cifar_files["cifar10c_dir"]) in block.source


def test_limit_takes_the_first_images_of_each_block(cifar_files):
    source = cifar10c.FolderSource(cifar_files["cifar10c_dir"], limit=7)
    block = source.load("saturate", 4)
    assert block.images.shape == (7, 32, 32, 3)
    assert (block.images[:, 0, 0, 0] == 42).all()
    np.testing.assert_array_equal(block.labels, cifar_files["y_test"][:7])


def test_unknown_name_or_severity(cifar_files):
    source = cifar10c.FolderSource(cifar_files["cifar10c_dir"])
    with pytest.raises(ValueError, match="unknown corruption"):
        source.load("blur", 1)
    with pytest.raises(ValueError, match="severity"):
        source.load("saturate", 6)


def test_missing_folder(tmp_path):
    with pytest.raises(CifarFormatError, match="does not exist"):
        cifar10c.FolderSource(tmp_path / "CIFAR-10-C")


def test_folder_without_labels(tmp_path):
    np.save(tmp_path / "saturate.npy", np.zeros((5, 32, 32, 3), np.uint8))
    with pytest.raises(CifarFormatError, match="labels.npy"):
        cifar10c.FolderSource(tmp_path)


def test_folder_without_known_corruptions(tmp_path):
    np.save(tmp_path / "labels.npy", np.zeros(5, np.uint8))
    np.save(tmp_path / "blur.npy", np.zeros((5, 32, 32, 3), np.uint8))
    with pytest.raises(CifarFormatError, match="no <corruption>.npy"):
        cifar10c.FolderSource(tmp_path)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.zeros(7, np.uint8), "5 severity blocks"),
        (np.zeros((5, 2), np.uint8), "integer labels"),
        (np.full(5, 12, np.uint8), "outside"),
    ],
)
def test_malformed_labels(tmp_path, labels, message):
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "saturate.npy", np.zeros((5, 32, 32, 3), np.uint8))
    with pytest.raises(CifarFormatError, match=message):
        cifar10c.FolderSource(tmp_path)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((10, 32, 32, 3), np.uint8),  # wrong length for the labels
        np.zeros((5, 32, 32, 3), np.float32),  # wrong dtype
        np.zeros((5, 3, 32, 32), np.uint8),  # channel-major
    ],
)
def test_malformed_corruption_file(tmp_path, array):
    np.save(tmp_path / "labels.npy", np.zeros(5, np.uint8))
    np.save(tmp_path / "saturate.npy", array)
    source = cifar10c.FolderSource(tmp_path)
    with pytest.raises(CifarFormatError, match="expected uint8"):
        source.load("saturate", 1)


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "labels.npy", np.array([object()] * 5), allow_pickle=True)
    with pytest.raises(CifarFormatError, match="not a plain .npy"):
        cifar10c.FolderSource(tmp_path)


def test_tfds_names():
    assert cifar10c.tfds_config("glass_blur", 3) == "cifar10_corrupted/frosted_glass_blur_3"
    assert cifar10c.tfds_config("elastic_transform", 5) == "cifar10_corrupted/elastic_5"
    assert cifar10c.tfds_config("saturate", 5) == "cifar10_corrupted/saturate_5"
    assert cifar10c.tfds_config("gaussian_noise", 1) == "cifar10_corrupted/gaussian_noise_1"
    with pytest.raises(ValueError):
        cifar10c.tfds_config("frosted_glass_blur", 1)


def test_tfds_source_asks_for_the_tfds_names(monkeypatch):
    """A stand-in tfds module records the configs asked for."""
    import tensorflow as tf

    asked = []

    def load(name, split, as_supervised, data_dir):
        asked.append((name, split, as_supervised))
        images = np.full((3, 32, 32, 3), 9, np.uint8)
        return tf.data.Dataset.from_tensor_slices((images, np.array([1, 2, 3])))

    fake = types.SimpleNamespace(load=load, as_numpy=lambda ds: ds.as_numpy_iterator())
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    source = cifar10c.TfdsSource(limit=3)
    block = source.load("glass_blur", 2)
    assert asked == [("cifar10_corrupted/frosted_glass_blur_2", "test[:3]", True)]
    assert block.images.dtype == np.uint8 and block.images.shape == (3, 32, 32, 3)
    assert block.labels.tolist() == [1, 2, 3] and block.labels.dtype == np.int64
    assert "frosted_glass_blur_2" in block.source
    source.load("elastic_transform", 1)
    assert asked[-1][0] == "cifar10_corrupted/elastic_1"
    sources = cifar10c.open_sources(
        "auto", cifar10c_dir=None, x_test=None, y_test=None, seed=0, limit=None
    )
    assert set(sources) == set(cifar10c.ALL_CORRUPTIONS)
    assert all(s.kind == "tfds" for s in sources.values())


def test_folder_source_selection(cifar_files, tmp_path):
    kw = dict(x_test=cifar_files["x_test"], y_test=cifar_files["y_test"], seed=0, limit=None)
    only = cifar10c.open_sources("folder", cifar10c_dir=cifar_files["cifar10c_dir"], **kw)
    assert list(only) == [n for n in cifar10c.ALL_CORRUPTIONS if n in C_NAMES]
    with pytest.raises(CifarFormatError, match="--cifar10c-dir"):
        cifar10c.open_sources("folder", cifar10c_dir=None, **kw)
    with pytest.raises(ValueError, match="unknown corruption"):
        cifar10c.open_sources("folder", cifar10c_dir=tmp_path, names=("blur",), **kw)
    with pytest.raises(CifarFormatError, match="labels.npy"):
        cifar10c.open_sources("auto", cifar10c_dir=tmp_path, **kw)


def test_make_cifar10c_folder_loads(cifar_files, tmp_path):
    """A folder written by the make_cifar10c command loads with FolderSource."""
    make = pytest.importorskip("examples.cifar10.make_cifar10c")
    pytest.importorskip("examples.cifar10.corruptions")
    out = tmp_path / "CIFAR-10-C"
    argv = ["--data-dir", str(cifar_files["data_dir"]), "--output-dir", str(out)]
    argv += ["--corruptions", "saturate,brightness", "--limit", "12", "--seed", "5"]
    assert make.main(argv) == 0
    source = cifar10c.FolderSource(out)
    assert set(source.available) == {"saturate", "brightness"}
    for severity in range(1, 6):
        block = source.load("saturate", severity)
        assert block.images.shape == (12, 32, 32, 3) and block.images.dtype == np.uint8
        np.testing.assert_array_equal(block.labels, cifar_files["y_test"][:12])
    # Generating in process gives the same images as the folder, for the same seed.
    generated = cifar10c.GeneratedSource(
        cifar_files["x_test"], cifar_files["y_test"], seed=5, limit=12
    )
    for name in ("saturate", "brightness"):
        for severity in (1, 3, 5):
            np.testing.assert_array_equal(
                generated.load(name, severity).images, source.load(name, severity).images
            )
    assert not np.array_equal(generated.load("saturate", 5).images, cifar_files["x_test"][:12])
    shutil.rmtree(out)
