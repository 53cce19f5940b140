"""The artifact contract every model ends in (docs/design.md), with atomic writes and checked reads.

    <run>/config.yaml            the resolved run config
    <run>/checkpoint.pt          whatever the model needs to resume / export
    <run>/samples.npz            images: uint8 [N, H, W, 3]
    <run>/reconstructions.npz    originals, reconstructions: uint8 [M, H, W, 3]
    <run>/metrics.json           one flat record
    <run>/timing.json            training seconds and threads (the generic loop; optional)

Everything downstream of a model reads these files through this module, never a checkpoint.
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ijae import UserError

CONFIG = "config.yaml"
CHECKPOINT = "checkpoint.pt"
SAMPLES = "samples.npz"
RECONSTRUCTIONS = "reconstructions.npz"
METRICS = "metrics.json"
TIMING = "timing.json"     # training wall time, written by the training loop at each checkpoint
PROGRESS = "progress.json"  # step, total and time left while a run trains (`ijae status` reads it)


class ContractError(UserError, ValueError):
    """An artifact file does not follow the contract; the message says what is wrong."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: a crash leaves the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # TEMP_GLOB
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide results from collaborators
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


TEMP_GLOB = ".*.tmp"   # the names atomic_write_bytes gives its temporary files


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temporary files a killed atomic write left in ``folder``; call it only while no
    other process can be writing there (ijae.runlock holds the folder). Returns what was removed."""
    stale = [p for p in Path(folder).glob(TEMP_GLOB) if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def check_images(name: str, images: np.ndarray) -> np.ndarray:
    """Refuse anything but uint8 [N, H, W, 3] with N > 0."""
    if not isinstance(images, np.ndarray):
        raise ContractError(f"{name}: expected a numpy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise ContractError(f"{name}: dtype {images.dtype}, expected uint8 (pixel values 0..255)")
    if images.ndim != 4:
        raise ContractError(f"{name}: shape {images.shape}, expected [N, H, W, 3] (4 dimensions)")
    if images.shape[-1] != 3:
        raise ContractError(f"{name}: {images.shape[-1]} channels in shape {images.shape}, "
                            "expected 3 in the last dimension (NHWC RGB)")
    if images.shape[0] == 0:
        raise ContractError(f"{name}: no images (shape {images.shape})")
    return images


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _load_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: file not found")
    # allow_pickle=False: an object array is refused, never unpickled (that could run code)
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise ValueError("a bare .npy array, not an .npz archive")
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise ContractError(f"{path}: missing array(s) {missing}; it holds {data.files}, "
                                    f"expected {list(keys)}")
            arrays = {k: data[k] for k in keys}
    except ContractError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ContractError(f"{path}: not a readable .npz of uint8 images ({' '.join(str(error).split())[:200]}); "
                            "export the run again (ijae export)") from None
    return {k: check_images(f"{path}[{k}]", a) for k, a in arrays.items()}


def save_samples(path: str | Path, images: np.ndarray) -> None:
    _save_npz(Path(path), images=check_images("samples", images))


def load_samples(path: str | Path) -> np.ndarray:
    return _load_npz(Path(path), ("images",))["images"]


def save_reconstructions(path: str | Path, originals: np.ndarray, reconstructions: np.ndarray) -> None:
    _check_pairs(str(path), check_images("originals", originals),
                 check_images("reconstructions", reconstructions))
    _save_npz(Path(path), originals=originals, reconstructions=reconstructions)


def load_reconstructions(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    arrays = _load_npz(Path(path), ("originals", "reconstructions"))
    _check_pairs(str(path), arrays["originals"], arrays["reconstructions"])
    return arrays["originals"], arrays["reconstructions"]


def _check_pairs(name: str, originals: np.ndarray, reconstructions: np.ndarray) -> None:
    if originals.shape != reconstructions.shape:
        raise ContractError(f"{name}: originals {originals.shape} and reconstructions "
                            f"{reconstructions.shape} differ; expected one reconstruction per original")


def write_timing(run: str | Path, seconds: float, cpu_seconds: float, threads: int,
                 step: int, precision: str | None = None) -> None:
    import json

    atomic_write_text(Path(run) / TIMING, json.dumps(
        {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "threads": threads,
         "step": step, **({"precision": precision} if precision else {})}) + "\n")


def read_timing(run: str | Path) -> dict:
    """{seconds (wall), cpu_seconds (the process's CPU time: what a busy machine does not
    inflate), threads, step[, precision]} of ``run``'s timing.json ({} where a model's own
    training wrote none, or the file is unreadable: timing is provenance, never a result)."""
    import json

    try:
        timing = json.loads((Path(run) / TIMING).read_text())
        return {"seconds": float(timing["seconds"]), "cpu_seconds": float(timing["cpu_seconds"]),
                "threads": int(timing["threads"]), "step": int(timing["step"]),
                **({"precision": str(timing["precision"])} if timing.get("precision") else {})}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
