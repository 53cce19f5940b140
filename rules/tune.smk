# Equal footing (ijae/tune): one Optuna study per dataset and study (λ-IJAE, its L1 / L2
# ablations, every baseline), K trials each of its search space
# (config/presets/<profile>/<study>.space.yaml), every trial trained, exported and scored on a
# validation split; each study writes its tuned preset (TUNED/<profile>/<dataset>/<study>.yaml)
# and trials table, and tuning_report reports the search (tuning.md, tuning.png). The tuned
# presets are not inputs of the runs (a param, as the profile's config: rules/common.smk), so
# `table1` on a fresh clone reads the committed ones and never plans a study.
TUNE = config["tune"]
TUNE_ROOT = f"{WORK}/tune/{PROFILE}"
STUDIES = TUNE["studies"]
# Optuna's journal in the work folder (every study of the profile, one file) or an RDB URL
TUNE_STORAGE = TUNE["storage"] or f"{TUNE_ROOT}/optuna.journal"
TUNE_SETS = [*TUNE["set"].get(PROFILE, []), *TRAIN_SET]   # every trial's settings, then the runs'


def space_file(study):
    return f"config/presets/{PROFILE}/{study}.space.yaml"


def tune_settings(wildcards):
    """What a study's trials depend on (a param: an edit re-runs the study, which then starts
    a new Optuna study, ijae/tune/study.py): the profile's config, the model's hand-sized preset,
    the search space, the trials' settings and seeds."""
    model = "ijae" if wildcards.study.startswith("ijae") else wildcards.study
    return {"config": _read_yaml(PROFILE_CONFIG),
            "preset": _read_yaml(f"config/presets/{PROFILE}/{model}.yaml"),
            "space": _read_yaml(space_file(wildcards.study)), "sets": TUNE_SETS,
            "seed": TUNE["seed"], "design_seed": TUNE["design_seed"]}


def tune_args(wildcards):
    args = ["--study", wildcards.study, "--dataset", wildcards.dataset, "--trials",
            str(TUNE["trials"]), "--seed", str(TUNE["seed"]), "--design-seed",
            str(TUNE["design_seed"]), "--storage", TUNE_STORAGE, "--folder",
            f"{TUNE_ROOT}/{wildcards.dataset}"]
    for setting in TUNE_SETS:
        args += ["--set", setting]
    return args


wildcard_constraints:
    study="|".join(re.escape(s) for s in STUDIES),
    worker=r"\d+",


rule tune_study:
    input:
        # ancient: a fresh clone's files (and a new checkout record) must not re-run a study
        # whose tuned preset is committed; edits re-run it through `settings`
        space=lambda wc: ancient(space_file(wc.study)),
        checkout=lambda wc: [] if wc.study.startswith("ijae") else ancient(rules.checkout.output[0]),
    output:
        trials=f"{TUNE_ROOT}/{{dataset}}/{{study}}.trials.csv",   # first: work_folder reads it
        preset=f"{TUNED}/{PROFILE}/{{dataset}}/{{study}}.yaml",
    log:
        f"{TUNE_ROOT}/{{dataset}}/{{study}}.log",
    params:
        config=PROFILE_CONFIG,
        settings=tune_settings,
        args=tune_args,
        work=work_folder,
    threads: 1
    resources:
        gpu=GPUS,
        gpu_slots=GPUS,
    conda:
        "../envs/ijae.yaml"
    shell:
        # one line per trial (values, criterion, time) and the best so far, in the log; a killed
        # study resumes with its finished trials kept (the journal) and its interrupted trial
        # resumed from its checkpoint
        "IJAE_WORK={params.work:q} OMP_NUM_THREADS={threads} ijae tune {params.config:q} "
        "{params.args:q} --preset-out {output.preset:q} --trials-out {output.trials:q} 2> {log:q}"


rule tune_worker:
    # more workers on one study (a cluster: tune.workers > 1): each takes waiting trials until
    # none is left; the study's own job waits for them and writes the preset
    input:
        space=lambda wc: ancient(space_file(wc.study)),
        checkout=lambda wc: [] if wc.study.startswith("ijae") else ancient(rules.checkout.output[0]),
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
        gpu=GPUS,
        gpu_slots=GPUS,
    conda:
        "../envs/ijae.yaml"
    shell:
        "IJAE_WORK={params.work:q} OMP_NUM_THREADS={threads} ijae tune {params.config:q} "
        "{params.args:q} --worker 2> {log:q}"


rule tuning_report:
    input:
        expand(rules.tune_study.output.trials, dataset=DATASETS, study=STUDIES),
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


rule tune:
    input:
        expand(rules.tune_study.output.preset, dataset=DATASETS, study=STUDIES),
        expand(rules.tune_worker.output[0], dataset=DATASETS, study=STUDIES,
               worker=range(1, TUNE["workers"])),
        rules.tuning_report.output,
