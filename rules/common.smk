# The workflow's config (typed --config overrides, validation), paths, the run-id grammar and
# which runs make which table. Plain Python on the config alone: no ijae, torch or baseline
# import, no file written.
import json
import os
import re
import sys
from pathlib import Path

import yaml


def typed_overrides(config, cli_keys):
    """`--config key=VALUE` arrives with every scalar a string (seeds=[0,1] as ['0', '1'],
    table1='{lambda: 0.5}' with '0.5'): read the scalars of the keys given on the command line
    as YAML, so the schema sees what the user meant. Folder names stay strings."""

    def typed(value):
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return yaml.safe_load(value) if isinstance(value, str) else value

    for key in cli_keys:
        if key in config and key not in ("profile", "work", "results"):
            config[key] = typed(config[key])


def command_line_targets():
    """The targets named on the snakemake command line (Snakemake gives a Snakefile no view of
    its targets while parsing: workflow.dag_settings is None then); empty when not run from it."""
    try:
        from snakemake.cli import get_argument_parser

        return set(get_argument_parser().parse_known_args(sys.argv[1:])[0].targets or [])
    except BaseException:   # not the snakemake command line (an API call): no redraw shortcut
        return set()


# A redraw (`snakemake figures`) reads the committed records alone: the Snakefile then includes
# no rule that makes a record (checkout, train, export, evaluate, collect, tune, calibrate), so
# no work folder, however full, can make it plan one (README, "Which targets train").
# (`snakemake --report` builds the whole DAG, runs nothing, and lists the records too.)
REDRAW_TARGETS = {"figures"}
REDRAW = (bool(command_line_targets()) and command_line_targets() <= REDRAW_TARGETS
          and "--report" not in sys.argv)

# Training threads never outnumber the machine's cores, whatever --cores says: every run job
# (train, export, evaluate, calibrate, tune) declares `cpus` (its threads), and the machine's
# count bounds them (env IJAE_CPUS overrides it; a cluster profile sets its own `cpus`, e.g.
# profiles/slurm, whose jobs run elsewhere). --cores 8 on 2 cores once ran 4-8 trainings at once,
# each 4x slower.
MACHINE_CPUS = int(os.environ.get("IJAE_CPUS") or len(os.sched_getaffinity(0)))
if "cpus" not in workflow.global_resources:
    workflow.register_resource("cpus", MACHINE_CPUS)

