"""Reconstruction ablation of the implicit lambda-IJAE on the default profile (issue 9).

Trains each named variant of config/default.yaml (``--set`` overrides) through the ``ijae`` CLI
(train, export, evaluate: only the public commands, so this survives modules moving), then writes
a CSV and a markdown table: steps, train wall time, s/step, IS, FID, digits-feature-distance,
recon_label_agreement and its chance level.

    python bench/ablate_recon.py --out work/ablate --only base mismatch1 --steps 600 --jobs 2
    python bench/ablate_recon.py --list

``--jobs 2`` runs two variants at once with one thread each (timings then include contention);
``--table-only`` rewrites the table (``--table``, default docs/ablations/recon.md, below its
``<!-- table -->`` line) and the CSV beside it from every scored run under --out.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ijae.metrics.keys import (KEY_METRIC_FID, KEY_METRIC_IS_MEAN, KEY_METRIC_RECON_LABEL_AGREEMENT,
                               KEY_METRIC_RECON_MEAN, KEY_RECON_LABEL_AGREEMENT_CHANCE)

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "default.yaml"
PAPER = ["model.shift_max=null", "model.shift_fill=roll", "model.tau_mismatch=0",
         "model.encoder_noise_init=1", "model.tau_pairing=side", "train.lr_g=1e-4", "train.lr_e=1e-4"]

# name: --set overrides on top of config/default.yaml. PAPER pins the paper's choices (and the
# profile's values before issue 9), so those rows mean the same whatever config/default.yaml's
# defaults become; "default*" rows are the committed config itself.
VARIANTS = {
    "default": [],                       # config/default.yaml as committed
    "default-lam0.9": ["model.lam=0.9"],
    "default-l1": ["model.variant=l1"],
    "paper-choices": PAPER,
    "S1": PAPER + ["model.shift_max=1"],
    "pad": PAPER + ["model.shift_fill=pad"],
    "pad-S1": PAPER + ["model.shift_fill=pad", "model.shift_max=1"],
    "noise0.1": PAPER + ["model.encoder_noise_init=0.1"],
    "mismatch1": PAPER + ["model.tau_mismatch=1"],
    "mismatch1-pad": PAPER + ["model.tau_mismatch=1", "model.shift_fill=pad"],
    "mismatch1-pad-noise0.1": PAPER + ["model.tau_mismatch=1", "model.shift_fill=pad",
                                       "model.encoder_noise_init=0.1"],
    "mismatch1-S1": PAPER + ["model.tau_mismatch=1", "model.shift_max=1"],
    "mismatch1-lam0.9": PAPER + ["model.tau_mismatch=1", "model.lam=0.9"],
    "stack": PAPER + ["model.tau_pairing=stack"],
    "stack-pad": PAPER + ["model.tau_pairing=stack", "model.shift_fill=pad"],
    "stack-mismatch1": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1"],
    "stack-mismatch1-pad": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                    "model.shift_fill=pad"],
    "stack-S1": PAPER + ["model.tau_pairing=stack", "model.shift_max=1"],
    "stack-mismatch1-noise0.1": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                         "model.encoder_noise_init=0.1"],
    "stack-mismatch1-S1": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                   "model.shift_max=1"],
    "stack-mismatch2": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=2"],
    "stack-mismatch1-lr2e-4": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                       "train.lr_g=2e-4", "train.lr_e=2e-4"],
    "stack-mismatch1-S1-noise0.1": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                            "model.shift_max=1", "model.encoder_noise_init=0.1"],
    "stack-mismatch1-S1-lr2e-4": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                          "model.shift_max=1", "train.lr_g=2e-4", "train.lr_e=2e-4"],
    "stack-mismatch1-S1-lam0.9": PAPER + ["model.tau_pairing=stack", "model.tau_mismatch=1",
                                          "model.shift_max=1", "model.lam=0.9"],
    "paper-choices-lam0.9": PAPER + ["model.lam=0.9"],
    "stack-mismatch1-S1-noise0.1-lr2e-4": PAPER + [
        "model.tau_pairing=stack", "model.tau_mismatch=1", "model.shift_max=1",
        "model.encoder_noise_init=0.1", "train.lr_g=2e-4", "train.lr_e=2e-4"],
    "stack-mismatch1-S1-noise0.1-lr2e-4-lam0.9": PAPER + [
        "model.tau_pairing=stack", "model.tau_mismatch=1", "model.shift_max=1",
        "model.encoder_noise_init=0.1", "train.lr_g=2e-4", "train.lr_e=2e-4", "model.lam=0.9"],
    "stack-mismatch1-S1-noise0.1-lam0.9": PAPER + [
        "model.tau_pairing=stack", "model.tau_mismatch=1", "model.shift_max=1",
        "model.encoder_noise_init=0.1", "model.lam=0.9"],
    "l1": PAPER + ["model.variant=l1"],
}


def ijae(*args: str, threads: int, log: Path) -> float:
    """Run one ``ijae`` subcommand; returns its wall time in seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    start = time.perf_counter()
    with log.open("a") as f:
        code = subprocess.call([sys.executable, "-c", "import sys; from ijae.cli import main; "
                                "sys.exit(main())", *args], env=env, stdout=f, stderr=f, cwd=REPO)
    if code:
        raise RuntimeError(f"ijae {' '.join(args)} failed ({code}); see {log}")
    return time.perf_counter() - start


