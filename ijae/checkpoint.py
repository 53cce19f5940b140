"""Checkpoints: atomic save of finite weights only, load, and every RNG state a resume needs.

RNG states (the CPU generator, the data generator, each CUDA device's) are CPU byte tensors when
saved, but ``torch.load(map_location=...)`` may hand them back on another device or in another
form; ``restore_rng`` turns each back into a contiguous CPU uint8 tensor, the only form
``set_rng_state`` / ``Generator.set_state`` accept, so a run saved on a GPU resumes anywhere.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import torch

from ijae import UserError
from ijae.contract import atomic_write_bytes

FORMAT = 1


class NonFiniteCheckpointError(UserError, RuntimeError):
    """The weights to save hold NaN or inf; the message says whether a good checkpoint exists."""


def rng_state(data_generator: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "data": data_generator.get_state(),
             "data_device": data_generator.device.type}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def as_byte_state(state: torch.Tensor) -> torch.Tensor:
    """An RNG state as set_rng_state wants it: a contiguous CPU uint8 tensor (values unchanged)."""
    return torch.as_tensor(state).detach().to(device="cpu", dtype=torch.uint8).contiguous()


def restore_rng(state: dict, data_generator: torch.Generator, fallback_seed: int = 0) -> None:
    torch.set_rng_state(as_byte_state(state["torch"]))
    saved_on = state.get("data_device", "cpu")
    if saved_on == data_generator.device.type:
        data_generator.set_state(as_byte_state(state["data"]))
    else:  # a CPU and a CUDA generator have different states: same seed family, new data order
        data_generator.manual_seed(fallback_seed)
        print(f"ijae train: the checkpoint's data order was drawn on {saved_on}, this run draws on "
              f"{data_generator.device.type}; the resumed data order is new (still seeded)",
              file=sys.stderr)
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [as_byte_state(s) for s in state["cuda"]]
        torch.cuda.set_rng_state_all(cuda_states[:torch.cuda.device_count()])


def non_finite_tensors(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or inf (one device sync for all)."""
    names = [n for n, t in tensors.items() if torch.is_tensor(t) and t.is_floating_point()]
    if not names:
        return []
    first = tensors[names[0]].device
    flags = torch.stack([torch.isfinite(tensors[n]).all().to(first) for n in names]).cpu()
    return [n for n, ok in zip(names, flags.tolist()) if not ok]


def check_finite(path: Path, step: int, model_state: dict) -> None:
    """Refuse to save NaN / inf weights; say truthfully what the file at ``path`` holds."""
    bad = non_finite_tensors(model_state)
    if not bad:
        return
    good = describe(path)
    raise NonFiniteCheckpointError(
        f"step {step}: {len(bad)} weight tensor(s) hold NaN or inf (first: {bad[0]}); not saved. "
        f"{good} (try a lower learning rate or train.bf16=false)")


def describe(path: Path) -> str:
    """One sentence: is there a good checkpoint at ``path``, and at which step?"""
    path = Path(path)
    if not path.is_file():
        return f"No checkpoint exists at {path}."
    try:
        step = torch.load(path, map_location="cpu", weights_only=True)["step"]
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        return f"{path} exists but cannot be read ({type(error).__name__})."
    return f"The last good checkpoint, {path}, is at step {step} and intact."


def save(path: str | Path, **payload) -> None:
    """torch.save into memory, then an atomic rename: a kill mid-write keeps the previous file.
    Weights with NaN or inf are refused (NonFiniteCheckpointError), leaving the previous file."""
    if "model" in payload:
        check_finite(Path(path), payload.get("step", -1), payload["model"])
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "torch_version": str(torch.__version__), **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load(path: str | Path, device: torch.device | str = "cpu", map_location=None) -> dict:
    """Load a checkpoint onto ``device`` (or through ``map_location``, torch.load's argument).
    Our own files hold tensors, dicts and RNG byte states only, so weights_only loading suffices."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location or device, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise UserError(f"{path} cannot be read ({type(error).__name__}: {str(error)[:120]}); "
                        "it is truncated or not a checkpoint: delete it to start over") from error