def check_config(config, schema_path):
    """The workflow's config against its schema; a bad key or value is one line naming it (exit
    2), not jsonschema's dump of the whole schema."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:   # the dataset names: the registry's (no torch imported)
        from ijae import datasets

        named = [("datasets", config.get("datasets") or []), ("calibrate.datasets",
                 config["calibrate"]["datasets"])] + [
            (f"profiles.{p}.datasets", v["datasets"]) for p, v in config["profiles"].items()]
        bad = [(where, d) for where, names in named for d in names if d not in datasets.names()]
        if bad:
            print(f"ijae workflow: {bad[0][0]}: {bad[0][1]!r} is not a registered dataset (one of "
                  f"{', '.join(datasets.names())}: ijae/datasets.py)", file=sys.stderr)
            sys.exit(2)
        return
    where = ".".join(map(str, error.absolute_path)) or "the config"
    print(f"ijae workflow: {where}: {error.message} (config/workflow.yaml and --config; "
          f"the keys and their values: config/workflow.schema.yaml)", file=sys.stderr)
    sys.exit(2)


def quiet_report():
    """`snakemake --report` warns once per file without Snakemake's metadata, which every
    committed result lacks in a fresh clone (340 lines of 362): one line says it instead."""
    import atexit
    import logging

    from snakemake.logging import logger

    class MissingMetadata(logging.Filter):
        count = 0

        def filter(self, record):
            missing = "Missing metadata for file" in record.getMessage()
            MissingMetadata.count += missing
            return not missing

    def say():
        if MissingMetadata.count:
            print(f"ijae workflow: {MissingMetadata.count} files of the report were made in another "
                  "checkout (the committed results carry no Snakemake metadata here): it shows "
                  "them without their job's details", file=sys.stderr)

    logger.addFilter(MissingMetadata())
    atexit.register(say)


if "--report" in sys.argv:
    quiet_report()

typed_overrides(config, workflow.config_settings.overwrite_config)
check_config(config, Path(workflow.basedir) / "config" / "workflow.schema.yaml")

PROFILE = config["profile"]
PROFILE_CONFIG = f"config/{PROFILE}.yaml"
WORK = config["work"]                # every job gets IJAE_WORK=WORK: runs, clones, caches, data
RESULTS_ROOT = config["results"]
RESULTS = f"{RESULTS_ROOT}/{PROFILE}"
RUNS = f"{WORK}/runs/{PROFILE}"
LOGS = f"{WORK}/logs/{PROFILE}"
PAPER_TABLE1 = "inputs/paper_table1.csv"   # the paper's Table 1, as printed (an input)
METRICS_TABLE = f"{RESULTS}/{{table}}.csv"   # the records, collected (runs.smk: collect)
AVAILABLE = f"{WORK}/available.json"         # which baselines can run here (runs.smk: checkout)
TRIALS_TABLE = f"{RESULTS}/studies/{{dataset}}/{{study}}.trials.csv"   # tune.smk: tune_study
STACKED_MNIST_REPORTED = "inputs/stacked_mnist_reported.csv"   # VEEGAN's and PacGAN's rows (an input)
LAM = config["table1"]["lambda"]
DATASETS = config["datasets"] or config["profiles"][PROFILE]["datasets"]
# Table 1's blocks (the main job, within its budget); every dataset's runs are in metrics.csv,
# the figures, the claims and table1_seeds (every dataset, Table 1's λ over the sweep seeds)
TABLE1_DATASETS = config["datasets"] or config["profiles"][PROFILE].get("table1_datasets") or DATASETS
SEEDS = config["seeds"] or config["profiles"][PROFILE]["seeds"]   # Table 1 (the main job)
# the λ sweeps (Figures 2-3, the modes figure, the claims): seeds of their own, so each claim
# gets an interval over seeds while Table 1 may stay within its budget on one
SWEEP_SEEDS = config["sweep_seeds"] or config["profiles"][PROFILE]["sweep_seeds"]
BASELINES = {d: config["table1"]["models"].get(d, []) for d in DATASETS}
# tuned presets (rules/tune.smk writes them, `ijae tune`): TUNED/<profile>/<dataset>/<study>.yaml;
# config presets: tuned (the default; a study without one falls back to its hand-sized preset,
# and its records say so) or hand (config/presets/ and the profile's file alone)
TUNED = config["tuned"]
USE_TUNED = config["presets"] == "tuned"
# Stacked MNIST (rules/stacked_mnist.smk, outside all): its runs take the presets of another
# dataset (presets_from) and the protocol's settings (set)
STACKED_MNIST = config["stacked_mnist"]
PRESET_DATASET = {"stacked_mnist": STACKED_MNIST["presets_from"]}
RUN_DATASETS = list(dict.fromkeys([*DATASETS, "stacked_mnist"]))   # the {dataset} wildcard
ALL_BASELINES = list(dict.fromkeys(m for d in DATASETS for m in BASELINES[d]))   # checked out;
# Stacked MNIST runs those of its models among them (the default profile's: all five)
TRAIN_SET = config.get("set", [])
CALIBRATE = config["calibrate"]   # rules/calibrate.smk: the datasets beyond the profile's, images a control


def say_left_out(path=AVAILABLE):
    """At the end of a workflow run: one line per baseline the checkout could not get (offline),
    with why and how to bring it in; the tables only name them in their notes."""
    if REDRAW or not Path(path).is_file():
        return
    for r in json.loads(Path(path).read_text()):
        if not r.get("available", True):
            print(f"ijae workflow: {r['label']} ({r['model']}) left out of every table: "
                  f"{r['reason']}", file=sys.stderr)


def calibration_inputs(datasets):
    """The controls' records of ``datasets`` (rules/calibrate.smk), which the claims read."""
    return [f"{RESULTS}/calibration/{d}.csv" for d in datasets]


CALIBRATION_DATASETS = list(dict.fromkeys([*DATASETS, *CALIBRATE["datasets"]]))


def calibrate_sets(wildcards):
    """`ijae calibrate --set` of a dataset: Stacked MNIST's protocol, then the workflow's `set`."""
    dataset_sets = STACKED_MNIST["set"] if wildcards.dataset == "stacked_mnist" else []
    return [arg for s in [*dataset_sets, *TRAIN_SET] for arg in ("--set", s)]

# The paper profile's run jobs take a GPU each: `gpu` is what a scheduler grants (the Slurm
# profile maps it to a GPU request); `gpu_slots` is how many jobs share one card (profiles/gpu
# packs several runs per card). The default profile runs one CPU thread per job, since
# PyTorch's one-thread-per-core default crawls when several jobs share the cores.
GPUS = int(config["profiles"][PROFILE].get("gpus", 0))   # the run profile says (workflow.yaml)

