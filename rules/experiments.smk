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


def budget_runs():
    """(dataset, run id) of every budget run (the plan's; one 1× budget for all, else an error)."""
    return [(r.dataset, r.id) for r in PLAN.budget_runs()]


def budget_steps(dataset, run):
    return list(PLAN.run(dataset, run, "budget", _BUDGET_SNAPSHOTS[(dataset, run)]).snapshots)


_BUDGET_SNAPSHOTS = {(r.dataset, r.id): r.snapshots for r in PLAN.budget_runs()}
BUDGET_BASES = {steps[0] // min(BUDGET["multiples"]) for steps in _BUDGET_SNAPSHOTS.values()}


def budget_train_args(wildcards):
    run = PLAN.run(wildcards.dataset, wildcards.run, "budget",
                   _BUDGET_SNAPSHOTS[(wildcards.dataset, wildcards.run)])
    return run.train_args()


# ---- Stacked MNIST (rules/stacked_mnist.smk): its runs, on the tuned presets of presets_from ----
def stacked_mnist_runs(runnable=None):
    """The run folders of the Stacked MNIST table: λ-IJAE at each λ, and the baselines (those in
    ``runnable`` when given: the ones the checkout job found runnable here)."""
    return [r.folder(WORK) for r in PLAN.stacked_mnist_runs(runnable)]


def stacked_mnist_records(wildcards):
    from ijae import availability

    runnable = set(availability.available(checkpoints.checkout.get().output[0]))
    return [f"{run}/metrics.json" for run in stacked_mnist_runs(runnable)]
