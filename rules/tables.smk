# Tables from the runs' metric records (collected into one CSV by runs.smk's collect): Table 1 as
# markdown, CSV and LaTeX, the claims with their verdicts and the tuning report (pure functions of
# the records and the trials tables, ijae/report/).
# The figures are in figures.smk, included at the end.


rule table:
    input:
        metrics=expand(METRICS_TABLE, table="metrics_table1"),
        paper=PAPER_TABLE1,
    output:
        md=report(f"{RESULTS}/table1.md", caption="../report/table1.rst", category="Table 1"),
        csv=f"{RESULTS}/table1.csv",
        tex=report(f"{RESULTS}/table1.tex", caption="../report/table1.rst", category="Table 1"),
    log:
        f"{LOGS}/table1.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        lam=LAM,
        profile=PROFILE,
        # not an input: redrawing the table from the cached records must not plan the checkout
        # (network); in a full run the checkout is done before collect, so it is there
        available=AVAILABLE,
        provenance=lambda wc, input: provenance(input.metrics[0]),
        # a row is fresh when its run's metrics.json is in this work folder, else cached
        work=WORK,
    conda:
        "../envs/ijae.yaml"
    shell:
        # models the checkout job could not get are named under the table, with why; each row
        # says whether it is fresh (its run in IJAE_WORK) or cached (the committed records)
        with_env("ijae table1 {input.metrics:q} --paper {input.paper:q} "
                 "--availability-if-present {params.available:q} --lam {params.lam} "
                 "--profile {params.profile:q} --out {params.out:q} 2> {log:q}", WORK_ENV)


rule table_seeds:
    # the seeded Table 1: every dataset of the profile, λ-IJAE at Table 1's λ and every baseline
    # over the sweep seeds (λ-IJAE's runs are the sweep's), mean ± std over seeds
    input:
        metrics=expand(METRICS_TABLE, table="metrics_seeds"),
        paper=PAPER_TABLE1,
    output:
        md=report(f"{RESULTS}/table1_seeds.md", caption="../report/table1.rst", category="Table 1"),
        csv=f"{RESULTS}/table1_seeds.csv",
        tex=f"{RESULTS}/table1_seeds.tex",
    log:
        f"{LOGS}/table1_seeds.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        lam=LAM,
        profile=PROFILE,
        available=AVAILABLE,
        provenance=lambda wc, input: provenance(input.metrics[0]),
        work=WORK,
    conda:
        "../envs/ijae.yaml"
    shell:
        with_env("ijae table1 {input.metrics:q} --paper {input.paper:q} "
                 "--availability-if-present {params.available:q} --lam {params.lam} "
                 "--profile {params.profile:q} --name table1_seeds --out {params.out:q} 2> {log:q}", WORK_ENV)


rule claims:
    # the paper's claims, each with an interval over the sweep seeds and a verdict
    input:
        metrics=expand(METRICS_TABLE, table="metrics"),
        # the measures' known-answer controls (rules/calibrate.smk): a failing measure decides nothing
        calibration=calibration_inputs(DATASETS) if not REDRAW else
            lambda wc: [p for p in calibration_inputs(DATASETS) if Path(p).is_file()],
    output:
        md=report(f"{RESULTS}/claims.md", caption="../report/claims.rst", category="Claims"),
        csv=report(f"{RESULTS}/claims.csv", caption="../report/claims.rst", category="Claims"),
    log:
        f"{LOGS}/claims.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        confidence=config["claims"]["confidence"],
        lam=LAM,
        provenance=lambda wc, input: provenance(input.metrics[0]),
    conda:
        "../envs/ijae.yaml"
    shell:
        # stdout: one line per claim and dataset, its verdict and interval
        "ijae claims {input.metrics:q} --calibration {input.calibration:q} --out {params.out:q} "
        "--confidence {params.confidence} --lam {params.lam} > {log:q} 2>&1"


rule tuning_report:
    input:
        expand(TRIALS_TABLE, dataset=DATASETS, study=STUDIES),
    output:
        md=report(f"{RESULTS}/tuning.md", caption="../report/tuning.rst", category="Tuning"),
        png=report(f"{RESULTS}/tuning.png", caption="../report/tuning.rst", category="Tuning"),
        pdf=f"{RESULTS}/tuning.pdf",
        csv=f"{RESULTS}/tuning_trials.csv",
    log:
        f"{LOGS}/tuning.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae tuning {input:q} --out {params.out:q} 2> {log:q}"


include: "reporting.smk"
include: "figures.smk"
