"""The figures target redraws from the cache alone (issue 12.6), and --report holds the results:
a tmp copy of the workflow with hand-made records and no work folder (no run, no checkout)."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import REPO
from test_report import record

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RUN_JOBS = re.compile(r"^(checkout|train|export|evaluate|collect)\s+\d+", re.M)


def workflow_copy(tmp_path):
    """The workflow's files (no results, no work folder) and hand-made records in results/."""
    for name in ("Snakefile", "rules", "config", "report", "inputs", "profiles", "envs"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        elif src.is_file():
            shutil.copy(src, tmp_path / name)
    results = tmp_path / "results" / "default"
    results.mkdir(parents=True)
    rows = [record(variant=v, lam=lam, is_mean=6 + lam + (v == "implicit"), recon=1 - lam / 2)
            for v in ("implicit", "l1", "l2") for lam in (0.1, 0.3, 0.9)]
    rows.append(record(model="vae", label="VAE (resnet)", variant=None, lam=None, recon=0.2))
    rows = [{**r, "precision": 0.5, "recall": 0.4 + i / 100} for i, r in enumerate(rows)]
    pd.DataFrame(rows).to_csv(results / "metrics.csv", index=False)
    table1 = pd.DataFrame([r for r in rows if r["lambda"] in (0.3, None) and r["variant"] in ("implicit", None)])
    table1.to_csv(results / "metrics_table1.csv", index=False)
    table1.to_csv(results / "metrics_seeds.csv", index=False)
    return tmp_path


def snakemake(cwd, *args):
    result = subprocess.run([SNAKEMAKE, "--cores", "2", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_figures_redraws_from_the_records_alone_and_the_report_holds_them(tmp_path):
    root = workflow_copy(tmp_path)
    plan = snakemake(root, "-n", "figures")
    assert "table " in plan and "pareto_plot " in plan      # it does plan the drawing
    assert not RUN_JOBS.search(plan), plan                    # and no run, checkout or collect job
    snakemake(root, "figures")
    out = root / "results" / "default"
    for name in ("table1.md", "table1.tex", "figure2.png", "figure2.pdf", "figure3.png",
                 "pareto_fronts.csv", "pareto_verdict.csv", "modes.png", "modes.pdf", "modes.csv"):
        assert (out / name).is_file(), name
    # no run of these records is in the work folder: every row says it is cached (issue 11.14)
    assert set(pd.read_csv(out / "table1.csv")["provenance"]) == {"cached"}
    for name in ("figure2.png", "table1.md"):                 # deleted figures come back
        (out / name).unlink()
    assert not RUN_JOBS.search(snakemake(root, "-n", "figures"))
    snakemake(root, "figures")
    assert (out / "figure2.png").is_file() and (out / "table1.md").is_file()
    shutil.rmtree(root / ".snakemake" / "metadata")   # as in a fresh clone of committed results
    said = snakemake(root, "--report", "report.html", "figures")
    assert "Missing metadata" not in said and len(said.splitlines()) < 40   # no wall of warnings
    assert re.search(r"ijae workflow: \d+ files of the report were made in another checkout", said)
    html = (root / "report.html").read_text()
    assert all(name in html for name in ("figure2.png", "table1.tex", "metrics.csv",
                                         "pareto_verdict.csv", "profile default"))
    assert not (root / "work" / "runs").exists()              # nothing was trained


def test_a_redraw_plans_no_run_job_whatever_the_work_folder_holds(tmp_path):
    """Issue 32: one run made through the workflow (so Snakemake holds its metadata, and its
    record is newer than the committed tables) made `figures` plan collect and every missing
    run. The redraw must plan drawing alone; and a redraw of unchanged records must leave the
    PDFs byte-identical (no creation date), so `git status` stays clean."""
    root = workflow_copy(tmp_path)
    record = root / "work" / "runs" / "default" / "digits" / "vae-seed0" / "metrics.json"
    snakemake(root, str(record.relative_to(root)), "--configfile",
              str(REPO / ".test" / "config" / "workflow.yaml"), "--config", f"results={root / 'mine'}")
    assert record.is_file()
    plan = snakemake(root, "-n", "figures")
    assert "pareto_plot" in plan or "Nothing to be done" in plan
    assert not RUN_JOBS.search(plan), plan
    assert "calibrate_controls" not in plan and "tune_study" not in plan
    out = root / "results" / "default"
    snakemake(root, "figures")
    first = (out / "figure2.pdf").read_bytes()
    snakemake(root, "figures", "--forcerun", "pareto_plot")
    assert (out / "figure2.pdf").read_bytes() == first


def test_a_workflow_run_names_each_model_it_left_out_in_one_line(tmp_path):
    """Offline, AGE and α-GAN were dropped with exit 0 and no console line (issue 32): the end of
    a run now says which, why and how to bring each in."""
    import json

    root = workflow_copy(tmp_path)
    (root / "work").mkdir()
    reason = ("cannot reach https://github.com/DmitryUlyanov/AGE (fatal: could not resolve host); "
              "offline? set env IJAE_SOURCE_AGE=/path/to/clone-or-bare-repo or config key "
              "model.source_path (a clone holding commit 4697947)")
    (root / "work" / "available.json").write_text(json.dumps([
        {"model": "age", "label": "AGE", "available": False, "reason": reason},
        {"model": "vae", "label": "VAE", "available": True, "reason": None}]))
    out = snakemake(root, "figure1", "--configfile", str(REPO / ".test" / "config" / "workflow.yaml"))
    said = [line for line in out.splitlines() if line.startswith("ijae workflow:")]
    assert said == [f"ijae workflow: AGE (age) left out of every table: {reason}"]


def test_figures_redraws_the_experiments_reports_from_their_committed_records(tmp_path):
    """The calibration, Stacked MNIST's table and the budget study's claims are redrawn by
    `figures` from the committed records (the controls' CSVs, metrics_stacked_mnist.csv,
    metrics_budget.csv) with no job that makes a record (calibrate_controls, the budget's or
    Stacked MNIST's train / export / evaluate / collect)."""
    root = workflow_copy(tmp_path)
    committed, out = REPO / "results" / "default", root / "results" / "default"
    shutil.copytree(committed / "calibration", out / "calibration")
    for name in ("metrics_stacked_mnist.csv", "metrics_budget.csv"):
        shutil.copy(committed / name, out / name)
    plan = snakemake(root, "-n", "figures")
    for rule in ("calibration", "stacked_mnist_table", "budget_report"):
        assert re.search(rf"^{rule}\s+1$", plan, re.M), plan
    assert not re.search(r"^\w*(checkout|train|export|evaluate|collect|controls)\s+\d+", plan, re.M), plan
    snakemake(root, "figures")
    for name in ("calibration.md", "stacked_mnist.md", "claims_budget.md"):
        assert (out / name).read_text() == (committed / name).read_text(), name
