#!/usr/bin/env python
"""Benchmark the metrics: our IS/FID path against torch-fidelity's own ``fidelity`` command, and
LPIPS throughput.

    python bench/metrics.py [--weights FILE] [--n-samples 200] [--n-reference 200] [--repeats 3]
                            [--threads N] [--lpips-weights FILE] [--device auto]
                            [--out results/bench/]

1. IS + FID of the same images, twice: in-process through ``ijae.metrics.inception`` (cold cache,
   then with the reference statistics cached), and as a subprocess running torch-fidelity's CLI
   on PNG folders of those images (``fidelity --isc --fid --no-cache``), alternating ``--repeats``
   times (minimum kept: other processes on a shared machine only ever add time). Prints both
   times, their ratio, the CLI's bare start-up time (``fidelity --help``) and whether the scores
   agree.
2. LPIPS (AlexNet, v0.1) pairs per second on the CPU, and on the GPU when there is one.

Without ``--weights`` (offline), the Inception weights are Kaiming-random ones built here: the
timing is real, the scores are meaningless, and the output says so (``inception_weights``). The
same goes for LPIPS without ``--lpips-weights`` (a random trunk; same cost as the real one).
JSON goes to stdout (and to ``--out`` if given); progress to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ijae.config import DataConfig
from ijae.contract import atomic_write_text
from ijae.data import load_dataset
from ijae.metrics.keys import KEY_METRIC_FID, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD
from ijae.metrics import fidelity, inception, lpips_distance


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def write_pngs(images: np.ndarray, folder: Path) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for i, image in enumerate(images):  # zero-padded names: the CLI's sorted order is ours
        Image.fromarray(image).save(folder / f"{i:06d}.png")
    return folder


def fidelity_command() -> list[str]:
    exe = Path(sys.executable).with_name("fidelity")
    return [str(exe)] if exe.is_file() else [shutil.which("fidelity") or "fidelity"]


def bench_is_fid(args, weights: Path, device: str, tmp: Path) -> dict:
    ds = load_dataset(DataConfig(dataset="synthetic", image_size=args.image_size,
                                 synthetic_train=args.n_reference, synthetic_test=args.n_samples))
    samples, reference = ds.test, ds.train
    common = dict(reference_name="bench", weights=weights, splits=args.is_splits, device=device,
                  batch_size=args.batch_size, verbose=False)
    dirs = write_pngs(samples, tmp / "samples"), write_pngs(reference, tmp / "reference")
    cmd = fidelity_command() + [
        "--input1", str(dirs[0]), "--input2", str(dirs[1]), "--isc", "--fid", "--json",
        "--no-cache", "--silent", "--isc-splits", str(args.is_splits),
        "--batch-size", str(args.batch_size), "--feature-extractor-weights-path", str(weights)]
    cmd += ["--gpu", "0"] if device.startswith("cuda") else ["--cpu"]
    env = dict(os.environ)
    if args.threads:  # the same thread budget on both sides
        env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                   "OPENBLAS_NUM_THREADS")})
    log(f"{len(samples)} samples vs {len(reference)} reference images on {device}, "
        f"{args.repeats} alternating repeats; CLI: " + " ".join(cmd))
    ours_cold, ours_warm, cli_times, startups = [], [], [], []
    for repeat in range(args.repeats):  # alternate, so load from other processes hits both sides
        cache = tmp / f"cache{repeat}"
        t = time.perf_counter()
        ours = inception.generation_metrics(samples, reference, cache_dir=cache, **common)
        ours_cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        inception.generation_metrics(samples, reference, cache_dir=cache, **common)
        ours_warm.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(fidelity_command() + ["--help"], capture_output=True, check=True, env=env)
        startups.append(time.perf_counter() - t)
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        cli_times.append(time.perf_counter() - t)
        log(f"repeat {repeat}: ours {ours_cold[-1]:.1f} s (reference cached {ours_warm[-1]:.1f} s), "
            f"CLI {cli_times[-1]:.1f} s (start-up {startups[-1]:.1f} s)")
    ours_cold, ours_warm, cli_seconds, startup = map(min, (ours_cold, ours_warm, cli_times, startups))
    cli = json.loads(done.stdout[done.stdout.index("{"):])
    cli_scores = {KEY_METRIC_IS_MEAN: cli["inception_score_mean"],
                  KEY_METRIC_IS_STD: cli["inception_score_std"],
                  KEY_METRIC_FID: cli["frechet_inception_distance"]}
    return {
        "n_samples": len(samples), "n_reference": len(reference), "image_size": args.image_size,
        "is_splits": args.is_splits, "batch_size": args.batch_size,
        "threads": args.threads or torch.get_num_threads(), "repeats": args.repeats,
        "timing": "minimum over repeats",
        "ours_seconds_cold": round(ours_cold, 3), "ours_seconds_reference_cached": round(ours_warm, 3),
        "fidelity_cli_seconds": round(cli_seconds, 3),
        "fidelity_cli_startup_seconds": round(startup, 3),
        "ratio_ours_cold_over_cli": round(ours_cold / cli_seconds, 3),
        "ratio_ours_cold_over_cli_minus_startup": round(ours_cold / max(cli_seconds - startup, 1e-9), 3),
        "ours_scores": {k: ours[k] for k in cli_scores},
        "cli_scores": cli_scores,
        "scores_agree": all(np.isclose(ours[k], cli_scores[k], rtol=1e-5, atol=1e-6)
                            for k in cli_scores),
    }


def bench_lpips(args, device: str) -> dict:
    size = max(args.image_size, 32)
    ds = load_dataset(DataConfig(dataset="synthetic", image_size=size, synthetic_train=1,
                                 synthetic_test=args.lpips_pairs))
    rng = np.random.default_rng(0)
    noisy = np.clip(ds.test + rng.normal(0, 20, ds.test.shape), 0, 255).astype(np.uint8)
    model = lpips_distance.build("alex", "0.1", args.lpips_weights or "random")
    lpips_distance.distances(ds.test[:8], noisy[:8], model=model, device=device)  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    d = lpips_distance.distances(ds.test, noisy, model=model, device=device,
                                 batch_size=args.lpips_batch_size)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    log(f"LPIPS on {device}: {len(d) / seconds:.0f} pairs/s")
    return {"device": device, "pairs": len(d), "image_size": size,
            "batch_size": args.lpips_batch_size, "seconds": round(seconds, 3),
            "pairs_per_second": round(len(d) / seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="torch-fidelity Inception weights file (default: build "
                                          "Kaiming-random ones: timing only)")
    parser.add_argument("--lpips-weights", help="torchvision AlexNet file (default: random trunk)")
    parser.add_argument("--n-samples", type=int, default=200)
    parser.add_argument("--n-reference", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--is-splits", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lpips-pairs", type=int, default=1024)
    parser.add_argument("--lpips-batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads for both sides (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timing repeats")
    parser.add_argument("--skip-is-fid", action="store_true", help="LPIPS only")
    parser.add_argument("--out", help="also write the JSON as OUT/metrics-<device>.json, e.g. results/bench/")
    args = parser.parse_args(argv)

    device = fidelity.resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits  # numpy's BLAS (FID's eigvals), as in the CLI

        threadpool_limits(args.threads)
    result = {
        "bench": "metrics", "host": platform.node(), "cpu_threads": torch.get_num_threads(),
        "device": device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else platform.machine(),
        "torch": torch.__version__,
        "lpips_weights": args.lpips_weights or "RANDOM trunk (timing only; scores meaningless)",
    }
    with tempfile.TemporaryDirectory(prefix="ijae-bench-") as tmp:
        tmp = Path(tmp)
        if args.weights:
            weights = Path(args.weights)
            result["inception_weights"] = str(weights)
        else:
            log("no --weights: building Kaiming-random Inception weights (timing only)")
            weights = inception.random_weights(tmp / "inception-kaiming-random.pth")
            result["inception_weights"] = "KAIMING-RANDOM (timing only; scores meaningless)"
        if not args.skip_is_fid:
            result["is_fid"] = bench_is_fid(args, weights, device, tmp)
    result["lpips"] = [bench_lpips(args, "cpu")]
    if torch.cuda.is_available():
        result["lpips"].append(bench_lpips(args, "cuda"))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        atomic_write_text(Path(args.out) / f"metrics-{str(result['device']).split(':')[0]}.json", text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
