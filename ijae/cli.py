"""The ``ijae`` command line: the parser, one subcommand per job (ijae/commands.py runs each).

Progress goes to stderr; machine output (``--json``, records) to stdout or files.
"""
from __future__ import annotations

import argparse
import sys

from ijae import commands


CONFIG_HELP = "the run config: config/default.yaml (offline CPU) or config/paper.yaml (GPU)"
SET_HELP = "override a config key, e.g. model.lam=0.3 or train.steps=600 (repeatable)"


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ijae")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    from ijae.metrics import defaults

    parser = argparse.ArgumentParser(prog="ijae", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ijae {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nets", help="weight count of every network beside the paper's")
    p.add_argument("config", help=CONFIG_HELP)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=commands.nets)

    p = sub.add_parser("train", help="train a model into a run folder (resumable)")
    p.add_argument("config", help=CONFIG_HELP)
    p.add_argument("--out", required=True, help="run folder (created; holds config, checkpoint, "
                                                "losses, progress)")
    p.add_argument("--model", help="model / adapter name (default: the config's model.name; "
                                   "`ijae models` lists them)")
    p.add_argument("--steps", type=int, help="training steps (default: the config's train.steps)")
    p.add_argument("--seed", type=int, help="the run's seed (default: the config's seed)")
    p.add_argument("--checkpoint-every", type=int,
                   help="steps between checkpoints (default: the config's train.checkpoint_every)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    p.add_argument("--resume", action="store_true",
                   help="continue from the run folder's checkpoint (start fresh when there is none)")
    p.add_argument("--preset", help="a preset file in place of the model's hand-sized one, e.g. a "
                                    "tuned preset config/tuned/<profile>/<dataset>/<study>.yaml")
    p.set_defaults(func=commands.train)

    p = sub.add_parser("tune", help="one Optuna study: K trials of a model's search space, each "
                                    "trained, exported and scored on a validation split; writes "
                                    "the tuned preset (resumable; several workers may share it)")
    p.add_argument("config", help="the profile's config file, e.g. config/default.yaml")
    p.add_argument("--study", help="the study: ijae, ijae-l1, ijae-l2 or a baseline's name "
                                   "(default: the config's model); its search space is "
                                   "config/presets/<profile>/<study>.space.yaml")
    p.add_argument("--space", help="a search-space file instead")
    p.add_argument("--dataset", help="default: the config's data.dataset")
    p.add_argument("--trials", type=int, default=6, help="K, the trials of the study (default 6)")
    p.add_argument("--seed", type=int, default=0, help="the training seed of every trial")
    p.add_argument("--design-seed", type=int, default=0, help="the seed of the random design")
    p.add_argument("--storage", help="an Optuna journal file or an RDB URL (default: "
                                     "<work>/tune/<profile>/optuna.journal)")
    p.add_argument("--folder", help="where the trial folders go (default: <work>/tune/<profile>/<dataset>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting of every trial, e.g. export.n_samples=5000")
    p.add_argument("--worker", action="store_true",
                   help="only run waiting trials, then exit (more workers on the same study)")
    p.add_argument("--preset-out", help="default: config/tuned/<profile>/<dataset>/<study>.yaml")
    p.add_argument("--trials-out", help="the trials table (default: <folder>/<study>.trials.csv)")
    p.set_defaults(func=commands.tune)

    p = sub.add_parser("tuning", help="the search, reported: tuning.md and a figure of every "
                                      "study's trials and its expected best-of-k")
    p.add_argument("trials", nargs="+", help="trials tables written by `ijae tune`")
    p.add_argument("--out", required=True, help="folder for tuning.md, tuning.png / .pdf, tuning_trials.csv")
    p.set_defaults(func=commands.tuning)

    p = sub.add_parser("models", help="list the registered models (lambda-IJAE and baseline adapters)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=commands.models)

    p = sub.add_parser("checkout", help="fetch the upstream code of models (clone at the pinned "
                                        "commit, or a local mirror); record which can run here")
    p.add_argument("models", nargs="+", help="model names (`ijae models` lists them)")
    p.add_argument("--out", required=True, help="JSON file: one {model, label, available, reason} each")
    p.set_defaults(func=commands.checkout)

    p = sub.add_parser("export", help="write samples.npz and reconstructions.npz of a trained run")
    p.add_argument("run", help="a trained run folder")
    p.add_argument("--n-samples", type=int, help="samples to draw (default: the config's "
                                                 "export.n_samples)")
    p.add_argument("--n-reconstructions", type=int,
                   help="test images to reconstruct (default: the config's export.n_reconstructions; "
                        "null = the whole test split)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples' latent draws (default 0)")
    p.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda or cuda:N")
    p.set_defaults(func=commands.export)

    p = sub.add_parser("evaluate", help="score a run's artifacts into RUN/metrics.json")
    p.add_argument("run", help="an exported run folder (samples.npz, reconstructions.npz)")
    p.add_argument("--json", action="store_true", help="print the whole record (JSON) instead of "
                                                       "a summary")
    defaults.add_arguments(p)   # every option from ijae/metrics/defaults.py
    p.set_defaults(func=commands.evaluate)

    p = sub.add_parser("collect", help="concatenate metrics.json records into one CSV")
    p.add_argument("dirs", nargs="+", help="run folders (or metrics.json files)")
    p.add_argument("--out", required=True, help="the CSV to write (one row per record)")
    p.set_defaults(func=commands.collect)

    p = sub.add_parser("table1", help="Table 1 (markdown + CSV) from a metrics table")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect`")
    p.add_argument("--out", required=True, help="folder for table1.md and table1.csv")
    p.add_argument("--paper", help="the paper's printed values (inputs/paper_table1.csv)")
    p.add_argument("--lam", type=float, default=0.3, help="the λ of the λ-IJAE row")
    p.add_argument("--name", default="table1", help="file name stem of the .md, .csv and .tex "
                                                   "(default: table1)")
    p.add_argument("--profile", help="profile name for the title (default: from the records)")
    p.add_argument("--note", action="append", default=[], help="a line printed under the table")
    p.add_argument("--availability", help="`ijae checkout`'s record: models that could not run "
                                          "here are named under the table, with why")
    p.add_argument("--availability-if-present", metavar="PATH",
                   help="as --availability, but a missing file is a note, not an error")
    p.set_defaults(func=commands.table1)

    p = sub.add_parser("pareto", help="Figures 2 and 3 (PNG and PDF) and the Pareto claim, "
                                      "computed (pareto_fronts.csv, pareto_verdict.csv / .md)")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect` (every run)")
    p.add_argument("--out", required=True, help="folder for the figures and the Pareto files")
    p.set_defaults(func=commands.pareto)

    p = sub.add_parser("samples", help="Appendix C: samples and reconstructions of runs of one "
                                       "dataset as one grid (PNG and PDF)")
    p.add_argument("runs", nargs="+", help="run folders with samples.npz and reconstructions.npz")
    p.add_argument("--out", required=True, help="output path; .png and .pdf are written")
    p.add_argument("--title", default="", help="the grid's title (default: none)")
    p.add_argument("--note", default="", help="a line under the grid (what was run)")
    p.add_argument("-n", type=int, default=10, help="images per row")
    p.set_defaults(func=commands.samples)

    p = sub.add_parser("modes", help="precision, recall, modes covered and mode KL against λ, the "
                                     "other models as reference lines (PNG, PDF, CSV)")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect`")
    p.add_argument("--out", required=True, help="folder for modes.png, modes.pdf, modes.csv")
    p.set_defaults(func=commands.modes)

    p = sub.add_parser("claims", help="the paper's claims, each with an interval over seeds and "
                                      "a verdict (claims.csv, claims.md)")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect` (the seeded λ sweeps)")
    p.add_argument("--out", required=True, help="folder for claims.csv and claims.md")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="coverage of the t intervals over seeds, in (0, 1) (default: 0.95)")
    p.add_argument("--lam", type=float, default=0.3,
                   help="Table 1's λ: λ-IJAE's runs the Table 1 claims compare (default: 0.3)")
    p.add_argument("--calibration", nargs="*", default=None, metavar="CSV",
                   help="the controls' records (`ijae calibrate`): a measure that fails its controls "
                        "on a dataset is shown and not decided there (default: none demoted)")
    p.set_defaults(func=commands.claims)

    p = sub.add_parser("budget", help="the claims re-decided at each training budget, whether each "
                                      "curve has settled, learning curves (claims_budget.*, "
                                      "budget_convergence.csv, learning_curves.png)")
    p.add_argument("metrics", help="the snapshots' records (`ijae collect` of RUN/steps/<N>/)")
    p.add_argument("--out", required=True, help="folder for the tables and figures")
    p.add_argument("--base-steps", type=int, required=True,
                   help="the 1x budget in steps (the default profile: 1200)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="coverage of the t intervals over seeds, in (0, 1) (default: 0.95)")
    p.add_argument("--lam", type=float, default=0.3, help="Table 1's λ (default: 0.3)")
    p.add_argument("--calibration", nargs="*", default=None, metavar="CSV",
                   help="the controls' records (`ijae calibrate`): a measure failing its controls "
                        "decides no claim (as in `ijae claims`)")
    p.set_defaults(func=commands.budget)

    p = sub.add_parser("stacked-mnist", help="the Stacked MNIST table: our runs (modes, KL, IS, "
                                             "FID, reconstruction) and the published rows below "
                                             "(stacked_mnist.md / .csv)")
    p.add_argument("metrics", help="the Stacked MNIST runs' records (`ijae collect`)")
    p.add_argument("--reported", required=True,
                   help="the published rows (inputs/stacked_mnist_reported.csv)")
    p.add_argument("--out", required=True, help="folder for stacked_mnist.md and .csv")
    p.add_argument("--presets-from", default="stacked_digits",
                   help="the dataset whose tuned presets the runs used (said in the table)")
    p.add_argument("--profile", default=None, help="the profile named in the title (default: the records')")
    p.set_defaults(func=commands.stacked_mnist)

    p = sub.add_parser("calibrate", help="score the known-answer controls of a dataset (real "
                       "images, noise, copies, one mode, blur) through the evaluate code")
    p.add_argument("config", help="the profile's run config, e.g. config/default.yaml")
    p.add_argument("--dataset", required=True, help="digits, stacked_digits, mnist, stacked_mnist, ...")
    p.add_argument("--folder", required=True, help="where each control's run folder is written")
    p.add_argument("--out", required=True, help="the controls' records, one CSV")
    p.add_argument("--n", type=int, help="images a control (default: the config's export.n_samples)")
    p.add_argument("--controls", help="comma-separated control names (default: every one)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. export.n_samples=26000 (repeatable)")
    p.add_argument("--cache-dir", help="metrics cache (default: <work folder>/cache)")
    p.set_defaults(func=commands.calibrate)

    p = sub.add_parser("calibration", help="the calibration table and figure from the controls' "
                       "records: does each measure order its controls?")
    p.add_argument("records", nargs="+", help="CSVs written by `ijae calibrate`")
    p.add_argument("--out", required=True, help="folder for calibration.md / .csv / .png")
    p.set_defaults(func=commands.calibration)

    p = sub.add_parser("plan", help="the runs a workflow target needs (ijae/plan.py): id, folder, "
                                    "preset, train options, steps, samples, memory")
    p.add_argument("target", nargs="?", default="table1",
                   choices=("table1", "table1_seeds", "sweep", "all", "budget", "stacked_mnist"),
                   help="the workflow target (default: table1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--workflow-config", default="config/workflow.yaml",
                   help="the workflow's config file (default: config/workflow.yaml)")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="as snakemake --config: a workflow key, its value read as YAML (repeatable)")
    p.add_argument("--runnable", metavar="M1,M2", help="the baselines runnable here (default: all)")
    p.set_defaults(func=commands.plan)

    p = sub.add_parser("status", help="where every run of a work folder stands: step, total, "
                                      "time left (while a workflow trains)")
    p.add_argument("work", nargs="?", help="the work folder (default: env IJAE_WORK, else work/)")
    p.set_defaults(func=commands.status)

    p = sub.add_parser("toy", help="Figure 1: the 1-D divergence comparison of Appendix B")
    p.add_argument("--out", required=True, help="folder for figure1.png / .pdf, optima.csv, runs.csv")
    p.add_argument("--runs", type=int, default=50, help="SGD runs per λ (default 50)")
    p.add_argument("--steps", type=int, default=10_000, help="SGD steps per run (default 10,000)")
    p.add_argument("--batch", type=int, default=1000, help="samples per SGD step (default 1,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the runs (default 0)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default: ijae.toy.DEFAULT_LR)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    def lambdas(text):  # argparse names the type in its error: "invalid lambdas value"
        return tuple(float(v) for v in text.split(",") if v.strip())

    p.add_argument("--lambdas", default=(0.1, 0.3, 0.5, 0.7, 0.9), metavar="L1,L2,...",
                   type=lambdas,
                   help="λ-Jeffreys weights, each in (0, 1); 0.5 is always added "
                        "(default: 0.1,0.3,0.5,0.7,0.9)")
    p.set_defaults(func=commands.toy)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ijae import UserError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        print(f"ijae {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
