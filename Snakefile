"""Table 1, the Pareto plot and Figure 1 of the λ-IJAE paper, from training to figures.

    snakemake --cores 8 table1      # λ-IJAE at the table's λ and the baselines, scored, tabulated
    snakemake --cores 8 pareto      # λ-IJAE and its L1 / L2 ablations across λ (+ the baselines)
    snakemake --cores 8 claims      # the paper's claims decided over the seeded λ sweeps
    snakemake --cores 8 sweep       # pareto, claims, the modes figure and table1_seeds
    snakemake --cores 8 table1_seeds  # Table 1 over the sweep seeds, on every dataset
    snakemake --cores 8 tune        # one Optuna study per model and dataset: the tuned presets
    snakemake --cores 8 budget      # the claims at 1x, 2x, 4x the steps: do the verdicts survive?
    snakemake --cores 8 stacked_mnist  # Stacked MNIST on real MNIST, the published rows beside ours
    snakemake --cores 8 calibrate   # every measure on known-answer controls: does it tell data from noise?
    snakemake --cores 8 figure1     # the 1-D divergence comparison (Appendix B)
    snakemake --cores 8 all

Every job calls the `ijae` command line; the profile (config/workflow.yaml) picks
config/default.yaml (offline CPU, digits) or config/paper.yaml (GPU, CIFAR-10). Reading order:
rules/common.smk (paths, the run-id grammar, which runs make which table), rules/runs.smk
(checkout, train, export, evaluate), rules/tables.smk (collect, Table 1, claims), rules/figures.smk
(Figures 2-3, the modes figure, sample grids),
rules/figure1.smk, rules/tune.smk (the studies, the tuned presets, the tuning report),
rules/budget.smk (the budget study: snapshots of longer runs, the claims per budget),
rules/stacked_mnist.smk (Stacked MNIST: its runs, its table with the published rows),
rules/calibrate.smk (the measures on known-answer controls), rules/reports.smk (the
calibration's, Stacked MNIST's and the budget study's reports, from their records). Parsing
imports nothing heavy and touches nothing: upstream code is fetched by the checkout job.
"""
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/workflow.yaml"



include: "rules/common.smk"
include: "rules/reports.smk"   # the experiments' reports, from their records (a redraw too)
# the rules that make records: none in a redraw (`snakemake figures`, common.smk: REDRAW)
if not REDRAW:

    include: "rules/runs.smk"
    include: "rules/tune.smk"
    include: "rules/budget.smk"
    include: "rules/stacked_mnist.smk"
    include: "rules/calibrate.smk"


include: "rules/tables.smk"
include: "rules/figure1.smk"


onsuccess:
    say_left_out()


onerror:
    say_left_out()


rule all:
    default_target: True
    input:
        rules.table.output,
        rules.pareto_plot.output,
        rules.modes_plot.output,   # precision, recall, modes covered, mode KL against λ
        rules.claims.output,       # a verdict per claim, with its interval over seeds
        rules.table_seeds.output,  # the seeded Table 1: every dataset, the sweep seeds
        rules.samples.input,       # Appendix C's sample / reconstruction grids, per dataset
        expand(METRICS_TABLE, table="metrics"),
        rules.toy.output,


rule table1:
    input:
        rules.table.output,


rule table1_seeds:
    input:
        rules.table_seeds.output,


rule pareto:
    input:
        rules.pareto_plot.output,


rule sweep:
    input:
        rules.pareto_plot.output,
        rules.modes_plot.output,
        rules.claims.output,
        rules.table_seeds.output,


rule figure1:
    input:
        rules.toy.output,
