# Figure 1 (Appendix B): the 1-D divergence comparison, independent of the runs.


rule toy:
    output:
        png=f"{RESULTS_ROOT}/figure1/figure1.png",
        pdf=f"{RESULTS_ROOT}/figure1/figure1.pdf",
        optima=f"{RESULTS_ROOT}/figure1/optima.csv",
    log:
        f"{WORK}/logs/figure1.log",
    params:
        out=lambda wc, output: os.path.dirname(output.png),
        runs=config["figure1"]["runs"],
        steps=config["figure1"]["steps"],
    threads: 2
    resources:
        cpus=lambda wc, threads: threads,
    conda:
        "../envs/ijae.yaml"
    shell:
        "OMP_NUM_THREADS={threads} ijae toy --out {params.out:q} --runs {params.runs} "
        "--steps {params.steps} 2> {log:q}"
