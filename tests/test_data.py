import urllib.error

import numpy as np
import pytest
import torch

from ijae.config import DataConfig
from ijae.data import DataError, load_dataset, resize, to_tensor, to_uint8


def test_digits_are_offline_uint8_rgb_with_a_fixed_split():
    a = load_dataset(DataConfig(dataset="digits", image_size=16))
    b = load_dataset(DataConfig(dataset="digits", image_size=16))
    assert a.train.shape == (1438, 16, 16, 3) and a.test.shape == (359, 16, 16, 3)
    assert a.train.dtype == np.uint8 and a.train.max() == 255 and a.train.min() == 0
    assert np.array_equal(a.test, b.test) and np.array_equal(a.test_labels, b.test_labels)
    assert np.array_equal(a.train[..., 0], a.train[..., 2])     # grey: equal channels
    assert set(np.unique(a.test_labels)) == set(range(10))
    native = load_dataset(DataConfig(dataset="digits"))
    assert native.train.shape[1:] == (8, 8, 3)


def test_synthetic_is_deterministic_and_sized():
    cfg = DataConfig(dataset="synthetic", image_size=16, synthetic_train=10, synthetic_test=4)
    a, b = load_dataset(cfg), load_dataset(cfg)
    assert a.train.shape == (10, 16, 16, 3) and a.test.shape == (4, 16, 16, 3)
    assert np.array_equal(a.train, b.train)


def test_uint8_float_round_trip_is_exact():
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    x = to_tensor(images)
    assert x.shape == (5, 3, 4, 4) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(to_uint8(x), images)
    assert np.array_equal(to_uint8(torch.full((1, 3, 2, 2), 7.0)), np.full((1, 2, 2, 3), 255, np.uint8))


def test_resize_keeps_constant_images_constant():
    images = np.full((2, 8, 8, 3), 200, np.uint8)
    assert np.array_equal(resize(images, 16), np.full((2, 16, 16, 3), 200, np.uint8))


def test_offline_cifar_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_utils, "urlretrieve", offline, raising=False)
    monkeypatch.setattr(tv_utils, "_urlretrieve", offline, raising=False)
    monkeypatch.setattr(tv_utils, "download_url", offline)
    for download in (True, False):
        with pytest.raises(DataError) as info:
            load_dataset(DataConfig(dataset="cifar10", root=str(tmp_path), download=download))
        message = str(info.value)
        assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
        assert str(tmp_path / "cifar-10-python.tar.gz") in message and "data.local_path" in message


def test_datasets_follow_the_work_folder_unless_a_root_is_given(tmp_path, monkeypatch):
    """data.root null (the default) means <work folder>/data: IJAE_WORK moves the datasets with
    the runs, clones and caches; a config that names a root keeps it."""
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "scratch"))
    assert DataConfig().root is None
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="tinyimagenet", download=False))
    assert str(tmp_path / "scratch" / "data" / "tiny-imagenet-200.zip") in str(info.value)
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="tinyimagenet", root=str(tmp_path / "mine"), download=False))
    assert str(tmp_path / "mine" / "tiny-imagenet-200.zip") in str(info.value)


def test_missing_local_copy_is_named(tmp_path):
    with pytest.raises(DataError, match="data.local_path .*nowhere.* does not exist"):
        load_dataset(DataConfig(dataset="cifar10", local_path=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="tiny-imagenet-200.zip"):
        load_dataset(DataConfig(dataset="tinyimagenet", root=str(tmp_path), download=False))


def test_cifar_local_copy_is_read(tmp_path, monkeypatch):
    # a miniature CIFAR-10 in the original pickle layout, made here
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": list(range(4))}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    import torchvision.datasets.cifar as cifar

    # our miniature files lack the real md5 sums
    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *args: True)
    ds = load_dataset(DataConfig(dataset="cifar10", local_path=str(folder)))
    assert ds.train.shape == (20, 32, 32, 3) and ds.test.shape == (4, 32, 32, 3)
    first = pickle.loads((folder / "data_batch_1").read_bytes())["data"][0]
    assert np.array_equal(ds.train[0], first.reshape(3, 32, 32).transpose(1, 2, 0))
