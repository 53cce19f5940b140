"""The dataset registry (ijae/datasets.py): a dataset is one entry, and the config, the data
loader, the digits backend's evaluation and the tables accept a new one registered in one
place (issue 33: adding Stacked MNIST touched 26 files)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ijae import UserError, cli, config, contract, datasets
from ijae.data import Dataset, load_dataset
from conftest import REPO


def resplit_digits(cfg) -> Dataset:
    """A toy dataset: scikit-learn's digits in another split (half / half), its own module."""
    from ijae import data

    ds = data._digits(cfg)
    images = np.concatenate([ds.train, ds.test])
    labels = np.concatenate([ds.train_labels, ds.test_labels])
    half = len(images) // 2
    return Dataset("resplit_digits", images[:half], images[half:], labels[:half], labels[half:])


@pytest.fixture
def toy(monkeypatch):
    spec = datasets.register_dataset(datasets.DatasetSpec(
        "resplit_digits", resplit_digits, native_size=8, classifier="digits", description="a test's toy"))
    yield spec
    datasets.unregister_dataset("resplit_digits")


def test_the_registry_holds_every_built_in_and_names_an_unknown_one():
    assert {"digits", "stacked_digits", "mnist", "stacked_mnist", "cifar10"} <= set(datasets.names())
    assert datasets.get("stacked_mnist").stacked_from == "mnist"
    assert datasets.digits_backend_datasets() == ("digits", "stacked_digits", "mnist", "stacked_mnist")
    with pytest.raises(UserError, match="dataset 'fashion': expected one of cifar10"):
        datasets.get("fashion")
    with pytest.raises(ValueError, match="already registered"):
        datasets.register_dataset(datasets.DatasetSpec("digits", resplit_digits, 8))


@pytest.mark.slow
def test_a_dataset_registered_in_one_place_trains_scores_and_tabulates(toy, tmp_path, monkeypatch,
                                                                        metrics_cache, capsys):
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    cfg = config.load(REPO / "config" / "default.yaml", ["data.dataset=resplit_digits"])
    ds = load_dataset(cfg.data)
    assert ds.image_size == 16 and len(ds.train) == 1797 // 2 and len(ds.test) == 1797 - 1797 // 2
    run = tmp_path / "run"
    assert cli.main(["train", str(REPO / "config" / "default.yaml"), "--out", str(run), "--steps",
                     "4", "--set", "data.dataset=resplit_digits", "--set", "train.checkpoint_every=4",
                     "--set", "export.n_samples=200"]) == 0
    assert cli.main(["export", str(run)]) == 0
    assert cli.main(["evaluate", str(run), "--cache-dir", str(metrics_cache), "--no-kid"]) == 0
    record = json.loads((run / contract.METRICS).read_text())
    assert record["dataset"] == "resplit_digits" and record["backend"] == "digits"
    assert record["mode_kl_reference"] == "resplit_digits test split labels"
    assert cli.main(["collect", str(run), "--out", str(tmp_path / "metrics.csv")]) == 0
    assert cli.main(["table1", str(tmp_path / "metrics.csv"), "--out", str(tmp_path / "t")]) == 0
    assert "## resplit_digits" in (tmp_path / "t" / "table1.md").read_text()
    assert list(pd.read_csv(tmp_path / "t" / "table1.csv")["dataset"]) == ["resplit_digits"]