def run_variant(name: str, overrides: list[str], out: Path, steps: int | None, threads: int) -> dict:
    run = out / (name if steps is None else f"{name}@{steps}")
    run.mkdir(parents=True, exist_ok=True)
    log = run / "ablation.log"
    sets = [a for o in overrides for a in ("--set", o)]
    if steps is not None:
        sets += ["--steps", str(steps)]
    train_s = ijae("train", str(CONFIG), "--out", str(run), "--checkpoint-every", "100000", *sets,
                   threads=threads, log=log)
    ijae("export", str(run), "--device", "cpu", threads=threads, log=log)
    ijae("evaluate", str(run), "--device", "cpu", threads=threads, log=log)
    (run / "ablation.json").write_text(json.dumps(
        {"name": name, "overrides": overrides, "train_wall_s": train_s, "threads": threads}))
    return row(run)


def row(run: Path) -> dict:
    m = json.loads((run / "metrics.json").read_text())
    a = json.loads((run / "ablation.json").read_text())
    import yaml

    steps = yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"]
    return {"variant": a["name"], "overrides": " ".join(o for o in a["overrides"] if o not in PAPER),
            "steps": steps, "threads": a["threads"], "train_s": round(a["train_wall_s"], 1),
            "s_per_step": round(a["train_wall_s"] / steps, 4), "IS": round(m[KEY_METRIC_IS_MEAN], 2),
            "FID": round(m[KEY_METRIC_FID], 2), "feature_distance": round(m[KEY_METRIC_RECON_MEAN], 3),
            "agreement": round(m[KEY_METRIC_RECON_LABEL_AGREEMENT], 3),
            "chance": round(m[KEY_RECON_LABEL_AGREEMENT_CHANCE], 3)}


def write_table(out: Path, table: Path) -> None:
    rows = sorted((row(p.parent) for p in out.glob("*/ablation.json") if (p.parent / "metrics.json").is_file()),
                  key=lambda r: (r["steps"], r["variant"]))
    if not rows:
        return
    cols = list(rows[0])
    table.parent.mkdir(parents=True, exist_ok=True)
    with table.with_suffix(".csv").open("w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    head = table.read_text().split("<!-- table -->")[0] if table.is_file() else ""
    table.write_text(head + "<!-- table -->\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="work/ablate-recon", type=Path)
    p.add_argument("--only", nargs="*", help="variant names (default: all)")
    p.add_argument("--steps", type=int, help="override train.steps (default: the profile's)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--threads", type=int, help="threads per run (default: cores / jobs)")
    p.add_argument("--table", type=Path, default=REPO / "docs" / "ablations" / "recon.md")
    p.add_argument("--list", action="store_true")
    p.add_argument("--table-only", action="store_true", help="only rewrite the table from --out")
    args = p.parse_args()
    if args.list:
        for name, overrides in VARIANTS.items():
            print(name, " ".join(overrides))
        return 0
    if args.table_only:
        write_table(args.out, args.table)
        return 0
    names = args.only or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        print(f"unknown variant {unknown[0]}; --list shows them", file=sys.stderr)
        return 2
    threads = args.threads or max(1, (os.cpu_count() or 2) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool:
        for r in pool.map(lambda n: run_variant(n, VARIANTS[n], args.out, args.steps, threads), names):
            print(json.dumps(r), flush=True)
    write_table(args.out, args.table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
