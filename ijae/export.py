"""Export a trained run into the artifact contract: samples.npz and reconstructions.npz.

Deterministic for a given seed: all noise (the prior z and the encoder's injected xi) is drawn
inside a forked RNG seeded with ``seed``, in fixed-size batches. Picture grids (samples.png,
reconstructions.png) are written beside the arrays for people to look at.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ijae import UserError, checkpoint, config as config_mod, runlock
from ijae.contract import CHECKPOINT, CONFIG, RECONSTRUCTIONS, SAMPLES, save_reconstructions, save_samples
from ijae.data import image_size, load_dataset, to_tensor, to_uint8
from ijae.device import resolve_device
from ijae.train import build_model


class NonFiniteOutputError(UserError, RuntimeError):
    """The model's outputs hold NaN or inf: its weights are broken (a diverged run)."""


def load_model(run: Path, device: torch.device):
    """(config, trained model in eval mode) from a run folder."""
    for name in (CONFIG, CHECKPOINT):
        if not (run / name).is_file():
            raise UserError(f"{run / name} not found: is {run} a trained run folder?")
    cfg = config_mod.load(run / CONFIG)
    state = checkpoint.load(run / CHECKPOINT, device)
    model = build_model(cfg, image_size(cfg.data)).to(device)
    model.load_state_dict(state["model"])
    return cfg, model.eval()


def export_run(run: str | Path, n_samples: int | None = None, n_reconstructions: int | None = None,
               seed: int = 0, device: str = "auto") -> tuple[Path, Path]:
    """Write ``run``'s samples.npz and reconstructions.npz, holding the run folder's lock."""
    for name, value in (("n_samples", n_samples), ("n_reconstructions", n_reconstructions)):
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} {value}: expected a positive integer "
                            "(leave it out for the config's export value)")
    run = Path(run)
    with runlock.hold(run, "export"):
        return _export(run, n_samples, n_reconstructions, seed, resolve_device(device))


def _export(run: Path, n_samples: int | None, n_reconstructions: int | None, seed: int,
            dev: torch.device) -> tuple[Path, Path]:
    cfg, model = load_model(run, dev)
    n_samples = n_samples if n_samples is not None else cfg.export.n_samples
    batch = cfg.export.batch_size
    test = load_dataset(cfg.data).test
    n_rec = min(n_reconstructions or cfg.export.n_reconstructions or len(test), len(test))
    originals = test[:n_rec]
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        samples = np.concatenate([finite_uint8(run, "samples",
                                               model.sample(min(batch, n_samples - i), _like(dev)))
                                  for i in tqdm(range(0, n_samples, batch), desc="samples",
                                                file=sys.stderr, disable=None)])
        recons = np.concatenate([finite_uint8(run, "reconstructions",
                                              model.reconstruct(to_tensor(originals[i:i + batch]).to(dev)))
                                 for i in range(0, n_rec, batch)])
    save_samples(run / SAMPLES, samples)
    save_reconstructions(run / RECONSTRUCTIONS, originals, recons)
    save_grids(run, samples, originals, recons)
    return run / SAMPLES, run / RECONSTRUCTIONS


def finite_uint8(run: Path, what: str, images: torch.Tensor) -> np.ndarray:
    """to_uint8, refusing NaN / inf (which would become plausible-looking black images)."""
    bad = int((~torch.isfinite(images)).sum())
    if bad:
        raise NonFiniteOutputError(f"{run}: the model's {what} hold {bad} NaN or inf value(s) in a batch of "
                        f"{len(images)}; its weights are broken, nothing was exported (retrain, "
                        "e.g. with a lower learning rate)")
    return to_uint8(images)


def _like(device: torch.device) -> torch.Tensor:
    return torch.empty(0, device=device)


GRID_MIN_PX = 64   # each image of samples.png / reconstructions.png at least this wide (nearest)


def save_grids(run: Path, samples: np.ndarray, originals: np.ndarray, recons: np.ndarray) -> None:
    """samples.png (8 x 8) and reconstructions.png (rows of originals, each followed by its
    reconstructions), every image upscaled (nearest) to at least GRID_MIN_PX pixels, so a 16-px
    digit is big enough to judge (at its own size the grid was 137 px wide)."""
    from torchvision.utils import save_image

    scale = max(1, -(-GRID_MIN_PX // int(samples.shape[1])))

    def as_float(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
        return torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest") if scale > 1 else x

    save_image(as_float(samples[:64]), run / "samples.png", nrow=8, padding=2, pad_value=1.0)
    nrow = min(8, len(originals))
    k = min(32, len(originals)) // nrow * nrow
    pairs = torch.stack([as_float(originals[:k]), as_float(recons[:k])])     # [2, k, 3, H, W]
    rows = pairs.view(2, k // nrow, nrow, *pairs.shape[2:]).transpose(0, 1)  # original row, its recon row
    save_image(rows.flatten(0, 2), run / "reconstructions.png", nrow=nrow, padding=2, pad_value=1.0)
