# One run: check out upstream code (once for all baselines), train, export samples and
# reconstructions, score them; then collect a table's records into one CSV. Every job gets IJAE_WORK, so runs, clones, caches and datasets
# all live in the one work folder (config: work). A run's folder: RUNS/DATASET/RUN_ID.


localrules:
    checkout,  # clones from the network: on a cluster, where the workflow is started


checkpoint checkout:
    output:
        AVAILABLE,
    log:
        f"{LOGS}/checkout.log",
    params:
        models=ALL_BASELINES,
        work=work_folder,
    conda:
        "../envs/ijae.yaml"
    shell:
        # clones what is missing; a model whose code cannot be had is recorded, not an error
        with_env("ijae checkout {params.models:q} --out {output:q} 2> {log:q}", WORK_ENV)


rule train:
    input:
        # a baseline's upstream code is fetched by the checkout job, once, before its runs
        checkout=lambda wc: [] if RUN_ID.fullmatch(wc.run)["model"] == "ijae" else rules.checkout.output,
    output:
        done=touch(f"{RUN}/train.done"),
    log:
        f"{RUN}/train.log",
    params:
        config=PROFILE_CONFIG,  # a param (see run_settings): its edits re-run through `settings`
        settings=run_settings,
        run=lambda wc, output: os.path.dirname(output.done),
        args=train_args,
        work=work_folder,
    threads: 1
    resources:
        **RUN_RESOURCES,
    conda:
        "../envs/ijae.yaml"
    shell:
        # --resume: a killed job picks up from its last checkpoint when the workflow is rerun
        with_env("ijae train {params.config:q} "
                 "--out {params.run:q} {params.args:q} --resume 2> {log:q}")


rule export:
    input:
        rules.train.output.done,
    output:
        samples=f"{RUN}/samples.npz",
        reconstructions=f"{RUN}/reconstructions.npz",
    log:
        f"{RUN}/export.log",
    params:
        run=lambda wc, input: os.path.dirname(input[0]),
        work=work_folder,
    threads: 1
    resources:
        **RUN_RESOURCES,
    conda:
        "../envs/ijae.yaml"
    shell:
        with_env("ijae export {params.run:q} 2> {log:q}")


rule evaluate:
    input:
        **rules.export.output,
    output:
        f"{RUN}/metrics.json",
    log:
        f"{RUN}/evaluate.log",
    params:
        run=lambda wc, input: os.path.dirname(input.samples),
        work=work_folder,
    threads: 1
    resources:
        **RUN_RESOURCES,
        mem_mb=evaluate_mem_mb,
    conda:
        "../envs/ijae.yaml"
    shell:
        # metric caches: <work>/cache (ijae.cache_dir)
        with_env("ijae evaluate {params.run:q} "
                 "> {log:q} 2>&1")


# every record of one table, collected into one CSV (the per-run records, in the report)
rule collect:
    input:
        # run folders RUNS/DATASET/RUN_ID of every dataset (common.smk)
        ijae=lambda wc: [f"{run}/metrics.json" for run in IJAE_RUNS[wc.table]],
        baselines=lambda wc: [f"{run}/metrics.json" for run in baseline_runs(wc)],
    output:
        report(METRICS_TABLE, caption="../report/metrics.rst", category="Records"),
    log:
        f"{LOGS}/collect_{{table}}.log",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae collect {input.ijae:q} {input.baselines:q} --out {output:q} 2> {log:q}"
