"""The ``ijae`` command line: one subcommand per job, each a thin call into the library.

Progress goes to stderr; machine output (``--json``, records) to stdout or files.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_nets(args) -> int:
    from ijae import config, nets

    cfg = config.load(args.config, args.set)
    table = nets.weight_table(cfg)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(nets.format_weight_table(table, nets.is_paper_size(cfg)))
    return 0


def _cmd_train(args) -> int:
    from ijae import config, registry

    overrides = list(args.set)
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.checkpoint_every is not None:
        overrides.append(f"train.checkpoint_every={args.checkpoint_every}")
    cfg = config.load(args.config, overrides, model=args.model, preset=args.preset)
    # the adapter's own train: the generic loop for most, e.g. AGE's released weights otherwise
    registry.get_adapter(cfg.model.name).train(cfg, Path(args.out), resume=args.resume)
    return 0


def _cmd_tune(args) -> int:
    from ijae.tune import run

    run.tune(args.config, study=args.study, space=args.space, dataset=args.dataset,
             trials=args.trials, seed=args.seed, design_seed=args.design_seed,
             storage_spec=args.storage, folder=args.folder, sets=args.set, worker=args.worker,
             preset_out=args.preset_out, trials_out=args.trials_out)
    return 0


def _cmd_tuning(args) -> int:
    from ijae.report import tuning

    md = tuning.write_report(args.trials, args.out)
    print(f"{md}, tuning.png, tuning.pdf, tuning_trials.csv -> {args.out}", file=sys.stderr)
    return 0


def _cmd_export(args) -> int:
    from ijae import export

    export.export_run(args.run, n_samples=args.n_samples, n_reconstructions=args.n_reconstructions,
                      seed=args.seed, device=args.device)
    return 0


def _cmd_evaluate(args) -> int:
    from ijae import metrics
    from ijae.metrics import defaults

    record = metrics.evaluate_run(args.run, **defaults.from_arguments(args))
    print(json.dumps(record, indent=2))
    return 0


def _cmd_collect(args) -> int:
    from ijae import metrics

    table = metrics.collect(args.dirs, args.out)
    print(f"{len(table)} records -> {args.out}", file=sys.stderr)
    return 0


def _cmd_toy(args) -> int:
    from ijae import toy

    table = toy.run(args.out, runs=args.runs, steps=args.steps, batch=args.batch,
                    seed=args.seed, lr=args.lr, device=args.device, lambdas=args.lambdas)
    shown = table.astype({"lambda": object}).fillna({"lambda": ""})
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"optima.csv, runs.csv, toy.json, figure1.png, figure1.pdf -> {args.out}",
          file=sys.stderr)
    return 0


def _cmd_table1(args) -> int:
    from ijae import report

    availability, notes = args.availability, list(args.note)
    if args.availability_if_present:   # the figures target redraws offline, checkout or not
        if Path(args.availability_if_present).is_file():
            availability = args.availability_if_present
        else:
            notes.append("which baselines could run here was not recorded (no `ijae checkout` "
                         "record in this work folder)")
    rows = report.write_table1(args.metrics, args.out, paper_csv=args.paper, lam=args.lam,
                               profile=args.profile, notes=notes, availability=availability,
                               name=args.name)
    print(f"{len(rows)} rows -> {args.out}/{args.name}.md, {args.name}.csv, {args.name}.tex",
          file=sys.stderr)
    return 0


def _cmd_checkout(args) -> int:
    from ijae import availability

    for r in availability.write(args.models, args.out):
        print(f"{r['model']}: " + ("available" if r["available"] else f"unavailable: {r['reason']}"),
              file=sys.stderr)
    return 0


def _cmd_pareto(args) -> int:
    from ijae import report
    from ijae.report import pareto

    pngs, verdicts = report.write_figures(args.metrics, args.out)
    for png in pngs:
        print(png, file=sys.stderr)
    for dataset in sorted(verdicts["dataset"].unique()):
        for sentence in pareto.verdict_sentences(verdicts, dataset):
            print(f"{dataset}: {sentence}")
    return 0


def _cmd_samples(args) -> int:
    from ijae.report import samples

    print(samples.samples_grid(args.runs, args.out, title=args.title, n=args.n, note=args.note),
          file=sys.stderr)
    return 0


def _cmd_modes(args) -> int:
    from ijae.report import modes

    png = modes.plot(args.metrics, args.out)
    for line in modes.trend_sentences(modes.points(modes.read(args.metrics))):
        print(line, file=sys.stderr)
    print(f"modes.png, modes.pdf, modes.csv -> {png.parent}", file=sys.stderr)
    return 0


def _cmd_claims(args) -> int:
    from ijae.report import claims

    table = claims.write_claims(args.metrics, args.out, confidence=args.confidence, lam=args.lam,
                                calibration=args.calibration)
    for _, r in table.iterrows():
        decide = f"; {r['seeds_to_decide']} seeds would decide it" if r["seeds_to_decide"] else ""
        print(f"{r['dataset']}: {r['claim']}: {r['verdict']} ({claims.interval_text(r)}{decide})")
    print(f"claims.csv, claims.md -> {args.out}", file=sys.stderr)
    return 0


def _cmd_stacked_mnist(args) -> int:
    from ijae.report import stacked_mnist

    rows = stacked_mnist.write_stacked_mnist(args.metrics, args.out, args.reported,
                                             presets_from=args.presets_from, profile=args.profile)
    for _, r in rows.iterrows():
        print(f"{r['method']}: {r['modes_covered']:.4g} / 1000 modes, KL {r['mode_kl']:.3f}, "
              f"IS {r['is_mean']:.1f}")
    print(f"stacked_mnist.md / .csv -> {args.out}", file=sys.stderr)
    return 0


def _cmd_budget(args) -> int:
    from ijae.report import budget, budget_figures, claims

    table, settled, metrics = budget.write_budget(args.metrics, args.out, args.base_steps,
                                                  confidence=args.confidence, lam=args.lam)
    out = Path(args.out)
    budget_figures.learning_curves(metrics, out / "learning_curves")
    budget_figures.claims_against_budget(table, metrics, out / "claims_budget", args.confidence)
    for _, r in table.iterrows():
        print(f"{r['dataset']} {r['budget']}: {r['claim']}: {r['verdict']} ({claims.interval_text(r)})")
    for _, r in settled.iterrows():
        print(f"{r['dataset']} {r['variant']} λ = {r['lambda']:g} {r['measure']}: {r['verdict']} "
              f"({r['budget']}: {r['change_last_doubling']:+.3g} [{r['change_low']:+.3g}, "
              f"{r['change_high']:+.3g}], δ {r['delta']:.3g})")
    print(f"claims_budget.csv / .md / .png, budget_convergence.csv, budget_effects.csv, "
          f"learning_curves.png -> {out}",
          file=sys.stderr)
    return 0


def _cmd_calibrate(args) -> int:
    from ijae.metrics import calibration

    records = calibration.score_controls(
        args.config, args.dataset, args.folder, n=args.n, sets=args.set, cache_dir=args.cache_dir,
        names=args.controls.split(",") if args.controls else None)
    calibration.write_records(records, args.out)
    for r in records:
        verdict = f"collapsed ({r['collapse_reason']})" if r["collapsed"] else "passes the guard"
        print(f"{args.dataset} {r['control']:<14} {r['control_kind']:<10} IS {r['is_mean']:.3g}, "
              f"FID {r['fid']:.4g}, coverage {r['coverage']:.3f}: {verdict}")
    print(f"{len(records)} controls -> {args.out}", file=sys.stderr)
    return 0


def _cmd_calibration(args) -> int:
    from ijae.report import calibration

    order = calibration.write_calibration(args.records, args.out)
    for _, r in order.iterrows():
        print(f"{r['dataset']}: {r['measure']}: {'passes' if r['passes'] else 'FAILS'} "
              f"(margin {r['margin']:.3g}; {r['role']})")
    print(f"calibration.md / .csv / .png, calibration_order.csv -> {args.out}", file=sys.stderr)
    return 0


def _cmd_models(args) -> int:
    from ijae.registry import all_adapters

    rows = [{"name": a.name, "label": a.label, "kind": a.kind,
             "source": a.source.url if a.source else None,
             "commit": a.source.commit if a.source else None,
             "architecture": a.architecture} for a in all_adapters()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        where = f"{r['source']} @ {r['commit']}" if r["source"] else "this repository"
        print(f"{r['name']:<10} {r['label']:<14} {r['kind']:<18} {where}\n{'':<10} {r['architecture']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ijae.metrics import defaults

    parser = argparse.ArgumentParser(prog="ijae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("nets", help="weight count of every network beside the paper's")
    p.add_argument("config")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_nets)

    p = sub.add_parser("train", help="train a model into a run folder (resumable)")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--model", help="model / adapter name (default: the config's model.name)")
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. model.lam=0.3 or model.variant=l1")
    p.add_argument("--resume", action="store_true",
                   help="continue from the run folder's checkpoint (start fresh when there is none)")
    p.add_argument("--preset", help="a preset file in place of the model's hand-sized one, e.g. a "
                                    "tuned preset config/tuned/<profile>/<dataset>/<study>.yaml")
    p.set_defaults(func=_cmd_train)

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
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser("tuning", help="the search, reported: tuning.md and a figure of every "
                                      "study's trials and its expected best-of-k")
    p.add_argument("trials", nargs="+", help="trials tables written by `ijae tune`")
    p.add_argument("--out", required=True, help="folder for tuning.md, tuning.png / .pdf, tuning_trials.csv")
    p.set_defaults(func=_cmd_tuning)

    p = sub.add_parser("models", help="list the registered models (lambda-IJAE and baseline adapters)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("checkout", help="fetch the upstream code of models (clone at the pinned "
                                        "commit, or a local mirror); record which can run here")
    p.add_argument("models", nargs="+", help="model names (`ijae models` lists them)")
    p.add_argument("--out", required=True, help="JSON file: one {model, label, available, reason} each")
    p.set_defaults(func=_cmd_checkout)

    p = sub.add_parser("export", help="write samples.npz and reconstructions.npz of a trained run")
    p.add_argument("run")
    p.add_argument("--n-samples", type=int, help="default: the config's export.n_samples")
    p.add_argument("--n-reconstructions", type=int,
                   help="default: the config's export.n_reconstructions (null = whole test split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("evaluate", help="score a run's artifacts into RUN/metrics.json")
    p.add_argument("run")
    defaults.add_arguments(p)   # every option from ijae/metrics/defaults.py
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("collect", help="concatenate metrics.json records into one CSV")
    p.add_argument("dirs", nargs="+", help="run folders (or metrics.json files)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_collect)

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
    p.set_defaults(func=_cmd_table1)

    p = sub.add_parser("pareto", help="Figures 2 and 3 (PNG and PDF) and the Pareto claim, "
                                      "computed (pareto_fronts.csv, pareto_verdict.csv / .md)")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect` (every run)")
    p.add_argument("--out", required=True, help="folder for the figures and the Pareto files")
    p.set_defaults(func=_cmd_pareto)

    p = sub.add_parser("samples", help="Appendix C: samples and reconstructions of runs of one "
                                       "dataset as one grid (PNG and PDF)")
    p.add_argument("runs", nargs="+", help="run folders with samples.npz and reconstructions.npz")
    p.add_argument("--out", required=True, help="output path; .png and .pdf are written")
    p.add_argument("--title", default="")
    p.add_argument("--note", default="", help="a line under the grid (what was run)")
    p.add_argument("-n", type=int, default=10, help="images per row")
    p.set_defaults(func=_cmd_samples)

    p = sub.add_parser("modes", help="precision, recall, modes covered and mode KL against λ, the "
                                     "other models as reference lines (PNG, PDF, CSV)")
    p.add_argument("metrics", help="metrics.csv written by `ijae collect`")
    p.add_argument("--out", required=True, help="folder for modes.png, modes.pdf, modes.csv")
    p.set_defaults(func=_cmd_modes)

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
    p.set_defaults(func=_cmd_claims)

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
    p.set_defaults(func=_cmd_budget)

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
    p.set_defaults(func=_cmd_stacked_mnist)

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
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("calibration", help="the calibration table and figure from the controls' "
                       "records: does each measure order its controls?")
    p.add_argument("records", nargs="+", help="CSVs written by `ijae calibrate`")
    p.add_argument("--out", required=True, help="folder for calibration.md / .csv / .png")
    p.set_defaults(func=_cmd_calibration)

    p = sub.add_parser("toy", help="Figure 1: the 1-D divergence comparison of Appendix B")
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default: ijae.toy.DEFAULT_LR)")
    p.add_argument("--device", default="cpu")
    def lambdas(text):  # argparse names the type in its error: "invalid lambdas value"
        return tuple(float(v) for v in text.split(",") if v.strip())

    p.add_argument("--lambdas", default=(0.1, 0.3, 0.5, 0.7, 0.9), metavar="L1,L2,...",
                   type=lambdas,
                   help="λ-Jeffreys weights, each in (0, 1); 0.5 is always added "
                        "(default: 0.1,0.3,0.5,0.7,0.9)")
    p.set_defaults(func=_cmd_toy)
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
