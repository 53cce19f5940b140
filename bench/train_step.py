"""Training-step benchmark: time per λ-IJAE step and images/s, per profile and precision.

    python bench/train_step.py [--configs config/default.yaml config/paper.yaml] [--steps 20]
                               [--device auto] [--out results/bench/]

Each case builds the profile's networks on CIFAR-shaped synthetic data (no download), warms up,
then times ``--steps`` full steps (``d_steps`` updates of the discriminators and one G / E update) of the
real training code (``IJAE.train_step``). On CUDA it also times bf16 autocast and channels_last
against float32 in the same run and prints the ratios. Peak memory: CUDA's allocator peak, or the
process's peak RSS on CPU. Output: JSON on stdout (and ``--out DIR/train_step-<device>.json``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from ijae import config
from ijae.contract import atomic_write_text
from ijae.device import resolve_device
from ijae.train import build_model


def time_case(cfg_path: str, device: torch.device, steps: int, bf16: bool, channels_last: bool) -> dict:
    cfg = config.load(cfg_path, ["data.dataset=synthetic"])
    size = cfg.data.image_size or 32
    torch.manual_seed(0)
    model = build_model(cfg, size).to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    optimizers = model.make_optimizers(cfg.train)
    batch = cfg.train.batch_size
    data = (torch.rand(4 * batch, 3, size, size, device=device) * 2 - 1).contiguous(memory_format=memory_format)

    def next_batch():
        return data[torch.randint(0, len(data), (batch,), device=device)]

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    model.train()
    for _ in range(3):                                  # warm-up (cuDNN autotuning, allocator)
        model.train_step(next_batch, optimizers, autocast, d_steps=cfg.train.d_steps)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(steps):
        losses = model.train_step(next_batch, optimizers, autocast, d_steps=cfg.train.d_steps)
    sync()
    seconds = (time.perf_counter() - start) / steps
    finite = all(torch.isfinite(v).item() for v in losses.values())
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    # images through the networks per step: (d_steps + 1) data batches of `batch` images
    images = (cfg.train.d_steps + 1) * batch
    return {"config": cfg_path, "profile": cfg.profile, "image_size": size, "width": cfg.model.width,
            "batch_size": batch, "bf16": bf16, "channels_last": channels_last, "steps_timed": steps,
            "seconds_per_step": round(seconds, 5), "steps_per_second": round(1 / seconds, 3),
            "data_images_per_second": round(images / seconds, 1), "peak_memory_bytes": int(peak),
            "peak_memory_kind": "cuda max_memory_allocated" if device.type == "cuda" else "process peak RSS",
            "losses_finite": finite}


def cpu_name() -> str:
    model = platform.processor() or "cpu"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["config/default.yaml", "config/paper.yaml"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="folder for train_step-<device>.json")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    cases = []
    for cfg_path in args.configs:
        variants = [(False, False)] + ([(True, False), (False, True), (True, True)] if device.type == "cuda" else [])
        base = None
        for bf16, channels_last in variants:
            print(f"timing {cfg_path} bf16={bf16} channels_last={channels_last}", file=sys.stderr)
            case = time_case(cfg_path, device, args.steps, bf16, channels_last)
            base = base or case["seconds_per_step"]
            case["speedup_vs_fp32"] = round(base / case["seconds_per_step"], 3)
            cases.append(case)
    report = {"device": str(device), "device_name": name, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "cases": cases}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        tag = "cuda" if device.type == "cuda" else "cpu"
        atomic_write_text(Path(args.out) / f"train_step-{tag}.json", text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
