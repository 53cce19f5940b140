"""LPIPS between test images and their reconstructions, through the official ``lpips`` package.

Version 0.1 with the AlexNet trunk by default (the paper's setting; VGG selectable). Inputs go
from uint8 to [-1, 1] as ``x / 127.5 - 1``, the range ``lpips`` expects. The learned linear
layers ship inside the package; the trunk is torchvision's ImageNet AlexNet / VGG16, which
``lpips`` downloads into torch hub's cache. For offline machines, ``weights`` (``--lpips-weights``,
env ``IJAE_LPIPS_WEIGHTS``) is either

- a local copy of torchvision's trunk file (``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``),
- or ``random``: an untrained trunk, FOR TESTS ONLY; the metric is then named ``...-random-trunk``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ijae import UserError
from ijae.data import to_tensor

NETS = ("alex", "vgg")
MIN_SIZE = {"alex": 31, "vgg": 16}  # smaller inputs pool away to nothing inside the trunk


class LpipsWeightsError(UserError, RuntimeError):
    """The trunk weights are missing or unreadable; the message says what to put where."""


def to_lpips_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [-1, 1]: x / 127.5 - 1 (0 -> -1, 255 -> 1)."""
    return to_tensor(images)


def trunk_weights(net: str):
    import torchvision

    return {"alex": torchvision.models.AlexNet_Weights.IMAGENET1K_V1,
            "vgg": torchvision.models.VGG16_Weights.IMAGENET1K_V1}[net]


def metric_name(net: str, version: str, weights: str | Path | None) -> str:
    name = f"lpips-{net}-{version}"
    return f"{name}-random-trunk" if str(weights) == "random" else name


def build(net: str = "alex", version: str = "0.1", weights: str | Path | None = None):
    """An ``lpips.LPIPS`` module in eval mode; raises :class:`LpipsWeightsError` when offline."""
    if net not in NETS:
        raise UserError(f"LPIPS net {net!r}: expected one of {NETS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's 'pretrained' deprecation, via lpips
        import lpips

        linear = Path(lpips.__file__).parent / "weights" / f"v{version}" / f"{net}.pth"
        if not linear.is_file():
            raise UserError(f"LPIPS version {version!r}: the lpips package has no linear-layer "
                            f"weights {linear}; expected 0.1 (or 0.0)")
        if weights is None:
            url = trunk_weights(net).url
            hub_file = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
            try:
                return lpips.LPIPS(net=net, version=version, verbose=False).eval()
            except Exception as error:  # URLError / OSError offline
                raise LpipsWeightsError(
                    f"LPIPS needs torchvision's {net} ImageNet weights and could not download them "
                    f"({error}). Download {url} and put it at {hub_file} (torch hub's cache; "
                    f"TORCH_HOME moves it), or pass --lpips-weights FILE "
                    "(env IJAE_LPIPS_WEIGHTS).") from error
        model = lpips.LPIPS(net=net, version=version, pnet_rand=True, verbose=False).eval()
    if str(weights) != "random":
        _load_trunk(model, Path(weights), net)
    return model


def _load_trunk(model, path: Path, net: str) -> None:
    """Copy torchvision's ``features.*`` weights into lpips' trunk slices (named by index)."""
    if not path.is_file():
        raise LpipsWeightsError(f"LPIPS trunk weights {path} do not exist; expected torchvision's "
                                f"{trunk_weights(net).url.rsplit('/', 1)[-1]} "
                                f"(from {trunk_weights(net).url})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for slice_ in (m for n, m in model.net.named_children() if n.startswith("slice")):
            for index, layer in slice_.named_children():
                if any(True for _ in layer.parameters()):
                    layer.load_state_dict({k: state[f"features.{index}.{k}"]
                                           for k in layer.state_dict()})
    except Exception as error:
        raise LpipsWeightsError(f"{path} is not torchvision's {net} state dict ({error}); "
                                f"expected the file from {trunk_weights(net).url}") from error


def check_size(shape: tuple, net: str) -> None:
    if min(shape[1:3]) < MIN_SIZE.get(net, 0):
        raise UserError(f"LPIPS-{net} needs images of at least {MIN_SIZE[net]}x{MIN_SIZE[net]} "
                        f"(its trunk pools smaller ones away); these are {shape[1]}x{shape[2]}. "
                        "Use the digits backend for them")


def distances(originals: np.ndarray, reconstructions: np.ndarray, *, net: str = "alex",
              version: str = "0.1", weights: str | Path | None = None, device: str = "cpu",
              batch_size: int = 64, model=None) -> np.ndarray:
    """LPIPS of each (original, reconstruction) pair: float64 [M]. Batched, on ``device``."""
    from tqdm import tqdm

    if originals.shape != reconstructions.shape:
        raise UserError(f"originals {originals.shape} and reconstructions {reconstructions.shape} "
                        "differ; expected one reconstruction per original")
    check_size(originals.shape, net)
    model = (model or build(net, version, weights)).to(device)
    out = []
    with torch.no_grad():
        for start in tqdm(range(0, len(originals), batch_size), desc="LPIPS", unit="batch",
                          leave=False):
            a = to_lpips_input(originals[start:start + batch_size]).to(device)
            b = to_lpips_input(reconstructions[start:start + batch_size]).to(device)
            out.append(model(a, b).flatten().double().cpu())
    return torch.cat(out).numpy()
