# The calibration (`snakemake --cores 8 calibrate`): every measure of the record on known-answer
# sample sets (ijae/metrics/controls.py: real images, noise, copies, one mode, blur), scored by
# the evaluate code a run goes through (`ijae calibrate`), one CSV of records per dataset; then
# the table, its figure and each measure's verdict (`ijae calibration`). The claims read the
# controls of the profile's datasets (a measure that fails them decides nothing), so `all`
# scores those; this target adds calibrate.datasets (Stacked MNIST: 26,000 samples a control).


rule calibrate_controls:
    output:
        f"{RESULTS}/calibration/{{dataset}}.csv",
    log:
        f"{LOGS}/calibrate_{{dataset}}.log",
    params:
        config=PROFILE_CONFIG,
        settings=lambda wc: {"config": _read_yaml(PROFILE_CONFIG), "sets": calibrate_sets(wc),
                             "n": CALIBRATE["n"]},   # an edit of these re-scores the controls
        sets=calibrate_sets,
        n=lambda wc: ["--n", str(CALIBRATE["n"])] if CALIBRATE["n"] else [],
        folder=f"{WORK}/calibration/{PROFILE}",
        work=WORK,
    threads: 1
    resources:
        # as an evaluate job of the dataset's runs (the plan's: 1 GB + 0.2 MB a sample)
        **RUN_RESOURCES,
        mem_mb=lambda wc: PLAN.run(wc.dataset, run_id("ijae", 0, "implicit", LAM)).mem_mb,
    conda:
        "../envs/ijae.yaml"
    shell:
        with_env("ijae calibrate {params.config:q} "
                 "--dataset {wildcards.dataset} --folder {params.folder:q} --out {output:q} "
                 "{params.n:q} {params.sets:q} > {log:q} 2>&1")


rule calibrate:
    input:
        rules.calibration.output,
