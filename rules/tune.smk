# Equal footing (ijae/tune): one Optuna study per dataset and study (λ-IJAE, its L1 / L2
# ablations, every baseline), K trials each of its search space
# (config/presets/<profile>/<study>.space.yaml), every trial trained, exported and scored on a
# validation split; each study writes its tuned preset (TUNED/<profile>/<dataset>/<study>.yaml)
# and trials table (RESULTS/studies/<dataset>/<study>.trials.csv), and tuning_report reports the
# search (tuning.md, tuning.png; tables.smk). The tuned
# presets are not inputs of the runs (a param, as the profile's config: rules/common.smk), so
# `table1` on a fresh clone reads the committed ones and never plans a study. Its settings and
# helpers (TUNE, STUDIES, tune_settings, tune_args) are in common.smk.
wildcard_constraints:
    study="|".join(re.escape(s) for s in STUDIES),
    worker=r"\d+",


rule tune_study:
    input:
        # ancient: a fresh clone's files (and a new checkout record) must not re-run a study
        # whose tuned preset is committed; edits re-run it through `settings`
        space=lambda wc: ancient(space_file(wc.study)),
        checkout=lambda wc: [] if wc.study.startswith("ijae") else ancient(AVAILABLE),
    output:
        # both committed (the trial folders and the journal stay in the work folder), so on a
        # fresh clone `snakemake tune` has nothing to do
        preset=f"{TUNED}/{PROFILE}/{{dataset}}/{{study}}.yaml",
        trials=TRIALS_TABLE,
    log:
        f"{TUNE_ROOT}/{{dataset}}/{{study}}.log",
    params:
        config=PROFILE_CONFIG,
        settings=tune_settings,
        args=tune_args,
        work=WORK,
    threads: 1
    resources:
        **RUN_RESOURCES,
    conda:
        "../envs/ijae.yaml"
    shell:
        # one line per trial (values, criterion, time) and the best so far, in the log; a killed
        # study resumes with its finished trials kept (the journal) and its interrupted trial
        # resumed from its checkpoint
        with_env("ijae tune {params.config:q} "
                 "{params.args:q} --preset-out {output.preset:q} --trials-out {output.trials:q} 2> {log:q}")


rule tune_worker:
    # more workers on one study (a cluster: tune.workers > 1): each takes waiting trials until
    # none is left; the study's own job waits for them and writes the preset
    input:
        space=lambda wc: ancient(space_file(wc.study)),
        checkout=lambda wc: [] if wc.study.startswith("ijae") else ancient(AVAILABLE),
    output:
        touch(f"{TUNE_ROOT}/{{dataset}}/{{study}}.worker{{worker}}.done"),
    log:
        f"{TUNE_ROOT}/{{dataset}}/{{study}}.worker{{worker}}.log",
    params:
        config=PROFILE_CONFIG,
        settings=tune_settings,
        args=tune_args,
        work=work_folder,
    threads: 1
    resources:
        **RUN_RESOURCES,
    conda:
        "../envs/ijae.yaml"
    shell:
        with_env("ijae tune {params.config:q} "
                 "{params.args:q} --worker 2> {log:q}")


rule tune:
    input:
        expand(rules.tune_study.output.preset, dataset=DATASETS, study=STUDIES),
        expand(rules.tune_worker.output[0], dataset=DATASETS, study=STUDIES,
               worker=range(1, TUNE["workers"])),
        f"{RESULTS}/tuning.md",   # tables.smk: tuning_report
