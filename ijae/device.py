"""Which torch device a command runs on: ``auto`` (CUDA when visible, else CPU), cpu, cuda, cuda:N."""
from __future__ import annotations

import re

import torch

from ijae import UserError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise UserError(f"device {name!r}: expected auto, cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name!r}: no CUDA GPU is visible here; use auto or cpu")
    return torch.device(name)
