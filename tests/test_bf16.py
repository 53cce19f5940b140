"""bf16 autocast on the CPU's matrix units (issue 35; ijae/accel.py, ijae/train.py): the
precision reaches the training step, the record names it, a CPU without native bf16 falls back
with one line, and a killed bf16 run resumes to the same losses. Each test names the broken
implementation it catches."""
from __future__ import annotations

import json

import pytest
import torch

from ijae import accel, contract
from ijae import train as train_mod
from conftest import tiny_config

NATIVE, WHY = accel.cpu_bf16()


def dtypes_seen(monkeypatch, cfg, out):
    """Train ``cfg`` into ``out``, returning the dtypes every Linear / Conv2d output had."""
    seen = set()
    build = train_mod.build_model

    def spying_build(*args, **kwargs):
        model = build(*args, **kwargs)
        for module in model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                module.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
        return model

    monkeypatch.setattr(train_mod, "build_model", spying_build)
    train_mod.train(cfg, out)
    return seen


@pytest.mark.skipif(not NATIVE, reason=f"this CPU has no native bf16 matrix units ({WHY})")
def test_bf16_reaches_the_training_step_on_a_capable_cpu(tmp_path, monkeypatch):
    """A silent fall-back to float32 (autocast off, or the CUDA-only rule) fails here."""
    seen = dtypes_seen(monkeypatch, tiny_config("train.bf16=true", "train.steps=2"), tmp_path / "bf16")
    assert torch.bfloat16 in seen
    assert contract.read_timing(tmp_path / "bf16")["precision"] == "bf16 autocast"
    fp32 = dtypes_seen(monkeypatch, tiny_config("train.steps=2"), tmp_path / "fp32")
    assert fp32 == {torch.float32}
    assert contract.read_timing(tmp_path / "fp32")["precision"] == "fp32"


def test_a_cpu_without_native_bf16_falls_back_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(accel, "cpu_bf16", lambda: (False, "the CPU has none of the flags amx_bf16, avx512_bf16"))
    seen = dtypes_seen(monkeypatch, tiny_config("train.bf16=true", "train.steps=2"), tmp_path / "run")
    assert seen == {torch.float32}
    said = [line for line in capsys.readouterr().err.splitlines() if "train.bf16" in line]
    assert said == ["ijae train: train.bf16: no native bf16 matrix support (the CPU has none of "
                    "the flags amx_bf16, avx512_bf16); training in float32"]
    assert contract.read_timing(tmp_path / "run")["precision"] == "fp32"


@pytest.mark.skipif(not NATIVE, reason=f"this CPU has no native bf16 matrix units ({WHY})")
def test_a_killed_bf16_run_resumes_to_the_uninterrupted_losses(tmp_path):
    """Resume restores weights, optimizer slots and the sampler's RNG; bf16 adds no state of its
    own, so the resumed run's losses equal the uninterrupted run's (checked exactly)."""
    whole = train_mod.train(tiny_config("train.bf16=true", "train.steps=4"), tmp_path / "whole")
    part = tmp_path / "part"
    train_mod.train(tiny_config("train.bf16=true", "train.steps=2"), part)
    train_mod.train(tiny_config("train.bf16=true", "train.steps=4"), part, resume=True)
    assert (part / "losses.csv").read_text() == (whole / "losses.csv").read_text()
    assert json.loads((part / "timing.json").read_text())["precision"] == "bf16 autocast"
