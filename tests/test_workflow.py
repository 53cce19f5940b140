"""The Snakefile parses, validates its config and plans the main job (a dry run, no training);
parsing imports nothing heavy and clones nothing; one work folder moves every job."""
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args, cwd=REPO, env=None):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
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
    train = by_program["train"][0]
    assert re.search(r"--model ijae --seed 0 --set model.variant=\w+ --set model.lam=[0-9.]+ ", train)


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "good condition" in result.stdout + result.stderr


def test_bad_workflow_config_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: laptop\n")
    result = snakemake("-n", "table1", "--configfile", str(bad))
    assert result.returncode != 0 and "'laptop' is not one of" in result.stdout + result.stderr
