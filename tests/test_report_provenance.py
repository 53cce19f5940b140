"""Issue 11.14: a table never contradicts itself. Each row says where it comes from (fresh: the
run's metrics.json is in this work folder and is the record shown; cached: the committed
records), and the notes under the table describe what is in it: a model with a row is never
"not run"."""
import json

import pandas as pd
import pytest

from ijae.cli import main
from ijae.report import provenance as prov
from test_report import record

STAMP = "2026-01-01T00:00:00+00:00"


def scored(model, label, run, stamp=STAMP, implementation="port", **kw):
    return {**record(model=model, label=label, implementation=implementation, **kw),
            "run": run, "timestamp": stamp}


def make_run(work, name, stamp=STAMP):
    folder = work / "runs" / "default" / "digits" / name
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"timestamp": stamp}))
    return folder


@pytest.fixture
def fresh_clone_table(tmp_path, monkeypatch):
    """What a fresh clone offline redraws: committed records of λ-IJAE, the VAE, AGE and
    α-GAN; only λ-IJAE and the VAE were run in this work folder (the VAE by its `<work>/...`
    path, λ-IJAE by an absolute one); AGE and α-GAN cannot run here; SVAE has no record."""
    work = tmp_path / "work"
    ijae_run = make_run(work, "ijae-implicit-lam0.3-seed0")
    make_run(work, "vae-seed0")
    records = [
        {**record(), "run": str(ijae_run), "timestamp": STAMP},
        scored("vae", "VAE", "<work>/runs/default/digits/vae-seed0"),
        scored("age", "AGE", "<work>/runs/default/digits/age-seed0"),
        scored("alphagan", "α-GAN", "/elsewhere/work/runs/default/digits/alphagan-seed0"),
    ]
    metrics = tmp_path / "metrics_table1.csv"
    pd.DataFrame(records).to_csv(metrics, index=False)
    available = tmp_path / "available.json"
    available.write_text(json.dumps([
        {"model": "vae", "label": "VAE", "available": True, "reason": None},
        {"model": "age", "label": "AGE", "available": False, "reason": "cannot reach github"},
        {"model": "alphagan", "label": "α-GAN", "available": False, "reason": "offline"},
        {"model": "svae", "label": "SVAE", "available": False, "reason": "offline"}]))
    monkeypatch.setenv("IJAE_WORK", str(work))
    out = tmp_path / "t"
    assert main(["table1", str(metrics), "--out", str(out), "--availability", str(available)]) == 0
    return out


def test_no_model_is_both_a_row_and_not_run(fresh_clone_table):
    md = (fresh_clone_table / "table1.md").read_text()
    notes = [line for line in md.splitlines() if line.startswith("- ")]
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line][1:]
    row_models = {m for m in ("AGE", "α-GAN", "SVAE", "VAE") if any(r.startswith(f"| {m} ") for r in rows)}
    assert row_models == {"AGE", "α-GAN", "VAE"}
    for note in notes:
        if ") not run:" in note or "not in this table" in note:
            assert not any(note.startswith(f"- {m} (") for m in row_models), note
    assert notes == ["- AGE (age): cached row; its code cannot run here (cannot reach github)",
                     "- α-GAN (alphagan): cached row; its code cannot run here (offline)",
                     "- SVAE (svae) not run: its code cannot run here (offline)"]


def test_provenance_column_says_fresh_or_cached_in_csv_and_markdown(fresh_clone_table):
    table = pd.read_csv(fresh_clone_table / "table1.csv").set_index("model")
    assert table["provenance"].to_dict() == {"age": "cached", "alphagan": "cached",
                                             "ijae": "fresh", "vae": "fresh"}
    md = (fresh_clone_table / "table1.md").read_text()
    assert "| ± over | preset | source |" in md and prov.LEGEND in md
    vae = next(line for line in md.splitlines() if line.startswith("| VAE "))
    age = next(line for line in md.splitlines() if line.startswith("| AGE "))
    assert vae.endswith(" fresh |") and age.endswith(" cached |")
    tex = (fresh_clone_table / "table1.tex").read_text()
    assert r"AGE [port]$^\dagger$" in tex and r"VAE [port] &" in tex


def test_a_run_scored_again_since_the_records_were_collected_is_cached(tmp_path):
    """The work folder holds the run, but its metrics.json is a later evaluation than the
    record shown: the row is not that run's current record."""
    work = tmp_path / "work"
    make_run(work, "vae-seed0", stamp="2026-02-02T00:00:00+00:00")
    row = scored("vae", "VAE", "<work>/runs/default/digits/vae-seed0")
    assert prov.record_provenance(row, work) == prov.CACHED
    assert prov.record_provenance({**row, "timestamp": "2026-02-02T00:00:00+00:00"}, work) == prov.FRESH
    # a run folder that exists on this machine but outside this work folder is not fresh
    other = make_run(tmp_path / "other", "vae-seed0")
    assert prov.record_provenance({**row, "run": str(other)}, work) == prov.CACHED
    assert prov.record_provenance({**row, "run": float("nan")}, work) == prov.CACHED


def test_seeds_of_mixed_provenance_say_which_is_which(tmp_path):
    work = tmp_path / "work"
    make_run(work, "vae-seed0")
    rows = pd.DataFrame([scored("vae", "VAE", f"<work>/runs/default/digits/vae-seed{s}", seed=s)
                         for s in (0, 1, 2)])
    from ijae.report import table1

    (row,) = table1(rows, work=work).to_dict("records")
    assert row["provenance"] == "cached: seeds 1, 2; fresh: seeds 0"
