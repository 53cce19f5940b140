# Paths, the run-id grammar and which runs make which table. Plain Python on the config alone:
# no ijae, torch or baseline import, no file written.
import re
from pathlib import Path

PROFILE = config["profile"]
PROFILE_CONFIG = f"config/{PROFILE}.yaml"
WORK = config["work"]                # every job gets IJAE_WORK=WORK: runs, clones, caches, data
RUNS = f"{WORK}/runs/{PROFILE}"
RESULTS = f"results/{PROFILE}"
LOGS = f"{WORK}/logs/{PROFILE}"
PAPER_TABLE1 = "inputs/paper_table1.csv"   # the paper's Table 1, as printed (an input)
LAM = config["table1"]["lambda"]
SEEDS = config["seeds"]
BASELINES = config["table1"]["models"]
# A GPU job per run on the paper profile; one CPU thread per job on the default profile, since
# PyTorch's one-thread-per-core default crawls when several jobs share the cores.
GPUS = 1 if PROFILE == "paper" else 0

# The run-id grammar, written once: MODEL[-VARIANT-lamLAMBDA]-seedSEED, e.g. vae-seed0 or
# ijae-l1-lam0.5-seed0. RUN_ID parses an id; the same pattern without its group names is the
# {run} wildcard's constraint.
RUN_ID = re.compile(
    r"(?P<model>[a-z0-9_]+)(-(?P<variant>implicit|l1|l2)-lam(?P<lam>[0-9.]+))?-seed(?P<seed>[0-9]+)")
RUN_ID_CONSTRAINT = re.sub(r"\(\?P<\w+>", "(", RUN_ID.pattern)


wildcard_constraints:
    run=RUN_ID_CONSTRAINT,
    table="metrics|metrics_table1",


def run_id(model, seed, variant=None, lam=None):
    """The id of a run (RUN_ID's grammar); λ-IJAE runs name their variant and λ."""
    lam_part = f"-{variant}-lam{lam:g}" if variant else ""
    return f"{model}{lam_part}-seed{seed}"


def work_folder(wildcards, output):
    """IJAE_WORK for a job: the work folder its first output lies in (outputs are WORK/...)."""
    path = Path(output[0])
    return str(path.parents[len(path.relative_to(WORK).parts) - 1])


def train_args(wildcards):
    """`ijae train` options of run id ``wildcards.run``."""
    m = RUN_ID.fullmatch(wildcards.run)
    args = ["--model", m["model"], "--seed", m["seed"]]
    if m["variant"]:
        args += ["--set", f"model.variant={m['variant']}", "--set", f"model.lam={m['lam']}"]
    return args


IJAE_TABLE1_RUNS = [run_id("ijae", s, "implicit", LAM) for s in SEEDS]
PARETO_RUNS = [run_id("ijae", s, v, lam) for v in config["pareto"]["variants"]
               for lam in config["pareto"]["lambdas"] for s in SEEDS]
# metrics_table1.csv: the runs Table 1 needs; metrics.csv: every run (the committed results table)
IJAE_RUNS = {"metrics_table1": IJAE_TABLE1_RUNS,
             "metrics": list(dict.fromkeys(IJAE_TABLE1_RUNS + PARETO_RUNS))}


def baseline_runs(wildcards):
    """The baselines' runs: those of the models the checkout job found runnable here (a
    checkpoint, so the plan waits for it; an offline machine leaves the others out)."""
    from ijae import availability

    record = checkpoints.checkout.get().output[0]
    return [run_id(m, s) for m in availability.available(record) for s in SEEDS]
