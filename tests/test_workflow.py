"""The Snakefile parses, validates its config and plans the main job (a dry run, no training)."""
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args, cwd=REPO):
    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_main_job_is_planned():
    result = snakemake("-n", "--forceall", "--cores", "8", "table1")  # plan every job, even if results exist
    assert result.returncode == 0, result.stderr[-3000:]
    plan = result.stdout + result.stderr
    for rule in ("train", "export", "evaluate", "collect", "table"):
        assert f"rule {rule}:" in plan


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "good condition" in result.stdout + result.stderr


def test_bad_workflow_config_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: laptop\n")
    result = snakemake("-n", "table1", "--configfile", str(bad))
    assert result.returncode != 0 and "'laptop' is not one of" in result.stdout + result.stderr
