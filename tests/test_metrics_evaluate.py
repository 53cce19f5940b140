"""`ijae evaluate` / `ijae collect` on digits run folders: the record, bad input, provenance."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ijae import UserError, cli, config, contract
from ijae.config import DataConfig
from ijae.data import load_dataset
from ijae.metrics import backends, defaults, record

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits16():
    return load_dataset(DataConfig(dataset="digits", image_size=16))


def make_run(path: Path, ds, *overrides: str, n_samples: int = 300) -> Path:
    """A default-profile run folder: samples = shifted, noisy real digits; noisy reconstructions."""
    path.mkdir(parents=True, exist_ok=True)
    cfg = config.load(REPO / "config" / "default.yaml", list(overrides))
    (path / contract.CONFIG).write_text(config.dump(cfg))
    rng = np.random.default_rng(0)
    samples = np.roll(ds.train[rng.integers(0, len(ds.train), n_samples)], 1, axis=2)
    samples = np.clip(samples + rng.normal(0, 10, samples.shape), 0, 255).astype(np.uint8)
    contract.save_samples(path / contract.SAMPLES, samples)
    recon = np.clip(ds.test + rng.normal(0, 20, ds.test.shape), 0, 255).astype(np.uint8)
    contract.save_reconstructions(path / contract.RECONSTRUCTIONS, ds.test, recon)
    return path


def evaluate(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["evaluate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_digits_run_writes_complete_record(tmp_path, digits16, metrics_cache, capsys,
                                                    monkeypatch):
    monkeypatch.setenv("IJAE_WORK", str(tmp_path))
    run = make_run(tmp_path / "run", digits16, "model.lam=0.7", "seed=3")
    contract.write_timing(run, seconds=2.0, cpu_seconds=1.5, threads=1, step=7, precision="bf16 autocast")
    code, out, err = evaluate(capsys, run, "--cache-dir", metrics_cache,   # backend from config
                              "--is-split-size", "30", "--json")
    assert code == 0, err
    rec = json.loads((run / contract.METRICS).read_text())
    assert json.loads(out) == rec
    assert "Inception Score" not in err      # torch-fidelity's label: this backend is not Inception
    cfg = config.load(run / contract.CONFIG)
    assert (rec["dataset"], rec["model"], rec["variant"], rec["lambda"], rec["seed"], rec["profile"]) \
        == ("digits", "ijae", "implicit", 0.7, 3, "default")
    assert rec["backend"] == "digits" and rec["recon_metric"] == "digits-feature-distance"
    assert (rec["label"], rec["implementation"]) == ("λ-IJAE", "native")   # from the registry
    assert rec["generation_metric"] == backends.BACKENDS["digits"].generation_metric
    assert rec["run"] == "<work>/run" and "hostname" not in rec      # committed records: portable
    assert rec["config_hash"] == cfg.digest()
    assert (rec["train_step"], rec["train_cpu_seconds"]) == (7, 1.5)   # the step of the weights scored
    assert rec["train_precision"] == "bf16 autocast"                    # what trained it
    assert (rec["n_samples"], rec["n_reconstructions"], rec["fid_reference_n"]) == (300, 359, 1438)
    assert rec["is_std_over"] == "10 splits of the samples" and rec["recon_std_over"] == "images"
    assert rec["is_mean"] > 7 and 0 < rec["fid"] < 100 and rec["recon_mean"] > 0
    # IS at 30 a split, beside a perfect sampler's and the real train images' at that size
    assert (rec["is_splits"], rec["is_split_size"]) == (10, 30)
    assert 8 < rec["is_ceiling"] < 10 and 0.8 * rec["is_ceiling"] < rec["is_real"] < 1.1 * rec["is_ceiling"]
    # the calibrated measures: real digits cover much of the train split and are mostly digits;
    # resampled train images sit closer to the train split than unseen ones (C_T below 0)
    assert rec["density"] > 0.5 and rec["coverage"] > 0.4 and rec["prdc_k"] == 5
    assert rec["prdc_n"] == "300 samples, 1438 reference" and rec["copying_ct"] < 0
    assert rec["accepted_share"] > 0.5 and rec["modes_covered_accepted"] == 10
    assert rec["mode_kl_accepted"] < 0.2 and 0 <= rec["duplicate_share"] < 0.5
    assert not rec["collapsed"] and rec["collapse_reason"] == ""
    assert rec["digits_classifier_test_accuracy"] >= 0.97
    # the noisy reconstructions keep their digit; another digit's would not (chance ~ 0.1)
    assert rec["recon_label_agreement"] > 0.85 and rec["recon_label_agreement_chance"] < 0.2
    assert rec["digits_classifier_originals_accuracy"] == rec["digits_classifier_test_accuracy"]
    assert rec["recon_label_reference"] == "digits dataset labels"
    # real digits as samples: precise, recalled, every class covered; KID capped at 300 samples
    assert rec["precision"] > 0.8 and rec["recall"] > 0.6 and rec["f_score"] > 0.6
    assert (rec["prc_neighborhood"], rec["prc_reference_n"], rec["prc_layer"]) == \
        (3, 1438, rec["fid_layer"])
    assert (rec["kid_subsets"], rec["kid_subset_size"], rec["kid_reference_n"]) == (100, 300, 1438)
    assert rec["kid_mean"] < 50 and rec["kid_std"] > 0
    assert rec["modes_covered"] == 10 and rec["n_modes"] == 10 and rec["mode_kl"] < 0.1
    assert rec["mode_kl_reference"] == "digits test split labels"
    assert sum(rec[f"class_fraction_{c}"] for c in range(10)) == pytest.approx(1.0)
    table = record.collect([run])                   # ijae collect carries every field
    assert {"precision", "recall", "kid_mean", "modes_covered", "mode_kl",
            "recon_label_agreement", "recon_label_agreement_chance"} <= set(table.columns)
    for name in ("torch", "torchvision", "torch_fidelity", "lpips", "ijae", "numpy"):
        assert rec[f"version_{name}"], name
    assert rec["device"] == "cpu" or rec["device"].startswith("cuda")
    assert rec["wall_time_s"] > 0 and rec["timestamp"]
    assert "git_commit" in rec and "git_dirty" in rec
    assert all(not isinstance(v, (dict, list)) for v in rec.values())  # flat

    code, out, err = evaluate(capsys, run, "--cache-dir", metrics_cache, "--n-samples", "100",
                              "--is-splits", "5", "--no-fid")
    assert code == 0, err
    # without --json: a short summary a person reads, naming the measure, and the record's file
    assert len(out.splitlines()) <= 8 and "digits-classifier score" in out and "Inception Score" not in out
    assert f"record: {run / 'metrics.json'}" in out
    rec = json.loads((run / contract.METRICS).read_text())
    assert (rec["n_samples"], rec["is_splits"], rec["fid"]) == (100, 5, None)
    assert rec["precision"] is None and rec["kid_mean"] is None    # they share FID's reference
    assert rec["is_std_over"] == "5 splits of the samples"


def test_digits_backend_refuses_other_datasets(tmp_path, digits16, capsys):
    run = make_run(tmp_path / "run", digits16)
    cfg = config.load(REPO / "config" / "default.yaml", ["data.dataset=synthetic"])
    (run / contract.CONFIG).write_text(config.dump(cfg))
    code, _, err = evaluate(capsys, run, "--backend", "digits", "--cache-dir", tmp_path)
    assert code == 2 and "digits backend scores digits, stacked_digits, mnist and stacked_mnist runs" in err


def _write_npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)  # bypasses the contract's checks on purpose


@pytest.mark.parametrize("case, expected", [
    ("float samples", "dtype float32, expected uint8"),
    ("3-d samples", "expected [N, H, W, 3] (4 dimensions)"),
    ("1-channel samples", "1 channels"),
    ("length mismatch", "differ; expected one reconstruction per original"),
    ("missing samples", "file not found"),
    ("wrong size", "gives 16x16 (data.image_size)"),
    ("no config", "config file"),
])
def test_bad_input_is_refused_with_a_clear_message(tmp_path, digits16, capsys, case, expected):
    run = make_run(tmp_path / "run", digits16, n_samples=20)
    good = digits16.test[:20]
    if case == "float samples":
        _write_npz(run / contract.SAMPLES, images=good.astype(np.float32))
    elif case == "3-d samples":
        _write_npz(run / contract.SAMPLES, images=good[..., 0])
    elif case == "1-channel samples":
        _write_npz(run / contract.SAMPLES, images=good[..., :1])
    elif case == "length mismatch":
        _write_npz(run / contract.RECONSTRUCTIONS, originals=good, reconstructions=good[:19])
    elif case == "missing samples":
        (run / contract.SAMPLES).unlink()
    elif case == "wrong size":
        contract.save_samples(run / contract.SAMPLES, np.zeros((20, 8, 8, 3), np.uint8))
    elif case == "no config":
        (run / contract.CONFIG).unlink()
    code, out, err = evaluate(capsys, run, "--cache-dir", tmp_path / "cache")
    assert code == 2 and out == ""
    assert expected in err and err.startswith("ijae evaluate: error:") and err.count("\n") == 1
    assert not (run / contract.METRICS).exists()


def _git(repo_path: Path):
    import git

    repo = git.Repo.init(repo_path)
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "test").set_value("user", "email", "test@example.com")
    return repo


def test_provenance_commit_and_dirty_flag_in_a_temporary_repo(tmp_path):
    repo = _git(tmp_path / "repo")
    assert record.git_state(tmp_path / "repo") == {"git_commit": None, "git_dirty": False}
    (tmp_path / "repo" / "a.txt").write_text("one\n")
    assert record.git_state(tmp_path / "repo") == {"git_commit": None, "git_dirty": True}
    repo.index.add(["a.txt"])
    sha = repo.index.commit("first").hexsha
    (tmp_path / "repo" / "sub").mkdir()
    assert record.git_state(tmp_path / "repo" / "sub") == {"git_commit": sha, "git_dirty": False}
    (tmp_path / "repo" / "a.txt").write_text("two\n")
    assert record.git_state(tmp_path / "repo") == {"git_commit": sha, "git_dirty": True}
    (tmp_path / "repo" / "a.txt").write_text("one\n")
    (tmp_path / "repo" / "new.txt").write_text("untracked\n")
    assert record.git_state(tmp_path / "repo")["git_dirty"] is True
    (tmp_path / "repo" / ".gitignore").write_text("new.txt\n.gitignore\n")
    assert record.git_state(tmp_path / "repo") == {"git_commit": sha, "git_dirty": False}
    outside = tmp_path / "plain"
    outside.mkdir()
    if not _inside_a_repo(outside):
        assert record.git_state(outside) == {"git_commit": None, "git_dirty": None}


def _inside_a_repo(path: Path) -> bool:
    return any((p / ".git").exists() for p in [path, *path.parents])


def test_collect_concatenates_records(tmp_path, capsys):
    runs = []
    for i, lam in enumerate([0.3, 0.7]):
        run = tmp_path / f"run{i}"
        run.mkdir()
        record.write(run, {"dataset": "digits", "model": "ijae", "variant": "implicit",
                           "lambda": lam, "seed": 0, "profile": "default", "backend": "digits",
                           "is_mean": 8.0 + i, "is_std": 0.1, "fid": 3.0, "recon_mean": 0.1,
                           "recon_std": 0.01, "recon_metric": "digits-feature-distance",
                           "extra": f"x{i}"})
        runs.append(run)
    out = tmp_path / "results" / "metrics.csv"
    assert cli.main(["collect", str(runs[0]), str(runs[1] / contract.METRICS), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["lambda"]) == [0.3, 0.7] and list(table["is_mean"]) == [8.0, 9.0]
    assert list(table.columns[:6]) == ["dataset", "model", "variant", "lambda", "seed", "profile"]
    assert "extra" in table.columns
    capsys.readouterr()
    shutil.rmtree(runs[1])
    assert cli.main(["collect", str(runs[0]), str(runs[1]), "--out", str(out)]) == 2
    assert "no metrics record" in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 2  # the old table is untouched


def test_recorded_paths_are_relative_to_the_checkout_or_the_work_folder(tmp_path, monkeypatch):
    checkout, work = tmp_path / "checkout", tmp_path / "scratch"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    monkeypatch.setenv("IJAE_WORK", str(work))
    assert record.portable_path(checkout / "work" / "runs" / "a") == "work/runs/a"
    assert record.portable_path(work / "cache" / "w.pt") == "<work>/cache/w.pt"
    assert record.portable_path("work/runs/a") == "work/runs/a"          # relative: as given
    assert record.portable_path(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")


def test_settings_table_feeds_the_command_line_and_the_api(monkeypatch):
    parser = cli.build_parser()
    evaluate_parser = parser._subparsers._group_actions[0].choices["evaluate"]
    options = {a.dest: a.option_strings for a in evaluate_parser._actions}
    for setting in defaults.SETTINGS:
        if setting.cli:
            flag = ("--no-" if setting.type is bool else "--") + setting.name.replace("_", "-")
            assert options[setting.name] == [flag], setting.name
        else:
            assert setting.name not in options
    args = parser.parse_args(["evaluate", "run", "--batch-size", "8", "--no-fid"])
    given = defaults.from_arguments(args)
    assert (given["batch_size"], given["fid"], given["is_splits"]) == (8, False, None)
    monkeypatch.setenv("IJAE_LPIPS_WEIGHTS", "from-env")
    settings = defaults.resolve(given)
    # IS splits follow from the split size (1,000 samples a split) unless given
    assert (settings["batch_size"], settings["fid"], settings["is_splits"]) == (8, False, None)
    assert settings["is_split_size"] == 1000
    assert settings["lpips_weights"] == "from-env" and settings["write"] is True
    assert defaults.resolve({"lpips_weights": "given"})["lpips_weights"] == "given"
    with pytest.raises(TypeError, match="batchsize"):
        defaults.resolve({"batchsize": 8})


def test_a_registered_backend_scores_the_run(tmp_path, digits16, monkeypatch):
    def score(job):
        assert job.reference is None and job.settings["is_splits"] == 4
        return ({"is_mean": float(len(job.samples)), "is_std": 0.0, "fid": None,
                 "recon_metric": "zero"}, np.zeros(len(job.originals)))

    monkeypatch.setitem(backends.BACKENDS, "constant",
                        backends.Backend("constant", "the sample count", score))
    run = make_run(tmp_path / "run", digits16, n_samples=30)
    from ijae.metrics import evaluate_run

    rec = evaluate_run(run, backend="constant", fid=False, is_splits=4, write=False)
    assert (rec["backend"], rec["generation_metric"], rec["is_mean"]) == \
        ("constant", "the sample count", 30.0)
    assert (rec["recon_metric"], rec["recon_mean"], rec["n_reconstructions"]) == ("zero", 0.0, 359)
    assert not (run / contract.METRICS).exists()
    with pytest.raises(UserError, match="backend 'nope'"):
        evaluate_run(run, backend="nope")
