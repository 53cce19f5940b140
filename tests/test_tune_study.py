"""Studies (ijae/tune/study.py): K trials through the artifact contract on the validation split,
the tuned preset they end in, resuming without retraining, failures recorded, several workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ijae import UserError, cli, config, contract
from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import keys as K
from ijae.tune import criterion, space as space_mod, study as study_mod, trial as trial_mod

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "config" / "default.yaml"
TINY = ["--set", "train.steps=60", "--set", "train.checkpoint_every=30", "--set",
        "export.n_samples=100", "--set", "export.n_reconstructions=60"]


@pytest.fixture
def work(tmp_path, monkeypatch, metrics_cache):
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("IJAE_CACHE", str(metrics_cache))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


def tune(*args) -> int:
    return cli.main(["tune", str(PROFILE), "--study", "vae", "--dataset", "digits", *TINY,
                     *map(str, args)])


def trials_of(work) -> pd.DataFrame:
    return pd.read_csv(work / "work" / "tune" / "default" / "digits" / "vae.trials.csv")


def trial_folders(work) -> list[Path]:
    return sorted((work / "work" / "tune" / "default" / "digits").glob("vae-*/trial-*"))


@pytest.mark.slow
def test_a_study_runs_k_trials_on_the_validation_split_and_writes_the_tuned_preset(work, capsys):
    preset = work / "tuned" / "vae.yaml"
    assert tune("--trials", 3, "--preset-out", preset) == 0
    err = capsys.readouterr().err
    assert err.count("-> criterion") + err.count("FAILED") >= 3 and "best so far" in err
    table = trials_of(work)
    assert sorted(table["design"]) == [0, 1, 2] and set(table["study"]) == {"vae"}
    hand = table[table["design"] == 0].iloc[0]   # trial 0: the hand-sized preset, exactly
    assert (hand["param_lr"], hand["param_beta1"], hand["param_model.sigma"]) == (1e-3, 0.9, 0.1)

    # every trial: held out on the validation split, its FID against it, never the test split
    ds = load_dataset(DataConfig(dataset="digits", image_size=16))
    val = load_dataset(DataConfig(dataset="digits", image_size=16, split="validation"))
    test_bytes = {im.tobytes() for im in ds.test}
    train_bytes = {im.tobytes() for im in val.train}
    for folder in trial_folders(work):
        cfg = config.load(folder / contract.CONFIG)
        assert (cfg.data.split, cfg.eval.fid_reference) == ("validation", "heldout")
        record = __import__("json").loads((folder / contract.METRICS).read_text())
        assert record[K.KEY_HELDOUT_SPLIT] == "validation"
        assert record[K.KEY_FID_REFERENCE] == "digits validation split"
        assert record[K.KEY_FID_REFERENCE_N] == len(val.test)
        originals, _ = contract.load_reconstructions(folder / contract.RECONSTRUCTIONS)
        assert not {im.tobytes() for im in originals} & test_bytes
        assert not {im.tobytes() for im in originals} & train_bytes
        # the trial's sampled values reached its run config
        row = table[table["run"].str.endswith(folder.name)].iloc[0]
        assert cfg.train.lr_e == cfg.train.lr_g == pytest.approx(row["param_lr"])
        assert cfg.model.sigma == pytest.approx(row["param_model.sigma"])

    # the tuned preset: the best completed trial's values, applied by `ijae train --preset`
    text = yaml.safe_load(preset.read_text())
    assert text["tuned"]["trials"] == 3 and text["tuned"]["model"] == "vae"
    done = table[table["state"] == "COMPLETE"]
    best = done.loc[done["criterion"].idxmin()]
    assert text["tuned"]["best_design_trial"] == best["design"]
    cfg = config.load(PROFILE, model="vae", preset=preset)
    assert cfg.preset_kind == "tuned" and cfg.model.sigma == pytest.approx(best["param_model.sigma"])
    assert cfg.train.steps == 2750          # the study's compute, not the test's 60 steps
    assert (cfg.data.split, cfg.model.name) == ("test", "vae")


@pytest.mark.slow
def test_a_resumed_study_never_retrains_a_finished_trial(work):
    preset = work / "vae.yaml"
    assert tune("--trials", 2, "--preset-out", preset) == 0
    stamps = {f: (f / contract.CHECKPOINT).stat().st_mtime_ns for f in trial_folders(work)}
    assert len(stamps) == 2
    assert tune("--trials", 3, "--preset-out", preset) == 0   # one more trial, the others kept
    assert {f: (f / contract.CHECKPOINT).stat().st_mtime_ns for f in list(stamps)} == stamps
    assert sorted(trials_of(work)["design"]) == [0, 1, 2]
    assert tune("--trials", 3, "--preset-out", preset) == 0   # nothing left: nothing runs
    assert len(trials_of(work)) == 3
    with pytest.raises(UserError, match="design of 3 trials"):   # fewer than the design: refused
        cli_raise("--trials", 2)


def cli_raise(*args):
    from ijae import cli as c

    parser = c.build_parser()
    parsed = parser.parse_args(["tune", str(PROFILE), "--study", "vae", "--dataset", "digits",
                                *TINY, *map(str, args)])
    return parsed.func(parsed)


@pytest.mark.slow
def test_a_killed_study_resumes_its_interrupted_trial_from_its_checkpoint(work):
    """SIGKILL during a trial's training; the rerun fails that trial as interrupted, runs it
    again in the same folder from its checkpoint, and the study ends with every design trial."""
    env = {**os.environ, "IJAE_WORK": str(work / "work")}
    args = [sys.executable, "-m", "ijae.cli", "tune", str(PROFILE), "--study", "vae", "--dataset",
            "digits", "--trials", "2", "--set", "train.steps=400", "--set",
            "train.checkpoint_every=20", "--set", "export.n_samples=100", "--set",
            "export.n_reconstructions=60", "--preset-out", str(work / "vae.yaml")]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not any((f / contract.CHECKPOINT).is_file()
                                             for f in trial_folders(work)):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any((f / contract.CHECKPOINT).is_file() for f in trial_folders(work))
    rerun = subprocess.run(args, env=env, stderr=subprocess.PIPE, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "was interrupted: queued again" in rerun.stderr
    assert "resuming from its checkpoint at step" in rerun.stderr
    table = trials_of(work)
    interrupted = table[table["failure"].fillna("").str.startswith("interrupted")]
    assert len(interrupted) == 1
    retry = table[table["retry_of"] == interrupted["trial"].iloc[0]]
    assert list(retry["design"]) == [interrupted["design"].iloc[0]]
    assert len(study_finished(table)) == 2


def study_finished(table: pd.DataFrame) -> pd.DataFrame:
    return table[~table["failure"].fillna("").str.startswith("interrupted")]


def fake_record(fid: float, recon: float, collapsed: bool = False) -> dict:
    return {K.KEY_HELDOUT_SPLIT: "validation", K.KEY_FID_REFERENCE: "digits validation split",
            K.KEY_METRIC_FID: fid, K.KEY_METRIC_RECON_MEAN: recon, K.KEY_COLLAPSED: collapsed,
            K.KEY_COLLAPSE_REASON: "near-constant images: sample_contrast_ratio 0.010 < 0.2"
            if collapsed else "", "run": "x"}


def test_a_diverged_or_collapsed_trial_fails_with_its_reason_and_the_study_goes_on(work, monkeypatch):
    from ijae.train import TrainingError

    space = space_mod.read_space(space_mod.space_path("default", "vae"))
    base = trial_mod.base_config(PROFILE, space, "digits", 0)
    outcomes = {0: fake_record(50.0, 1.0), 1: TrainingError("non-finite loss at step 7: loss = nan"),
                2: fake_record(5.0, 0.1, collapsed=True), 3: fake_record(40.0, 1.0)}

    def run(cfg, folder):
        outcome = outcomes[int(Path(folder).name.split("-")[1])]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(trial_mod, "run", run)
    study = study_mod.open_study(work / "j.journal", "default", "digits", space, base,
                                 work / "trials", 4)
    assert study_mod.work(study, log=lambda *a: None)
    table = study_mod.trials_table(study, "default", "digits").set_index("design")
    assert table.loc[0, "state"] == "COMPLETE" and table.loc[3, "state"] == "COMPLETE"
    assert table.loc[1, "state"] == "FAIL" and table.loc[1, "failure"].startswith("diverged: non-finite loss")
    assert table.loc[2, "state"] == "FAIL" and "collapsed: near-constant images" in table.loc[2, "failure"]
    # the collapsed trial's would-be criterion is kept, yet it never wins
    assert table.loc[2, "criterion"] == pytest.approx(np.log(5.0) + np.log(0.1))
    best = study_mod.best_trial(study)
    assert best.user_attrs["design"] == 3 and best.value == pytest.approx(np.log(40.0))


def test_the_criterion_is_never_computed_on_the_test_split():
    good = fake_record(80.0, 0.5)
    assert criterion.value(good) == pytest.approx(np.log(80.0) + np.log(0.5))
    for bad in ({**good, K.KEY_HELDOUT_SPLIT: "test"},
                {**good, K.KEY_FID_REFERENCE: "digits train split"},
                {**good, K.KEY_FID_REFERENCE: "digits test split"}):
        with pytest.raises(UserError, match="selects on the validation split only"):
            criterion.value(bad)
    with pytest.raises(UserError, match="fid"):
        criterion.value({**good, K.KEY_METRIC_FID: None})


def test_a_corrupt_journal_is_one_line_naming_the_file(work, capsys):
    journal = work / "bad.journal"
    journal.write_text('{"op_code": 0, "worker_id": "a", "study_name": "x", "directions": [1]}\n'
                       "this is not json\n" + '{"op_code": 0}\n')
    code = tune("--trials", 2, "--storage", journal)
    err = capsys.readouterr().err
    assert code == 2 and f"optuna journal {journal}" in err and "corrupt" in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_two_workers_share_one_study_and_run_each_design_trial_once(work):
    """An owner and a --worker on the same journal at once: every design trial runs exactly once
    (the queue lock: no trial beyond the design), and the owner writes the preset."""
    env = {**os.environ, "IJAE_WORK": str(work / "work")}
    common = [sys.executable, "-m", "ijae.cli", "tune", str(PROFILE), "--study", "vae",
              "--dataset", "digits", "--trials", "4", *TINY]
    worker = subprocess.Popen([*common, "--worker"], env=env, stderr=subprocess.PIPE, text=True)
    owner = subprocess.run([*common, "--preset-out", str(work / "vae.yaml")], env=env,
                           stderr=subprocess.PIPE, text=True, timeout=600)
    worker_err = worker.communicate(timeout=600)[1]
    assert owner.returncode == 0 and worker.returncode == 0, owner.stderr[-2000:] + worker_err[-2000:]
    table = trials_of(work)
    assert sorted(table["design"]) == [0, 1, 2, 3] and len(table) == 4
    assert (work / "vae.yaml").is_file()
