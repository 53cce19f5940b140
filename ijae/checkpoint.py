"""Checkpoints: atomic save, load, and the RNG state that makes a resumed run bit-identical."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from ijae.contract import atomic_write_bytes

FORMAT = 1


def rng_state(data_generator: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "data": data_generator.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, data_generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    data_generator.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(path: str | Path, **payload) -> None:
    """torch.save into memory, then an atomic rename: a kill mid-write keeps the previous file."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "torch_version": str(torch.__version__), **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load(path: str | Path, device: torch.device | str = "cpu") -> dict:
    # Our own files: tensors, dicts and RNG byte states only, so weights_only loading suffices.
    return torch.load(Path(path), map_location=device, weights_only=True)
