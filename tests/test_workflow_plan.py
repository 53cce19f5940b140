"""The workflow's plan of every target, pinned (issue 33): the dry run of table1, all, budget,
stacked_mnist, tune and calibrate — every job's rule and command, so every run with every
setting it trains with — equals tests/data/workflow_plans.json, written from the workflow
before it read its runs from ijae/plan.py. A refactoring that changes which runs a target makes,
or how one is configured, fails here; a deliberate change rewrites the file
(`python tests/test_workflow_plan.py --write`)."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PINNED = REPO / "tests" / "data" / "workflow_plans.json"
TARGETS = ("table1", "all", "budget", "stacked_mnist", "tune", "calibrate")
BASELINES = ("vae", "twostage", "alphagan", "age", "svae")


def dry_run(target: str, work: Path) -> list[str]:
    """The jobs of ``target``'s dry run, each "rule: command" with the work folder as WORK; every
    baseline marked runnable, so the checkout's checkpoint lets their runs in."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "available.json").write_text(json.dumps(
        [{"model": m, "label": m, "available": True, "reason": None} for m in BASELINES]))
    result = subprocess.run([SNAKEMAKE, "-n", "-p", "--cores", "8", target, "--config",
                             f"work={work}", "results=RESULTS"], cwd=REPO, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", result.stdout + result.stderr):
        head = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        command = re.search(r"^Shell command: (.*)$", block, re.M)
        if head and command:
            jobs.append(f"{head[1]}: {command[1].strip().replace(str(work), 'WORK')}")
    return sorted(jobs)


@pytest.mark.parametrize("target", TARGETS)
def test_the_plan_of_every_target_is_the_pinned_one(target, tmp_path):
    pinned = json.loads(PINNED.read_text())[target]
    now = dry_run(target, tmp_path / "w")
    assert len(now) == len(pinned)
    missing, extra = sorted(set(pinned) - set(now)), sorted(set(now) - set(pinned))
    assert not missing and not extra, (missing[:3], extra[:3])


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        PINNED.write_text(json.dumps({t: dry_run(t, Path(tmp) / t) for t in TARGETS}, indent=0,
                                     sort_keys=True) + "\n")


@pytest.mark.parametrize("target", ("table1", "all", "budget", "stacked_mnist"))
def test_ijae_plan_prints_the_runs_the_workflow_trains(target, capsys):
    """`ijae plan --json TARGET` (no Snakemake) holds exactly the pinned plan's train jobs: each
    run's folder and every option it trains with."""
    from ijae import cli

    assert cli.main(["plan", target, "--json", "--config", "work=WORK"]) == 0
    runs = json.loads(capsys.readouterr().out)
    planned = sorted(f"ijae train config/default.yaml --out {r['folder']} "
                     + " ".join(shlex.quote(a) for a in r["train_args"]) for r in runs)
    pinned = sorted(re.search(r"ijae train .*?--resume", job)[0].removesuffix(" --resume")
                    for job in json.loads(PINNED.read_text())[target]
                    if job.startswith(("train:", "budget_train:")))
    assert planned == pinned
