# Do the verdicts survive a longer run? (`snakemake --cores 8 budget`, outside `all`.) λ-IJAE and
# its L1 / L2 ablations at budget.lambdas, over the sweep seeds, each trained once to the largest
# budget (budget.multiples × the run's own train.steps, its tuned preset) and kept at every budget
# (train.snapshot_steps: BUDGET_RUN/steps/<N>/, a run folder as an N-step run leaves it); each
# snapshot exported and scored like any run, the records collected (metrics_budget.csv), the
# claims re-decided at each budget and the curves judged settled or still moving (ijae budget).
# Its settings and helpers (BUDGET, budget_runs, budget_train_args) are in common.smk.

wildcard_constraints:
    step=r"\d+",


# the run rules (runs.smk), with the budget's folders and each snapshot as a run of its own
use rule train as budget_train with:
    input:
        [],   # λ-IJAE's own code: no checkout
    output:
        done=touch(f"{BUDGET_RUN}/train.done"),
    log:
        f"{BUDGET_RUN}/train.log",
    params:
        config=PROFILE_CONFIG,
        settings=lambda wc: {**run_settings(wc), "args": budget_train_args(wc)},
        run=lambda wc, output: os.path.dirname(output.done),
        args=budget_train_args,
        work=work_folder,


use rule export as budget_export with:
    input:
        rules.budget_train.output.done,
    output:
        samples=f"{BUDGET_RUN}/steps/{{step}}/samples.npz",
        reconstructions=f"{BUDGET_RUN}/steps/{{step}}/reconstructions.npz",
    log:
        f"{BUDGET_RUN}/steps/{{step}}/export.log",
    params:
        run=lambda wc, output: os.path.dirname(output.samples),
        work=work_folder,


use rule evaluate as budget_evaluate with:
    input:
        **rules.budget_export.output,
    output:
        f"{BUDGET_RUN}/steps/{{step}}/metrics.json",
    log:
        f"{BUDGET_RUN}/steps/{{step}}/evaluate.log",
    params:
        run=lambda wc, input: os.path.dirname(input.samples),
        work=work_folder,


rule budget_collect:
    input:
        [f"{BUDGET_RUNS}/{d}/{r}/steps/{n}/metrics.json" for d, r in budget_runs()
         for n in budget_steps(d, r)],
    output:
        BUDGET_METRICS,
    log:
        f"{LOGS}/collect_budget.log",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae collect {input:q} --out {output:q} 2> {log:q}"


rule budget:
    input:
        rules.budget_report.output,
