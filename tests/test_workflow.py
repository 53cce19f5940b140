"""The Snakefile parses, validates its config and plans the main job (a dry run, no training);
parsing imports nothing heavy and clones nothing; one work folder moves every job."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args, cwd=REPO, env=None):
    # a guard against a hung job, not a speed check: the whole DAG takes about 100 s on an idle
    # 2-core machine and 300+ s on one busy with a workflow beside the tests
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=1200,
                          env=env)


def test_main_job_is_planned():
    result = snakemake("-n", "--forceall", "--cores", "8", "table1")  # plan every job, even if results exist
    assert result.returncode == 0, result.stderr[-3000:]
    plan = result.stdout + result.stderr
    for rule in ("train", "export", "evaluate", "collect", "table"):
        assert f"rule {rule}:" in plan
    assert "checkpoint checkout:" in plan      # upstream code is fetched by a job, not at parse


def test_parsing_imports_no_torch_and_clones_nothing(tmp_path):
    """With torch, baselines and GitPython made unimportable and a fresh work folder, the plan
    still comes out, and the work folder is not even created (no clone, no file)."""
    poison = tmp_path / "poison"
    for name in ("torch", "baselines", "git"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(
            f"raise ImportError('{name} imported while the workflow was parsed')\n")
    env = {**os.environ, "PYTHONPATH": str(poison)}
    work = tmp_path / "work"
    result = snakemake("-n", "--forceall", "--cores", "8", "all", "--config", f"work={work}",
                       env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "rule train:" in result.stdout + result.stderr
    assert not work.exists()


def test_one_work_folder_moves_every_job(tmp_path):
    work = tmp_path / "scr atch"           # a space: paths are quoted by Snakemake, not by hand
    result = snakemake("-n", "-p", "--forceall", "--cores", "8", "all", "--config", f"work={work}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    commands = [line for line in result.stdout.splitlines() if line.startswith("Shell command: ")]
    by_program = {}
    for line in commands:
        program = re.search(r"ijae (\w+)", line)
        by_program.setdefault(program and program[1], []).append(line)
    assert {"checkout", "train", "export", "evaluate"} <= set(by_program)
    quoted = f"'{work}"
    for program in ("checkout", "train", "export", "evaluate"):
        for line in by_program[program]:
            assert f"IJAE_WORK={quoted}'" in line, line          # clones, caches, data follow
            assert f"{quoted}/runs/default/" in line or f"{quoted}/available.json'" in line, line
    # the plan's job order is not fixed: pick Table 1's λ-IJAE run by its folder, not its place
    (train,) = [line for line in by_program["train"]
                if "/runs/default/digits/ijae-implicit-lam0.3-seed0'" in line]
    assert re.search(r"--model ijae --seed 0 --set data.dataset=digits( --preset \S+)? "
                     r"--set model.variant=implicit --set model.lam=0.3 ", train), train


def test_run_jobs_never_outnumber_the_machines_cores(tmp_path):
    """--cores 8 on a machine of 2 (IJAE_CPUS=2): every run job declares its threads as `cpus`,
    and the workflow provides only the machine's 2, so at most two trainings run at once."""
    env = {**os.environ, "IJAE_CPUS": "2"}
    plan = snakemake("-n", "--forceall", "--cores", "8", "table1", "--config",
                     f"work={tmp_path / 'w'}", f"results={tmp_path / 'r'}", env=env)
    assert plan.returncode == 0, plan.stderr[-2000:]
    runs = [j for j in _jobs(plan.stdout + plan.stderr) if j["rule"] in ("train", "export", "evaluate")]
    assert runs and all("cpus=1" in j["resources"] for j in runs), runs
    from test_report_workflow import workflow_copy   # a real (cheap) run shows what it provides
    (tmp_path / "copy").mkdir()
    root = workflow_copy(tmp_path / "copy")
    done = snakemake("--cores", "8", "figures", cwd=root, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    provided = [line for line in (done.stdout + done.stderr).splitlines() if "Provided resources" in line]
    assert provided and re.search(r"cpus\D+2\b", provided[0]), provided


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "good condition" in result.stdout + result.stderr


def test_bad_workflow_config_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: laptop\n")
    result = snakemake("-n", "table1", "--configfile", str(bad))
    assert result.returncode != 0 and "'laptop' is not one of" in result.stdout + result.stderr
    # a typo in --config: one line naming the key, not the schema dumped (issue 32: 273 lines)
    typo = snakemake("-n", "table1", "--config", "seed=[1]")
    ours = [line for line in (typo.stdout + typo.stderr).splitlines() if "ijae workflow:" in line]
    assert typo.returncode == 2 and len(ours) == 1 and "'seed' was unexpected" in ours[0]
    assert len((typo.stdout + typo.stderr).splitlines()) <= 4


# --- profiles, datasets, seeds, typed overrides (issue 12.1-12.3, 11.12) --------------------

def _jobs(plan: str) -> list[dict]:
    """The jobs of a dry run's plan: rule name, output, wildcards and resources, per job."""
    jobs = []
    for block in re.split(r"\n(?=(?:rule|checkpoint|localrule|localcheckpoint) \w+:)", plan):
        head = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if head:
            fields = dict(re.findall(r"^\s+(\w+): (.*)$", block, re.M))
            jobs.append({"rule": head[1], **fields})
    return jobs


def test_slurm_profile_plans_gpu_requests_for_both_datasets_and_three_seeds(tmp_path):
    """The paper profile through profiles/slurm (no Slurm needed for a dry run): every run job
    carries gpu=1, which snakemake-executor-plugin-slurm turns into a GPU request, plus the
    profile's partition and account; the plan covers CIFAR-10 and TinyImageNet, seeds 0-2."""
    pytest.importorskip("snakemake_executor_plugin_slurm",
                        reason="the Slurm executor plugin is the `slurm` / `test` extra: pip install -e '.[test]'")
    from snakemake_executor_plugin_slurm.partitions import parse_gpu_requirements

    result = snakemake("-n", "--workflow-profile", "profiles/slurm", "--forceall", "--config",
                       "profile=paper", f"work={tmp_path / 'work'}", "--", "table1")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs = _jobs(result.stdout)
    runs = [j for j in jobs if j["rule"] in ("train", "export", "evaluate")]
    assert runs
    for job in runs:
        resources = dict(kv.split("=", 1) for kv in job["resources"].split(", "))
        assert resources["gpu"] == "1" and resources["gpu_slots"] == "1", job
        assert resources["slurm_partition"] == "PARTITION" and resources["slurm_account"] == "ACCOUNT"

        class Job:  # what the plugin reads of a job to build its sbatch GPU request
            pass
        Job.resources = {"gpu": int(resources["gpu"])}
        assert parse_gpu_requirements(Job)[0] == 1
    checkout = next(j for j in jobs if j["rule"] == "checkout")
    assert "gpu=1" not in checkout.get("resources", "")
    trained = {(m["dataset"], m["seed"]) for j in runs if j["rule"] == "train"
               for m in [dict(kv.split("=") for kv in j["wildcards"].split(", "))]
               for m in [{**m, "seed": m["run"].rsplit("seed", 1)[1]}]}
    assert trained == {(d, s) for d in ("cifar10", "tinyimagenet") for s in ("0", "1", "2")}


def test_default_profile_is_one_dataset_one_seed_and_packs_nothing(tmp_path):
    """Table 1 (the main job): digits, one seed, no GPU resources."""
    result = snakemake("-n", "-p", "--forceall", "--cores", "8", "table1", "--config",
                       f"work={tmp_path / 'work'}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    trains = [j for j in _jobs(result.stdout) if j["rule"] == "train"]
    assert [j["wildcards"] for j in trains] == ["dataset=digits, run=ijae-implicit-lam0.3-seed0"]
    assert "gpu=0" in trains[0]["resources"] and "gpu_slots=0" in trains[0]["resources"]


def test_the_sweep_covers_both_datasets_three_seeds_and_both_ends_of_lambda(tmp_path):
    """The claims' runs: λ-IJAE at λ 0 .. 1, its L1 / L2 ablations where a likelihood term
    exists (λ > 0), over seeds 0-2, on digits and stacked digits."""
    result = snakemake("-n", "--forceall", "--cores", "8", "sweep", "--config",
                       f"work={tmp_path / 'work'}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    runs = {tuple(kv.split("=")[1] for kv in j["wildcards"].split(", "))
            for j in _jobs(result.stdout) if j["rule"] == "train"}
    lambdas = {"implicit": ("0", "0.3", "0.6", "1"), "l1": ("0.3", "0.6", "1"), "l2": ("0.3", "0.6", "1")}
    assert runs == {(d, f"ijae-{v}-lam{lam}-seed{s}") for d in ("digits", "stacked_digits")
                    for v, lams in lambdas.items() for lam in lams for s in (0, 1, 2)}


def test_typed_config_overrides(tmp_path):
    """--config values are YAML: a list of seeds and a partial table1 mapping (merged into the
    file's) reach the plan as numbers (Snakemake alone passes them as strings)."""
    result = snakemake("-n", "-p", "--forceall", "--cores", "8", "all", "--config",
                       f"work={tmp_path / 'work'}", "seeds=[0,1]", "sweep_seeds=[1,2]",
                       "datasets=[digits]", "table1={lambda: 0.5}",
                       "pareto={lambdas: [0.5], variants: [l1]}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    runs = {j["wildcards"] for j in _jobs(result.stdout) if j["rule"] == "train"}
    # λ-IJAE at Table 1's λ: Table 1's seeds 0, 1 and the seeded Table 1's (the sweep's) 1, 2
    assert runs == {f"dataset=digits, run=ijae-{v}-lam0.5-seed{s}" for v, seeds in
                    (("implicit", (0, 1, 2)), ("l1", (1, 2))) for s in seeds}
    bad = snakemake("-n", "table1", "--config", "seeds=[0,x]")
    assert bad.returncode != 0 and "seeds" in bad.stdout + bad.stderr


# --- a copy of the workflow, for runs that must not touch the repository's .snakemake or results

WORKFLOW_FILES = ("Snakefile", "rules", "config", "inputs", "envs", "profiles", ".test", "report")


def workflow_copy(tmp_path) -> Path:
    copy = tmp_path / "wf"
    copy.mkdir()
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.exists():
            shutil.copy2(source, copy / name)
    return copy


def run_workflow(copy, *targets, flags=(), config=(), env=None):
    """Snakemake in ``copy`` on the CI config, its work and results folders inside ``copy``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return snakemake("--cores", "2", "--configfile", ".test/config/workflow.yaml", *flags,
                     "--config", f"work={copy / 'work'}", f"results={copy / 'out'}", *config,
                     "--", *targets, cwd=copy, env=env)


@pytest.mark.slow
def test_whole_dag_end_to_end(tmp_path):
    """Issue 12.7: the CI config runs every rule — checkout, train, export, evaluate, collect,
    tables, figures — then the report, in temporary work and results folders."""
    copy = workflow_copy(tmp_path)
    result = run_workflow(copy, "all")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    log = result.stdout + result.stderr
    for rule in ("checkout", "train", "export", "evaluate", "collect", "table", "table_seeds",
                 "claims", "pareto_plot", "modes_plot", "samples_grid", "toy"):
        assert f"rule {rule}:" in log or f"checkpoint {rule}:" in log, rule
    out = copy / "out" / "default"
    metrics = pd.read_csv(out / "metrics.csv")
    # per dataset: λ-IJAE at λ 0 and 0.3 and the VAE, each over the sweep seeds 0 and 1
    assert len(metrics) == 2 * (2 * 2 + 2)
    assert set(metrics["dataset"]) == {"digits", "stacked_digits"}
    stacked = metrics[metrics["dataset"] == "stacked_digits"]
    assert set(stacked["n_modes"]) == {1000} and stacked["recon_channel_agreement"].notna().all()
    assert "| VAE" in (out / "table1.md").read_text()
    everything = (out / "table1_seeds.md").read_text()
    assert "## stacked_digits" in everything and "2 (seeds 0, 1)" in everything
    assert "| VAE (resnet) [port from paper]" in everything   # the baselines over the sweep seeds too
    for name in ("modes.png", "modes.pdf", "samples_stacked_digits.png"):
        assert (out / name).stat().st_size > 0, name
    modes = pd.read_csv(out / "modes.csv")
    assert {"precision", "recall", "modes_covered_share", "mode_kl"} <= set(modes["measure"])
    assert set(modes.dropna(subset=["lambda"])["lambda"]) == {0.0, 0.3}
    claims = pd.read_csv(out / "claims.csv")   # two seeds: every claim gets an interval
    assert set(claims["dataset"]) == {"digits", "stacked_digits"}
    assert claims.loc[claims["measure"] == "is_mean", "effect_low"].notna().all()
    assert "untrained encoder" in (out / "pareto_fronts.csv").read_text()
    assert (copy / "out" / "figure1" / "figure1.png").stat().st_size > 0
    report = run_workflow(copy, "all", flags=("--report", str(tmp_path / "report.html")))
    assert report.returncode == 0, (report.stdout + report.stderr)[-4000:]
    assert (tmp_path / "report.html").stat().st_size > 0


# --- issue 11, items 11, 8, 14 --------------------------------------------------------------

@pytest.mark.slow
def test_config_edits_rerun_what_they_change_and_nothing_else(tmp_path):
    """11.11: a comment-only edit of config/default.yaml plans nothing; an export.* edit
    resumes training at its last step (no "cannot resume") and redoes the export; a training
    key plans the train job again."""
    copy = workflow_copy(tmp_path)
    run = copy / "work" / "runs" / "default" / "digits" / "ijae-implicit-lam0.3-seed0"
    target = str(run / "samples.npz")
    assert run_workflow(copy, target).returncode == 0
    profile = copy / "config" / "default.yaml"
    text = profile.read_text()

    profile.write_text(text + "# a comment only\n")
    plan = run_workflow(copy, target, flags=("-n",))
    assert plan.returncode == 0 and "Nothing to be done" in plan.stdout + plan.stderr, plan.stdout

    before = (run / "samples.npz").stat().st_mtime_ns
    profile.write_text(text.replace("export:\n", "export:\n  batch_size: 100\n"))
    result = run_workflow(copy, target)
    assert result.returncode == 0, (run / "train.log").read_text()[-2000:]
    assert "batch_size: 100" in (run / "config.yaml").read_text()
    assert (run / "samples.npz").stat().st_mtime_ns > before

    profile.write_text(text.replace("lr_d: 4.0e-4", "lr_d: 5.0e-4"))
    plan = run_workflow(copy, target, flags=("-n",))
    assert "rule train:" in plan.stdout, plan.stdout[-2000:]


def test_no_shell_string_is_quoted_by_hand():
    """11.8: paths and values reach shell lines through Snakemake's :q quoting, never through
    quotes written around a placeholder."""
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        shell_lines = re.findall(r"^    shell:\n((?:        .*\n)+)", smk.read_text(), re.M)
        # each string literal of a shell directive (bare or inside with_env(...), common.smk)
        for literal in re.findall(r'"([^"]*)"', "".join(shell_lines)):
            assert not re.search(r"""'\{[\w.\[\]]+(:\w+)?\}|\{[\w.\[\]]+(:\w+)?\}'""",
                                 literal), f"{smk.name}: {literal}"


def test_a_quote_in_an_upstream_source_runs_nothing(tmp_path):
    """11.8: IJAE_SOURCE_AGE holding a shell command after a quote reaches `ijae checkout` as a
    value: the command never runs, AGE is recorded as unavailable."""
    copy = workflow_copy(tmp_path)
    marker = tmp_path / "PWNED"
    source = f"/nonexistent'; touch {marker}; echo '"
    result = run_workflow(copy, str(copy / "work" / "available.json"),
                          config=["datasets=[digits]", "table1={models: {digits: [age]}}"],
                          env={"IJAE_SOURCE_AGE": source})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert not marker.exists()
    records = json.loads((copy / "work" / "available.json").read_text())
    assert [(r["model"], r["available"]) for r in records] == [("age", False)]
