# The settings and helpers of the experiments beyond Table 1 and the sweeps (included by
# common.smk): the tuning studies (tune.smk), the budget study (budget.smk) and Stacked MNIST
# (stacked_mnist.smk). Plain Python on the config alone, like common.smk.


# ---- the tuning studies (rules/tune.smk) ----------------------------------------------------
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


# ---- the budget study (rules/budget.smk): snapshots of longer runs, the claims per budget ----
BUDGET = config["budget"]
BUDGET_RUNS = f"{WORK}/budget/{PROFILE}"
BUDGET_RUN = f"{BUDGET_RUNS}/{{dataset}}/{{run}}"   # a budget run's folder, as a pattern
BUDGET_DATASETS = [d for d in BUDGET["datasets"] if d in DATASETS]


def base_steps(dataset, run):
    """The run's own train.steps (the 1× budget): the last `train.steps=` of the workflow's
    `set`, else its tuned preset's, else its hand-sized preset's, else the profile's."""
    for override in reversed(TRAIN_SET):
        if override.startswith("train.steps="):
            return int(override.split("=", 1)[1])
    model = RUN_ID.fullmatch(run)["model"]
    for path in (preset_of(dataset, run), f"config/presets/{PROFILE}/{model}.yaml", PROFILE_CONFIG):
        steps = ((_read_yaml(path) or {}).get("train") or {}).get("steps") if path else None
        if steps:
            return int(steps)
    raise ValueError(f"no train.steps for {run} on {dataset} in its presets or {PROFILE_CONFIG}")


def budget_runs():
    """(dataset, run id) of every budget run."""
    return [(d, run_id("ijae", s, v, lam)) for d in BUDGET_DATASETS for v in BUDGET["variants"]
            for lam in BUDGET["lambdas"] if v == "implicit" or lam > 0 for s in SWEEP_SEEDS]


def budget_steps(dataset, run):
    return [m * base_steps(dataset, run) for m in sorted(BUDGET["multiples"])]


BUDGET_BASES = {base_steps(d, r) for d, r in budget_runs()}
if len(BUDGET_BASES) > 1:
    raise ValueError(f"the budget runs train for different steps ({sorted(BUDGET_BASES)}): one 1× "
                     "budget is needed to compare them; set train.steps alike in their presets")


def budget_train_args(wildcards):
    steps = budget_steps(wildcards.dataset, wildcards.run)
    return [*train_args(wildcards), "--set", f"train.steps={steps[-1]}",
            "--set", f"train.snapshot_steps=[{','.join(map(str, steps))}]"]


# ---- Stacked MNIST (rules/stacked_mnist.smk): its runs, on the tuned presets of presets_from ----
def stacked_mnist_runs(runnable=None):
    """The run folders of the Stacked MNIST table: λ-IJAE at each λ, and the baselines (those in
    ``runnable`` when given: the ones the checkout job found runnable here)."""
    seeds = STACKED_MNIST["seeds"]
    ijae = [run_id("ijae", s, "implicit", lam) for lam in STACKED_MNIST["lambdas"] for s in seeds]
    baselines = [run_id(m, s) for m in STACKED_MNIST["models"]
                 if runnable is None or m in runnable for s in seeds]
    return [f"{RUNS}/stacked_mnist/{r}" for r in ijae + baselines]


def stacked_mnist_records(wildcards):
    from ijae import availability

    runnable = set(availability.available(checkpoints.checkout.get().output[0]))
    return [f"{run}/metrics.json" for run in stacked_mnist_runs(runnable)]
