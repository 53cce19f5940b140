# Tables and plots from the runs' metric records: collect them into one CSV, then Table 1 and
# the Pareto plot (pure functions of the records, ijae/report.py).


rule collect:
    input:
        # run folders RUNS/DATASET/RUN_ID of every dataset (common.smk)
        ijae=lambda wc: [f"{run}/metrics.json" for run in IJAE_RUNS[wc.table]],
        baselines=lambda wc: [f"{run}/metrics.json" for run in baseline_runs(wc)],
    output:
        f"{RESULTS}/{{table}}.csv",
    log:
        f"{LOGS}/collect_{{table}}.log",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae collect {input.ijae:q} {input.baselines:q} --out {output:q} 2> {log:q}"


rule table:
    input:
        metrics=expand(rules.collect.output[0], table="metrics_table1"),
        paper=PAPER_TABLE1,
        available=rules.checkout.output[0],
    output:
        md=f"{RESULTS}/table1.md",
        csv=f"{RESULTS}/table1.csv",
    log:
        f"{LOGS}/table1.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        lam=LAM,
        profile=PROFILE,
    conda:
        "../envs/ijae.yaml"
    shell:
        # models the checkout job could not get are named under the table, with why
        "ijae table1 {input.metrics:q} --paper {input.paper:q} --availability {input.available:q} "
        "--lam {params.lam} --profile {params.profile:q} --out {params.out:q} 2> {log:q}"


rule pareto_plot:
    input:
        expand(rules.collect.output[0], table="metrics"),
    output:
        png=f"{RESULTS}/pareto.png",
        pdf=f"{RESULTS}/pareto.pdf",
    log:
        f"{LOGS}/pareto.log",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae pareto {input:q} --out {output.png:q} 2> {log:q}"
