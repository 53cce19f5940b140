"""The compute of one tuning trial, per study: training CPU seconds of its hand-sized trial
(trial 0) at one thread, the way the workflow runs every job, against λ-IJAE's.

Each study's trial trains a fraction ``--fraction`` of its steps (every step count of the
config scaled: train.steps, 2Stage-VAE's stage1_steps), timed by the training loop itself
(RUN/timing.json), and scaled back up. The studies' ``fixed: train.steps`` (config/presets/
<profile>/<study>.space.yaml) were set so every ratio is near 1: equal training time per trial.
Prints JSON; ``--out`` also writes it (results/bench/trial_compute-cpu.json).

    python bench/trial_compute.py [--profile default] [--dataset stacked_digits] [--fraction 0.1]
                                  [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
STUDIES = ("ijae", "ijae-l1", "ijae-l2", "alphagan", "age", "twostage", "svae", "vae")
STEP_KEYS = ("train.steps", "model.stage1_steps")   # counts of steps that set a trial's length


def measure(study: str, dataset: str, fraction: float, profile: str = "default") -> dict:
    import torch

    from ijae import registry
    from ijae.contract import read_timing
    from ijae.tune import space as space_mod, trial

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    space = space_mod.read_space(space_mod.space_path(profile, study))
    base = trial.base_config(REPO / "config" / f"{profile}.yaml", space, dataset, 0)
    hand = space_mod.check(space, base)
    cfg = trial.trial_config(base, space, hand)
    raw = cfg.to_dict()
    full = {k: space_mod.get_key(raw, k) for k in STEP_KEYS if _has(raw, k)}
    for key, value in full.items():
        space_mod.set_key(raw, key, max(1, round(value * fraction)))
    raw["train"]["checkpoint_every"] = raw["train"]["steps"]
    from ijae.config import from_dict

    short = from_dict(raw)
    with tempfile.TemporaryDirectory() as folder:
        registry.get_adapter(short.model.name).train(short, Path(folder) / "run")
        seconds = read_timing(Path(folder) / "run")["cpu_seconds"]
    steps = full["train.steps"]
    return {"study": study, "model": space.model, "steps": steps,
            "steps_timed": short.train.steps, "seconds_timed": round(seconds, 2),
            "ms_per_step": round(1000 * seconds / short.train.steps, 1),
            "train_seconds_per_trial": round(seconds * steps / short.train.steps, 1)}


def _has(raw: dict, key: str) -> bool:
    from ijae.tune.space import get_key

    try:
        get_key(raw, key)
        return True
    except KeyError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default", help="default, or paper (on a GPU)")
    parser.add_argument("--dataset", default="stacked_digits")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--studies", nargs="+", default=list(STUDIES))
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    for study in args.studies:
        rows.append(measure(study, args.dataset, args.fraction, args.profile))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    reference = next((r["train_seconds_per_trial"] for r in rows if r["study"] == "ijae"), None)
    for r in rows:
        r["ratio_to_ijae"] = round(r["train_seconds_per_trial"] / reference, 2) if reference else None
    out = {"bench": "trial_compute", "profile": args.profile, "dataset": args.dataset,
           "fraction": args.fraction,
           "threads": 1, "device": platform.processor() or platform.machine(),
           "cpu_count": os.cpu_count(), "studies": rows}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
