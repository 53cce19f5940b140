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


# ---- crafted archives (issue 11, item 7): nothing may be written outside data.root ----------------


def _tar_with(path, *members):
    """A .tar.gz whose members are (TarInfo fields, bytes) pairs."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for fields, payload in members:
            info = tarfile.TarInfo(fields.pop("name"))
            for key, value in fields.items():
                setattr(info, key, value)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload else None)


def _zip_with(path, *names):
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), b"payload")


def _inside(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("member", [
    {"name": "cifar-10-batches-py/../../escaped.txt"},                       # climbs out
    {"name": "ABSOLUTE"},                                                    # absolute path
    {"name": "cifar-10-batches-py/link", "type": b"2", "linkname": "../../escaped.txt"},  # symlink out
])
def test_crafted_tar_cannot_write_outside_the_data_root(tmp_path, member):
    import tarfile

    root = tmp_path / "a" / "root"
    member = dict(member)
    if member["name"] == "ABSOLUTE":
        member["name"] = str(tmp_path / "escaped.txt")
    payload = b"" if member.get("type") == tarfile.SYMTYPE else b"pwned"
    archive = tmp_path / "cifar-10-python.tar.gz"
    _tar_with(archive, ({"name": "cifar-10-batches-py/ok.txt"}, b"fine"), (member, payload))
    with pytest.raises(DataError, match=f"{archive.name}: member .* refusing"):
        load_dataset(DataConfig(dataset="cifar10", root=str(root), local_path=str(archive)))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "a" / "escaped.txt").exists()
    assert not root.exists() or _inside(root) == []      # checked before anything was written


@pytest.mark.parametrize("name", ["../escaped.txt", "tiny-imagenet-200/../../escaped.txt",
                                  "/tmp/escaped.txt", "C:\\escaped.txt"])
def test_crafted_zip_is_refused(tmp_path, name):
    root = tmp_path / "a" / "root"
    archive = tmp_path / "tiny-imagenet-200.zip"
    _zip_with(archive, "tiny-imagenet-200/wnids.txt", name)
    with pytest.raises(DataError, match="member .* refusing"):
        load_dataset(DataConfig(dataset="tinyimagenet", root=str(root), local_path=str(archive)))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "a" / "escaped.txt").exists()
    assert not root.exists() or _inside(root) == []


def test_safe_archives_extract_in_place(tmp_path):
    from ijae import archives

    _tar_with(tmp_path / "ok.tar.gz", ({"name": "top/sub/file.txt"}, b"tar"))
    _zip_with(tmp_path / "ok.zip", "top/sub/other.txt")
    archives.extract(tmp_path / "ok.tar.gz", tmp_path / "out")
    archives.extract(tmp_path / "ok.zip", tmp_path / "out")
    assert (tmp_path / "out" / "top" / "sub" / "file.txt").read_bytes() == b"tar"
    assert (tmp_path / "out" / "top" / "sub" / "other.txt").read_bytes() == b"payload"


def test_tar_checks_by_hand_without_data_filter(tmp_path, monkeypatch):
    """Python < 3.11.4 has no tarfile.data_filter: the hand-written checks refuse the same archives."""
    import tarfile

    from ijae import archives

    monkeypatch.delattr(tarfile, "data_filter")
    _tar_with(tmp_path / "bad.tar.gz", ({"name": "../escaped.txt"}, b"pwned"))
    with pytest.raises(archives.ArchiveError, match="'..'"):
        archives.extract(tmp_path / "bad.tar.gz", tmp_path / "out")
    _tar_with(tmp_path / "link.tar.gz", ({"name": "x", "type": tarfile.SYMTYPE, "linkname": "/etc"}, b""))
    with pytest.raises(archives.ArchiveError, match="link"):
        archives.extract(tmp_path / "link.tar.gz", tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "x").exists()
