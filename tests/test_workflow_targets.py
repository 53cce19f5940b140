"""The workflow's experiment targets beyond Table 1 and the sweeps: the tuning studies, the
budget study, Stacked MNIST (dry runs, and one end-to-end tune on the CI config)."""
import os
import shutil

import pandas as pd
import pytest
from conftest import REPO
from test_workflow import _jobs, run_workflow, snakemake, workflow_copy


# --- issue 22: the tuning studies ---------------------------------------------------------------

STUDIES = ("ijae", "ijae-l1", "ijae-l2", "alphagan", "age", "twostage", "svae", "vae")


@pytest.mark.parametrize("profile, flags, datasets", [
    ("default", ("--cores", "8"), ("digits", "stacked_digits")),
    ("paper", ("--workflow-profile", "profiles/gpu"), ("cifar10", "tinyimagenet")),
    ("paper", ("--workflow-profile", "profiles/slurm"), ("cifar10", "tinyimagenet")),
])
def test_the_tune_target_plans_one_study_per_model_and_dataset(tmp_path, profile, flags, datasets):
    """`snakemake tune` plans a tune_study job per (dataset, study) on this machine, on one GPU
    and on Slurm (the paper profile's studies ask for a GPU), and the tuning report after them;
    more workers per study are more jobs."""
    if "profiles/slurm" in flags:
        pytest.importorskip("snakemake_executor_plugin_slurm",
                            reason="the Slurm executor plugin is the `slurm` / `test` extra")
    result = snakemake("-n", *flags, "--forceall", "--config", f"profile={profile}",
                       f"work={tmp_path / 'work'}", f"tuned={tmp_path / 'tuned'}",
                       "tune={workers: 2}", "--", "tune")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs = _jobs(result.stdout)
    studies = {tuple(kv.split("=")[1] for kv in j["wildcards"].split(", "))
               for j in jobs if j["rule"] == "tune_study"}
    assert studies == {(d, s) for d in datasets for s in STUDIES}
    workers = [j for j in jobs if j["rule"] == "tune_worker"]
    assert len(workers) == len(studies)           # tune.workers = 2: one more job per study
    assert any(j["rule"] == "tuning_report" for j in jobs)
    if profile == "paper":
        for job in (j for j in jobs if j["rule"] == "tune_study"):
            assert "gpu=1" in job["resources"], job


def test_a_fresh_clone_has_no_study_to_run(tmp_path):
    """The tuned presets and the trials tables are committed: `snakemake tune` on a checkout
    holding them plans nothing (a study is hours of CPU), whatever the files' times."""
    copy = workflow_copy(tmp_path)
    tuned = copy / "config" / "tuned" / "default"
    if not tuned.is_dir():
        pytest.skip("no tuned presets committed yet (snakemake --cores 8 tune writes them)")
    shutil.copytree(REPO / "results" / "default" / "studies", copy / "out" / "default" / "studies")
    for path in sorted(copy.rglob("*")):   # every file as new as a fresh checkout makes it
        os.utime(path)
    presets = [p.relative_to(copy).as_posix() for p in sorted(tuned.rglob("*.yaml"))]
    result = snakemake("-n", "--cores", "2", "--config", f"work={copy / 'work'}",
                       f"results={copy / 'out'}", "--", *presets, cwd=copy)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout[-3000:]


