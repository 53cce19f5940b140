"""What each ``ijae`` subcommand does: a thin call into the library, and what it prints.

The parser (ijae/cli.py) names every argument; each function here takes the parsed arguments and
returns the exit status. Progress goes to stderr; results and their file names to stdout.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def nets(args) -> int:
    from ijae import config, nets

    cfg = config.load(args.config, args.set)
    table = nets.weight_table(cfg)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(nets.format_weight_table(table, nets.is_paper_size(cfg)))
    return 0


def train(args) -> int:
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


def tune(args) -> int:
    from ijae.tune import run

    run.tune(args.config, study=args.study, space=args.space, dataset=args.dataset,
             trials=args.trials, seed=args.seed, design_seed=args.design_seed,
             storage_spec=args.storage, folder=args.folder, sets=args.set, worker=args.worker,
             preset_out=args.preset_out, trials_out=args.trials_out)
    return 0


def tuning(args) -> int:
    from ijae.report import tuning

    md = tuning.write_report(args.trials, args.out)
    print(f"{md}, tuning.png, tuning.pdf, tuning_trials.csv -> {args.out}", file=sys.stderr)
    return 0


def export(args) -> int:
    from ijae import contract, export

    export.export_run(args.run, n_samples=args.n_samples, n_reconstructions=args.n_reconstructions,
                      seed=args.seed, device=args.device)
    run = Path(args.run)
    samples = contract.load_samples(run / contract.SAMPLES)
    originals, _ = contract.load_reconstructions(run / contract.RECONSTRUCTIONS)
    print(f"{run / contract.SAMPLES} ({len(samples):,} samples), {run / contract.RECONSTRUCTIONS} "
          f"({len(originals):,} test images and their reconstructions), samples.png, "
          f"reconstructions.png")
    return 0


def evaluate(args) -> int:
    from ijae import metrics
    from ijae.metrics import defaults

    record = metrics.evaluate_run(args.run, **defaults.from_arguments(args))
    print(json.dumps(record, indent=2) if args.json else evaluation_summary(record, args.run))
    return 0


def evaluation_summary(r: dict, run) -> str:
    """A few lines a person reads: the measures by name and backend, the verdict, the file."""
    def num(key, fmt=".3g"):
        value = r.get(key)
        return "—" if value is None else format(value, fmt)

    lines = [f"{r['dataset']} {r['model']} (seed {r['seed']}), {r['backend']} backend, "
             f"{r['n_samples']:,} samples:",
             f"  generation: {r['generation_metric']}: {num('is_mean')} ± {num('is_std', '.2g')} "
             f"(at {num('is_split_size', 'd')} a split; real images {num('is_real')}, a perfect "
             f"sampler {num('is_ceiling')}); FID {num('fid')}; coverage {num('coverage')}, "
             f"density {num('density')}; precision {num('precision')}, recall {num('recall')}"]
    if r.get("modes_covered") is not None:
        lines.append(f"  modes: {r['modes_covered']} of {r['n_modes']} ({num('modes_covered_accepted')}"
                     f" over the {num('accepted_share', '.0%')} accepted as digits), mode KL "
                     f"{num('mode_kl')}")
    lines.append(f"  reconstruction: {r['recon_metric']} {num('recon_mean')} over "
                 f"{r['n_reconstructions']:,} test images"
                 + (f"; label agreement {num('recon_label_agreement')} (chance "
                    f"{num('recon_label_agreement_chance')})" if r.get("recon_label_agreement") is not None else ""))
    lines.append("  collapsed: " + (r["collapse_reason"] if r.get("collapsed") else "no"))
    lines.append(f"  record: {Path(run) / 'metrics.json'} (the whole of it: --json)")
    return "\n".join(lines)


def collect(args) -> int:
    from ijae import metrics

    table = metrics.collect(args.dirs, args.out)
    print(f"{len(table)} records -> {args.out}", file=sys.stderr)
    return 0


def toy(args) -> int:
    from ijae import toy

    table = toy.run(args.out, runs=args.runs, steps=args.steps, batch=args.batch,
                    seed=args.seed, lr=args.lr, device=args.device, lambdas=args.lambdas)
    shown = table.astype({"lambda": object}).fillna({"lambda": ""})
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"optima.csv, runs.csv, toy.json, figure1.png, figure1.pdf -> {args.out}",
          file=sys.stderr)
    return 0


def table1(args) -> int:
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


def checkout(args) -> int:
    from ijae import availability

    for r in availability.write(args.models, args.out):
        print(f"{r['model']}: " + ("available" if r["available"] else f"unavailable: {r['reason']}"),
              file=sys.stderr)
    return 0


def pareto(args) -> int:
    from ijae import report
    from ijae.report import pareto

    pngs, verdicts = report.write_figures(args.metrics, args.out)
    for png in pngs:
        print(png, file=sys.stderr)
    for dataset in sorted(verdicts["dataset"].unique()):
        for sentence in pareto.verdict_sentences(verdicts, dataset):
            print(f"{dataset}: {sentence}")
    return 0


def samples(args) -> int:
    from ijae.report import samples

    print(samples.samples_grid(args.runs, args.out, title=args.title, n=args.n, note=args.note),
          file=sys.stderr)
    return 0


def modes(args) -> int:
    from ijae.report import modes

    png = modes.plot(args.metrics, args.out)
    for line in modes.trend_sentences(modes.points(modes.read(args.metrics))):
        print(line, file=sys.stderr)
    print(f"modes.png, modes.pdf, modes.csv -> {png.parent}", file=sys.stderr)
    return 0


def claims(args) -> int:
    from ijae.report import claims

    table = claims.write_claims(args.metrics, args.out, confidence=args.confidence, lam=args.lam,
                                calibration=args.calibration)
    for _, r in table.iterrows():
        decide = f"; {r['seeds_to_decide']} seeds would decide it" if r["seeds_to_decide"] else ""
        print(f"{r['dataset']}: {r['claim']}: {r['verdict']} ({claims.interval_text(r)}{decide})")
    print(f"claims.csv, claims.md -> {args.out}", file=sys.stderr)
    return 0


def stacked_mnist(args) -> int:
    from ijae.report import stacked_mnist

    rows = stacked_mnist.write_stacked_mnist(args.metrics, args.out, args.reported,
                                             presets_from=args.presets_from, profile=args.profile)
    for _, r in rows.iterrows():
        print(f"{r['method']}: {r['modes_covered']:.4g} / 1000 modes, KL {r['mode_kl']:.3f}, "
              f"IS {r['is_mean']:.1f}")
    print(f"stacked_mnist.md / .csv -> {args.out}", file=sys.stderr)
    return 0


def budget(args) -> int:
    from ijae.report import budget, budget_figures, claims

    table, settled, metrics = budget.write_budget(args.metrics, args.out, args.base_steps,
                                                  confidence=args.confidence, lam=args.lam,
                                                  calibration=args.calibration)
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


def calibrate(args) -> int:
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


def calibration(args) -> int:
    from ijae.report import calibration

    order = calibration.write_calibration(args.records, args.out)
    for _, r in order.iterrows():
        print(f"{r['dataset']}: {r['measure']}: {'passes' if r['passes'] else 'FAILS'} "
              f"(margin {r['margin']:.3g}; {r['role']})")
    print(f"calibration.md / .csv / .png, calibration_order.csv -> {args.out}", file=sys.stderr)
    return 0


def plan(args) -> int:
    import yaml

    from ijae import plan as plan_mod

    overrides = {}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep:
            from ijae import UserError
            raise UserError(f"--config {item}: expected KEY=VALUE (VALUE read as YAML)")
        overrides[key] = yaml.safe_load(value)
    plan = plan_mod.load(args.workflow_config, overrides)
    runnable = None if args.runnable is None else set(filter(None, args.runnable.split(",")))
    runs = plan_mod.TARGETS[args.target](plan, runnable)
    work = overrides.get("work", plan.config.get("work", "work"))
    if args.json:
        print(json.dumps([r.as_dict(work) for r in runs], indent=2))
    else:
        for r in runs:
            print(f"{r.folder(work)}  {r.steps} steps, {r.n_samples:,} samples"
                  + (f", kept at {', '.join(map(str, r.snapshots))}" if r.snapshots else ""))
        print(f"{len(runs)} runs", file=sys.stderr)
    return 0


def status(args) -> int:
    from ijae import status, work_dir

    print(status.report(args.work or work_dir()))
    return 0


def models(args) -> int:
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
