"""Table 1, the Pareto plot and Figure 1 of the λ-IJAE paper, from training to figures.

    snakemake --cores 8 table1      # λ-IJAE at the table's λ and the baselines, scored, tabulated
    snakemake --cores 8 pareto      # λ-IJAE and its L1 / L2 ablations across λ (+ the baselines)
    snakemake --cores 8 figure1     # the 1-D divergence comparison (Appendix B)
    snakemake --cores 8 all

Every rule calls the `ijae` command line; the profile (config/workflow.yaml) picks
config/default.yaml (offline CPU, digits) or config/paper.yaml (GPU, CIFAR-10).
"""
import os
import re
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/workflow.yaml"


validate(config, "config/workflow.schema.yaml")

PROFILE = config["profile"]
PROFILE_CONFIG = f"config/{PROFILE}.yaml"
RUNS = f"{config['work']}/runs/{PROFILE}"
RESULTS = f"results/{PROFILE}"
LAM = config["table1"]["lambda"]
# A GPU job per run on the paper profile; one CPU thread per job on the default profile, since
# PyTorch's one-thread-per-core default crawls when several jobs share the cores.
GPUS = 1 if PROFILE == "paper" else 0
RUN_ID = re.compile(r"(?P<model>[a-z0-9_]+)(-(?P<variant>implicit|l1|l2)-lam(?P<lam>[0-9.]+))?-seed(?P<seed>\d+)")


def ijae_run(variant, lam, seed):
    return f"ijae-{variant}-lam{lam:g}-seed{seed}"


def unavailable(models):
    """Baselines that cannot run here, with why: upstream code that is neither cloned nor given
    as a local mirror is cloned now, and left out (with the error) when that fails offline."""
    from baselines.base import get_adapter
    from ijae import UserError

    skipped = {}
    for model in models:
        adapter = get_adapter(model)
        if adapter.unavailable_reason() and adapter.source is not None:
            try:
                adapter.source.checkout()
            except UserError as error:
                skipped[model] = str(error)
    return skipped


SKIPPED = unavailable(config["table1"]["models"])
for model, reason in SKIPPED.items():
    print(f"workflow: leaving {model} out of the tables: {reason}", file=sys.stderr)
BASELINES = [m for m in config["table1"]["models"] if m not in SKIPPED]
SEEDS = config["seeds"]
TABLE1_RUNS = [ijae_run("implicit", LAM, s) for s in SEEDS] + [f"{m}-seed{s}" for m in BASELINES for s in SEEDS]
PARETO_RUNS = [ijae_run(v, lam, s) for v in config["pareto"]["variants"]
               for lam in config["pareto"]["lambdas"] for s in SEEDS]
# metrics_table1.csv: the runs Table 1 needs; metrics.csv: every run (the committed results table)
RUN_SETS = {"metrics_table1": TABLE1_RUNS, "metrics": list(dict.fromkeys(TABLE1_RUNS + PARETO_RUNS))}


wildcard_constraints:
    run=r"[a-z0-9_]+(-(implicit|l1|l2)-lam[0-9.]+)?-seed[0-9]+",
    table="metrics|metrics_table1",


def train_args(wildcards):
    m = RUN_ID.fullmatch(wildcards.run)
    args = [f"--model {m['model']}", f"--seed {m['seed']}"]
    if m["variant"]:
        args += [f"--set model.variant={m['variant']}", f"--set model.lam={m['lam']}"]
    return " ".join(args)


rule all:
    input:
        f"{RESULTS}/table1.md",
        f"{RESULTS}/pareto.png",
        f"{RESULTS}/metrics.csv",
        "results/figure1/figure1.png",


rule table1:
    input:
        f"{RESULTS}/table1.md",
        f"{RESULTS}/table1.csv",


rule pareto:
    input:
        f"{RESULTS}/pareto.png",


rule figure1:
    input:
        "results/figure1/figure1.png",


rule train:
    input:
        config=PROFILE_CONFIG,
    output:
        done=touch(f"{RUNS}/{{run}}/train.done"),
    log:
        f"{RUNS}/{{run}}/train.log",
    params:
        run=lambda wc, output: os.path.dirname(output.done),
        args=train_args,
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "envs/ijae.yaml"
    shell:
        # --resume: a killed job picks up from its last checkpoint when the workflow is rerun
        "OMP_NUM_THREADS={threads} ijae train {input.config} --out {params.run} {params.args} --resume 2> {log}"


rule export:
    input:
        f"{RUNS}/{{run}}/train.done",
    output:
        samples=f"{RUNS}/{{run}}/samples.npz",
        reconstructions=f"{RUNS}/{{run}}/reconstructions.npz",
    log:
        f"{RUNS}/{{run}}/export.log",
    params:
        run=lambda wc, input: os.path.dirname(input[0]),
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "envs/ijae.yaml"
    shell:
        "OMP_NUM_THREADS={threads} ijae export {params.run} 2> {log}"


rule evaluate:
    input:
        samples=f"{RUNS}/{{run}}/samples.npz",
        reconstructions=f"{RUNS}/{{run}}/reconstructions.npz",
    output:
        f"{RUNS}/{{run}}/metrics.json",
    log:
        f"{RUNS}/{{run}}/evaluate.log",
    params:
        run=lambda wc, input: os.path.dirname(input.samples),
        cache=f"{config['work']}/cache",
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "envs/ijae.yaml"
    shell:
        "OMP_NUM_THREADS={threads} ijae evaluate {params.run} --cache-dir {params.cache} > {log} 2>&1"


rule collect:
    input:
        lambda wc: expand(f"{RUNS}/{{run}}/metrics.json", run=RUN_SETS[wc.table]),
    output:
        f"{RESULTS}/{{table}}.csv",
    log:
        f"{RUNS}/logs/collect_{{table}}.log",
    conda:
        "envs/ijae.yaml"
    shell:
        "ijae collect {input} --out {output} 2> {log}"


rule table:
    input:
        metrics=f"{RESULTS}/metrics_table1.csv",
        paper="results/paper/table1_reported.csv",
    output:
        md=f"{RESULTS}/table1.md",
        csv=f"{RESULTS}/table1.csv",
    log:
        f"{RUNS}/logs/table1.log",
    params:
        notes=" ".join(f"--note '{m} not run: {r}'" for m, r in SKIPPED.items()),
        out=lambda wc, output: os.path.dirname(output.md),
        lam=LAM,
        profile=PROFILE,
    conda:
        "envs/ijae.yaml"
    shell:
        "ijae table1 {input.metrics} --paper {input.paper} --lam {params.lam} --profile {params.profile} "
        "--out {params.out} {params.notes} 2> {log}"


rule pareto_plot:
    input:
        f"{RESULTS}/metrics.csv",
    output:
        png=f"{RESULTS}/pareto.png",
        pdf=f"{RESULTS}/pareto.pdf",
    log:
        f"{RUNS}/logs/pareto.log",
    conda:
        "envs/ijae.yaml"
    shell:
        "ijae pareto {input} --out {output.png} 2> {log}"


rule toy:
    output:
        png="results/figure1/figure1.png",
        pdf="results/figure1/figure1.pdf",
        optima="results/figure1/optima.csv",
    log:
        f"{config['work']}/logs/figure1.log",
    params:
        out=lambda wc, output: os.path.dirname(output.png),
        runs=config["figure1"]["runs"],
        steps=config["figure1"]["steps"],
    threads: 2
    conda:
        "envs/ijae.yaml"
    shell:
        "OMP_NUM_THREADS={threads} ijae toy --out {params.out} --runs {params.runs} "
        "--steps {params.steps} 2> {log}"