# Declared once for every job that trains or scores (runs, tune, calibrate): its resources (the
# GPU above; one CPU thread, counted against the machine's cores: workflow.global_resources) and
# its environment (the work folder, one BLAS thread). Not `shell.prefix` (a fixed string, not
# filled in per job) nor a global `conda:` (Snakemake injects that into its own process).
RUN_RESOURCES = dict(gpu=GPUS, gpu_slots=GPUS, cpus=lambda wc, threads: threads)
WORK_ENV = "IJAE_WORK={params.work:q} "
JOB_ENV = "".join([WORK_ENV, "OMP_NUM_THREADS={threads} "])


def with_env(command, env=JOB_ENV):
    """A job's shell command with its environment in front (JOB_ENV, or WORK_ENV alone)."""
    return "".join([env, command])

# The runs come from the experiment plan (ijae/plan.py: each run's id, preset, options, steps,
# samples and memory, by ijae.config's one precedence); these helpers only fit it to the rules'
# wildcards. A run lives in RUNS/DATASET/RUN_ID, the id MODEL[-VARIANT-lamLAMBDA]-seedSEED.
from ijae import plan as plan_mod

PLAN = plan_mod.Plan(config, Path(workflow.basedir))
RUN_ID = plan_mod.RUN_ID
RUN_ID_CONSTRAINT = re.sub(r"\(\?P<\w+>", "(", RUN_ID.pattern)
RUN = f"{RUNS}/{{dataset}}/{{run}}"  # a run's folder, as a pattern
run_id = plan_mod.run_id


wildcard_constraints:
    run=RUN_ID_CONSTRAINT,
    dataset="|".join(RUN_DATASETS),
    table="metrics|metrics_table1|metrics_seeds",


def work_folder(wildcards, output):
    """IJAE_WORK for a job: the work folder its first output lies in (outputs are WORK/...)."""
    path = Path(output[0])
    return str(path.parents[len(path.relative_to(WORK).parts) - 1])


def tuned_preset(dataset, study):
    return PLAN.tuned_preset(dataset, study)


def run_of(wildcards):
    """The plan's run of a job's wildcards (dataset, run id)."""
    return PLAN.run(wildcards.dataset, wildcards.run)


def train_args(wildcards):
    """`ijae train` options of run ``wildcards.run`` on ``wildcards.dataset``."""
    return run_of(wildcards).train_args()


def _read_yaml(path):
    return yaml.safe_load(Path(path).read_text()) if Path(path).is_file() else None


def evaluate_mem_mb(wildcards):
    """The memory an `ijae evaluate` job declares (mem_mb: the plan's 1 GB + 0.2 MB a sample),
    so a profile's mem_mb limit keeps parallel evaluations from running out of memory
    (torch-fidelity's precision / recall hold the pairwise distances of the samples)."""
    return run_of(wildcards).mem_mb


def run_settings(wildcards):
    """What a run's result depends on, as the train job's params: the profile's config and the
    model's preset as parsed YAML (comments and layout drop out) and the job's own options.
    Snakemake reruns a job whose params changed, so an edited value re-runs the runs it
    concerns (export.* / eval.* resume training at its last step and redo export / evaluate),
    while a comment-only edit re-runs nothing. The config file is a param, not an input, for
    that reason: an input's newer mtime alone would re-run every run."""
    run = run_of(wildcards)
    return {"config": _read_yaml(PROFILE_CONFIG),
            "preset": _read_yaml(f"config/presets/{PROFILE}/{run.model}.yaml"),
            # a tuned preset's values, not its provenance block (a re-tune that picks the same
            # values re-runs nothing)
            "tuned": {k: v for k, v in (_read_yaml(run.preset) or {}).items() if k != "tuned"}
                     if run.preset else None,
            "args": run.train_args()}


# λ-IJAE's runs of the three metric tables (Table 1; the seeded Table 1; every run), and the
# baselines' (those the checkout job found runnable here: a checkpoint, so the plan waits for it)
IJAE_RUNS = {t: [r.folder(WORK) for r in PLAN.table_runs(t, runnable=()) ] for t in plan_mod.TABLES}


def baseline_runs(wildcards):
    from ijae import availability

    runnable = set(availability.available(checkpoints.checkout.get().output[0]))
    return [r.folder(WORK) for r in PLAN.table_runs(wildcards.table, runnable) if r.model != "ijae"]


# the experiments' own settings and helpers: the studies, the budget study, Stacked MNIST
include: "experiments.smk"
