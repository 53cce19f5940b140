"""Training-step benchmark: every speed variant of the λ-IJAE step against eager fp32, per profile.

    python bench/train_step.py [--configs config/default.yaml config/paper.yaml] [--steps 30]
                               [--device auto] [--variants NAME ...] [--with-compile]
                               [--out results/bench]

Each case runs the real training code (``IJAE.train_step`` with ijae/accel.py's sampler, Adam
setting and CUDA graph) on CIFAR-shaped synthetic data held on the device (no download): warm-up
(and capture, for CUDA graphs), then ``--steps`` timed steps whose losses are stacked on the device
as the training loop does. It prints, per variant: seconds per step, the ratio to eager fp32 timed
in the same run, FLOPs per step (torch.utils.flop_counter on one eager fp32 step; forward and
backward of every network, optimiser arithmetic not counted), achieved TFLOP/s, and peak memory
(CUDA's allocator peak; on CPU the process's peak RSS, which only grows from case to case).
On CPU only the variants that apply run (CUDA graphs and reduce-overhead are CUDA-only; bf16 runs
where the CPU has native bf16 matrix units, ijae/accel.py's cpu_bf16, which the JSON names;
torch.compile only with ``--with-compile``, on any device: inductor's code generation takes
minutes).
Output: JSON on stdout and ``--out``/train_step-<device>.json, the device named inside.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ijae import accel, config
from ijae.contract import atomic_write_text
from ijae.device import resolve_device
from ijae.registry import build_model

# name: (bf16, channels_last, adam_impl, cuda_graphs, compile mode)
VARIANTS = {
    "eager-fp32": (False, False, "default", False, "none"),
    "fused-adam": (False, False, "fused", False, "none"),
    "foreach-adam": (False, False, "foreach", False, "none"),
    "bf16": (True, False, "default", False, "none"),
    "channels-last": (False, True, "default", False, "none"),
    "bf16+channels-last": (True, True, "default", False, "none"),
    "fused+graphs": (False, False, "fused", True, "none"),
    "fused+graphs+bf16": (True, False, "fused", True, "none"),
    "fused+graphs+channels-last": (False, True, "fused", True, "none"),
    "fused+graphs+bf16+channels-last": (True, True, "fused", True, "none"),
    "fused+compile": (False, False, "fused", False, "default"),
    "fused+compile-reduce-overhead": (False, False, "fused", False, "reduce-overhead"),
}
# derived from the table, so a new variant cannot be left out of them
CUDA_ONLY = {name for name, (bf16, channels_last, _, graphs, mode) in VARIANTS.items()
             if graphs or mode == "reduce-overhead"}
BF16 = {name for name, variant in VARIANTS.items() if variant[0]}
COMPILED = {name for name, variant in VARIANTS.items() if variant[4] != "none"}


def setup(cfg, device: torch.device, variant: str):
    """The step callable of ``variant``, built as ijae/train.py builds it."""
    bf16, channels_last, adam_impl, graphs, compile_mode = VARIANTS[variant]
    size = cfg.data.image_size or 32
    torch.manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    images = np.random.default_rng(0).integers(0, 256, (4 * cfg.train.batch_size, size, size, 3),
                                               dtype=np.uint8)
    sampler = accel.BatchSampler(images, cfg.train.batch_size, 1, device, memory_format)
    model = build_model(cfg, size).to(device)
    model.to(memory_format=memory_format)
    optimizers = model.make_optimizers(cfg.train)
    use_graphs = graphs and accel.graphs_apply(model, device, True)
    accel.configure_adam(optimizers, adam_impl, device, capturable=use_graphs)
    accel.compile_networks(model, compile_mode)

    def autocast():   # as ijae/train.py: CUDA, or a CPU with native bf16 matrix units
        return (torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not use_graphs)
                if bf16 else contextlib.nullcontext())

    def step():
        return model.train_step(sampler, optimizers, autocast, d_steps=cfg.train.d_steps)

    model.train()
    return accel.GraphedStep(step, optimizers, [sampler.generator]) if use_graphs else step


def flops_per_step(cfg, device: torch.device) -> int:
    step = setup(cfg, device, "eager-fp32")
    step()                                               # Adam state exists, as in a timed step
    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(cfg, device: torch.device, variant: str, steps: int) -> dict:
    step = setup(cfg, device, variant)
    for _ in range(accel.WARMUP_STEPS + 3):              # autotuning, Adam state, graph capture
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    logged = []
    start = time.perf_counter()
    for _ in range(steps):
        losses = step()
        logged.append(torch.stack([v.detach().float() for v in losses.values()]))
    sync(device)
    seconds = (time.perf_counter() - start) / steps
    finite = bool(torch.isfinite(torch.stack(logged)).all())
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"variant": variant, "seconds_per_step": round(seconds, 6),
            "steps_per_second": round(1 / seconds, 3), "peak_memory_bytes": int(peak),
            "losses_finite": finite}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or "cpu"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores"


def variants_for(device: torch.device, asked: list[str] | None, with_compile: bool) -> list[str]:
    """eager-fp32 first (the baseline), then the asked (or all) variants that apply here."""
    unknown = [v for v in asked or [] if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"train_step.py: unknown variant {unknown[0]}; choose from {', '.join(VARIANTS)}")
    names = asked or [v for v in VARIANTS if with_compile or v not in COMPILED]
    skipped = [v for v in names if device.type != "cuda" and v in CUDA_ONLY]
    if device.type == "cpu" and not accel.cpu_bf16()[0]:
        skipped += [v for v in names if v in BF16 and v not in skipped]
    if skipped:
        print(f"train_step.py: not timed on {device} (CUDA-only, or bf16 without native bf16 "
              f"matrix units): {', '.join(skipped)}", file=sys.stderr)
    return ["eager-fp32", *[v for v in names if v != "eager-fp32" and v not in skipped]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["config/default.yaml", "config/paper.yaml"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variants", nargs="+", help=f"default: all that apply ({', '.join(VARIANTS)})")
    parser.add_argument("--with-compile", action="store_true", help="time torch.compile on CPU too")
    parser.add_argument("--out", default="results/bench", help="folder for train_step-<device>.json")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    name = device_name(device)
    cases = []
    for cfg_path in args.configs:
        cfg = config.load(cfg_path, ["data.dataset=synthetic"])
        flops = flops_per_step(cfg, device)
        base = None
        for variant in variants_for(device, args.variants, args.with_compile):
            print(f"timing {cfg.profile} {variant} on {name}", file=sys.stderr)
            case = time_case(cfg, device, variant, args.steps)
            base = base or case["seconds_per_step"]
            case.update({"config": cfg_path, "profile": cfg.profile, "image_size": cfg.data.image_size or 32,
                         "width": cfg.model.width, "batch_size": cfg.train.batch_size,
                         "speedup_vs_eager_fp32": round(base / case["seconds_per_step"], 3),
                         "flops_per_step": flops,
                         "tflops_per_second": round(flops / case["seconds_per_step"] / 1e12, 4)})
            cases.append(case)
            print(f"  {case['seconds_per_step'] * 1e3:9.2f} ms/step  {case['speedup_vs_eager_fp32']:6.2f}x  "
                  f"{flops / 1e9:8.1f} GFLOP  {case['tflops_per_second']:8.3f} TFLOP/s  "
                  f"peak {case['peak_memory_bytes'] / 2**30:.2f} GiB", file=sys.stderr)
    report = {"device": str(device), "device_name": name, "torch": torch.__version__,
              "cpu_bf16": accel.cpu_bf16()[1] if accel.cpu_bf16()[0] else None,
              "threads": torch.get_num_threads(), "steps_timed": args.steps,
              "peak_memory_kind": ("cuda max_memory_allocated" if device.type == "cuda"
                                   else "process peak RSS (monotone over the cases)"),
              "cases": cases}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
        slug = slug if device.type == "cuda" else f"cpu-{slug.split('-cores')[0].rsplit('-', 1)[0]}"
        atomic_write_text(Path(args.out) / f"train_step-{slug}.json", text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
