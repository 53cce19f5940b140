# Figures 2 and 3 with the Pareto claim computed, and Appendix C's sample grids. Figures 2-3 are
# a pure function of metrics.csv; the grids read the runs' exported images in the work folder.
# modes.png is precision, recall, modes covered and the mode KL against λ, from metrics.csv too.
# Targets: pareto (Figures 2-3), samples (every dataset's grid: trains what is missing) and
# figures (every table and figure from the cache alone: never plans a train/export/evaluate job).
report: "../report/workflow.rst"


rule pareto_plot:
    input:
        expand(METRICS_TABLE, table="metrics"),
    output:
        figure2=report(f"{RESULTS}/figure2.png", caption="../report/figure2.rst", category="Figures"),
        figure2_pdf=f"{RESULTS}/figure2.pdf",
        figure3=report(f"{RESULTS}/figure3.png", caption="../report/figure3.rst", category="Figures"),
        figure3_pdf=f"{RESULTS}/figure3.pdf",
        fronts=report(f"{RESULTS}/pareto_fronts.csv", caption="../report/pareto.rst",
                      category="Pareto claim"),
        verdict=report(f"{RESULTS}/pareto_verdict.csv", caption="../report/pareto.rst",
                       category="Pareto claim"),
        verdict_md=f"{RESULTS}/pareto_verdict.md",
    log:
        f"{LOGS}/pareto.log",
    params:
        out=lambda wc, output: os.path.dirname(output.figure2),
        provenance=lambda wc, input: provenance(input[0]),
    conda:
        "../envs/ijae.yaml"
    shell:
        # stdout: the verdict in words (also in pareto_verdict.md and under Figure 2)
        "ijae pareto {input:q} --out {params.out:q} > {log:q} 2>&1"


rule modes_plot:
    # mode-seeking against mass-covering: precision, recall, modes covered, mode KL against λ
    input:
        expand(METRICS_TABLE, table="metrics"),
    output:
        png=report(f"{RESULTS}/modes.png", caption="../report/modes.rst", category="Figures"),
        pdf=f"{RESULTS}/modes.pdf",
        csv=report(f"{RESULTS}/modes.csv", caption="../report/modes.rst", category="Figures"),
    log:
        f"{LOGS}/modes.log",
    params:
        out=lambda wc, output: os.path.dirname(output.png),
        provenance=lambda wc, input: provenance(input[0]),
    conda:
        "../envs/ijae.yaml"
    shell:
        # stdout: how each measure moves with λ, in words
        "ijae modes {input:q} --out {params.out:q} > {log:q} 2>&1"


rule samples_grid:
    input:
        samples=lambda wc: [f"{r}/samples.npz" for r in sample_runs(wc)],
        reconstructions=lambda wc: [f"{r}/reconstructions.npz" for r in sample_runs(wc)],
        # the row labels come from the records: wait for them, or a row is named by its folder
        records=lambda wc: [f"{r}/metrics.json" for r in sample_runs(wc)],
    output:
        png=report(f"{RESULTS}/samples_{{dataset}}.png", caption="../report/samples.rst",
                   category="Samples (Appendix C)"),
        pdf=f"{RESULTS}/samples_{{dataset}}.pdf",
    log:
        f"{LOGS}/samples_{{dataset}}.log",
    params:
        runs=sample_runs,
        title=lambda wc: f"{wc.dataset}: samples and reconstructions ({PROFILE} profile, seed "
                         f"{(STACKED_MNIST['seeds'] if wc.dataset == 'stacked_mnist' else SEEDS)[0]})",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae samples {params.runs:q} --out {output.png:q} --title {params.title:q} 2> {log:q}"


rule samples:
    input:
        expand(rules.samples_grid.output.png, dataset=DATASETS),


rule figures:
    input:
        rules.table.output,
        rules.pareto_plot.output,
        rules.claims.output,
        rules.table_seeds.output,
        # records collected before precision / recall existed cannot draw it (ijae evaluate again);
        # input functions: the files are looked at only when this target is planned, not at parse
        lambda wc: rules.modes_plot.output if records_have(rules.pareto_plot.input[0], MODES_COLUMNS) else [],
        lambda wc: expand(rules.samples_grid.output.png, dataset=cached_sample_datasets()),
        # the tuning report, where every study's preset and trials table are there (committed)
        lambda wc: if_present(rules.tuning_report.output, *rules.tuning_report.input,
                              *(tuned_preset(d, s) for d in DATASETS for s in STUDIES)),
        # the experiments' reports (reports.smk), each where its committed records are there
        lambda wc: if_present(rules.calibration.output, *rules.calibration.input),
        lambda wc: if_present(rules.stacked_mnist_table.output, STACKED_MNIST_METRICS),
        lambda wc: if_present(rules.budget_report.output, BUDGET_METRICS,
                              *rules.budget_report.input.calibration),
