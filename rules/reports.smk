# The reports of the experiments beyond Table 1, from their records alone: the calibration
# (calibration.md from the controls' CSVs), Stacked MNIST's table (from metrics_stacked_mnist.csv)
# and the budget study's claims (from metrics_budget.csv). Included in a redraw too (`snakemake
# figures`, which draws each whose records are there): the rules that make those records are in
# calibrate.smk, stacked_mnist.smk and budget.smk, which a redraw leaves out.

STACKED_MNIST_METRICS = f"{RESULTS}/metrics_stacked_mnist.csv"
BUDGET_METRICS = f"{RESULTS}/metrics_budget.csv"


rule calibration:
    input:
        calibration_inputs(CALIBRATION_DATASETS),
    output:
        md=report(f"{RESULTS}/calibration.md", caption="../report/calibration.rst",
                  category="Calibration"),
        csv=f"{RESULTS}/calibration.csv",
        order=f"{RESULTS}/calibration_order.csv",
        png=report(f"{RESULTS}/calibration.png", caption="../report/calibration.rst",
                   category="Calibration"),
        pdf=f"{RESULTS}/calibration.pdf",
    log:
        f"{LOGS}/calibration.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae calibration {input:q} --out {params.out:q} > {log:q} 2>&1"


rule stacked_mnist_table:
    input:
        metrics=STACKED_MNIST_METRICS,   # stacked_mnist.smk: stacked_mnist_collect
        reported=STACKED_MNIST_REPORTED,
    output:
        md=report(f"{RESULTS}/stacked_mnist.md", caption="../report/stacked_mnist.rst",
                  category="Stacked MNIST"),
        csv=f"{RESULTS}/stacked_mnist.csv",
    log:
        f"{LOGS}/stacked_mnist.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        profile=PROFILE,
        presets_from=STACKED_MNIST["presets_from"],
        provenance=lambda wc, input: provenance(input.metrics),
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae stacked-mnist {input.metrics:q} --reported {input.reported:q} "
        "--presets-from {params.presets_from:q} --profile {params.profile:q} "
        "--out {params.out:q} 2> {log:q}"


rule budget_report:
    input:
        metrics=BUDGET_METRICS,   # budget.smk: budget_collect
        calibration=calibration_inputs(BUDGET_DATASETS),   # as the claims: failing measures decide nothing
    output:
        md=f"{RESULTS}/claims_budget.md",
        csv=f"{RESULTS}/claims_budget.csv",
        png=f"{RESULTS}/claims_budget.png",
        pdf=f"{RESULTS}/claims_budget.pdf",
        convergence=f"{RESULTS}/budget_convergence.csv",
        effects=f"{RESULTS}/budget_effects.csv",
        curves=f"{RESULTS}/learning_curves.png",
        curves_pdf=f"{RESULTS}/learning_curves.pdf",
    log:
        f"{LOGS}/budget.log",
    params:
        out=lambda wc, output: os.path.dirname(output.md),
        base=min(BUDGET_BASES) if BUDGET_BASES else 1,
        confidence=config["claims"]["confidence"],
        lam=LAM,
    conda:
        "../envs/ijae.yaml"
    shell:
        # stdout: each claim's verdict per budget, each curve settled or still moving
        "ijae budget {input.metrics:q} --calibration {input.calibration:q} --out {params.out:q} "
        "--base-steps {params.base} --confidence {params.confidence} --lam {params.lam} > {log:q} 2>&1"