@pytest.mark.slow
def test_tune_then_table1_runs_on_the_tuned_presets(tmp_path):
    """The CI config's tune target (two studies, two trials each, both datasets) writes tuned
    presets and the report; Table 1's runs then train on them (--preset) and say so."""
    copy = workflow_copy(tmp_path)
    tuned = tmp_path / "tuned"
    result = run_workflow(copy, "tune", config=[f"tuned={tuned}"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    presets = sorted(p.relative_to(tuned).as_posix() for p in tuned.rglob("*.yaml"))
    assert presets == [f"default/{d}/{s}.yaml" for d in ("digits", "stacked_digits")
                       for s in ("ijae", "vae")]
    out = copy / "out" / "default"
    trials = pd.read_csv(out / "tuning_trials.csv")
    assert len(trials) == 2 * 2 * 2 and set(trials["design"]) == {0, 1}
    assert "## stacked_digits" in (out / "tuning.md").read_text()
    log = (copy / "work" / "tune" / "default" / "digits" / "vae.log").read_text()
    assert log.count("(design ") >= 2 and "best so far" in log
    result = run_workflow(copy, "table1", config=[f"tuned={tuned}"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    table = pd.read_csv(out / "table1.csv")
    assert set(table["presets"]) == {"tuned"}
    run = copy / "work" / "runs" / "default" / "digits" / "vae-seed0"
    assert config_of(run)["preset"] == str(tuned / "default" / "digits" / "vae.yaml")


def config_of(run):
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())


def test_the_budget_target_trains_once_per_seed_and_scores_every_snapshot(tmp_path):
    """`snakemake budget`: λ-IJAE, L1 and L2 at λ = 0.3 and 1 over seeds 0-2 on stacked digits,
    each trained once to 4x its 1,200 steps with snapshots at 1x, 2x and 4x, every snapshot
    exported and scored; the runs are their own (not the sweep's), and `all` plans none of it."""
    result = snakemake("-n", "-p", "--forceall", "--cores", "8", "budget", "--config",
                       f"work={tmp_path / 'work'}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs = _jobs(result.stdout)
    trains = [j for j in jobs if j["rule"] == "budget_train"]
    runs = {j["wildcards"] for j in trains}
    assert runs == {f"dataset=stacked_digits, run=ijae-{v}-lam{lam}-seed{s}"
                    for v in ("implicit", "l1", "l2") for lam in ("0.3", "1") for s in (0, 1, 2)}
    assert result.stdout.count("--set train.steps=4800 --set 'train.snapshot_steps=[1200,2400,4800]'") == 18
    scored = [j for j in jobs if j["rule"] == "budget_evaluate"]
    assert sorted({j["wildcards"].rsplit("step=", 1)[1] for j in scored}) == ["1200", "2400", "4800"]
    assert len(scored) == 54 and all("/budget/default/stacked_digits/" in j["output"] for j in scored)
    everything = snakemake("-n", "--forceall", "--cores", "8", "all", "--config", f"work={tmp_path / 'work'}")
    assert everything.returncode == 0 and "budget_train" not in everything.stdout


def test_the_stacked_mnist_target_runs_every_model_on_the_stacked_digits_presets(tmp_path):
    """`snakemake stacked_mnist`: λ-IJAE at λ = 0, 0.3, 1 and the five baselines on
    stacked_mnist, each with its tuned stacked-digits preset and the protocol's 26,000 samples,
    collected into its own table and grid; neither `all` nor `table1` plans any of it."""
    import json

    work = tmp_path / "work"
    work.mkdir()
    models = ["vae", "twostage", "alphagan", "age", "svae"]
    (work / "available.json").write_text(json.dumps(   # the checkout done: its plan expands
        [{"model": m, "label": m, "available": True, "reason": None} for m in models]))
    result = snakemake("-n", "-p", "--cores", "8", "stacked_mnist", "--config", f"work={work}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    trains = [j for j in _jobs(result.stdout) if j["rule"] == "train"]
    runs = {j["wildcards"] for j in trains}
    assert runs == {f"dataset=stacked_mnist, run={r}" for r in
                    [*(f"ijae-implicit-lam{lam}-seed0" for lam in ("0", "0.3", "1")),
                     *(f"{m}-seed0" for m in models)]}
    commands = [line for line in result.stdout.splitlines() if " ijae train " in line]
    assert len(commands) == 8 and all("--set data.dataset=stacked_mnist" in c
                                      and "--set export.n_samples=26000" in c for c in commands)
    for study in ("ijae", *models):   # λ-IJAE at every λ takes the λ-IJAE study's preset
        assert any(f"--preset config/tuned/default/stacked_digits/{study}.yaml" in c
                   for c in commands), study
    planned = {j["rule"] for j in _jobs(result.stdout)}
    assert {"stacked_mnist_collect", "stacked_mnist_table", "samples_grid"} <= planned
    # 26,000 samples need about 5.3 GB an evaluation: each declares it, so the default
    # profile's mem_mb limit queues them (eight at once were killed on this 24 GiB machine)
    scored = [j for j in _jobs(result.stdout) if j["rule"] == "evaluate"]
    assert len(scored) == 8 and all("mem_mb=6200" in j["resources"] for j in scored)
    for target in ("all", "table1"):
        other = snakemake("-n", "--forceall", "--cores", "8", target, "--config", f"work={work}")
        assert other.returncode == 0 and "dataset=stacked_mnist" not in other.stdout, target
        assert "rule stacked_mnist" not in other.stdout, target
