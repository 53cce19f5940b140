"""Every registered model — lambda-IJAE and each baseline adapter — behind the same contract."""
import numpy as np
import pytest

from baselines.base import all_adapters, get_adapter
from ijae import contract
from ijae.cli import main
from ijae.export import export_run
from conftest import REPO, adapter_config

TRAINABLE = [a.name for a in all_adapters()]


def short_config(name):
    """The default profile's preset for ``name``, shrunk to a few steps on synthetic data."""
    return adapter_config(name, "train.steps=3", "train.checkpoint_every=3", "export.n_samples=12",
                          "export.n_reconstructions=10")


@pytest.mark.parametrize("name", TRAINABLE)
def test_adapter_trains_and_exports_the_contract_deterministically(name, tmp_path):
    adapter = get_adapter(name)
    cfg = short_config(name)
    reason = adapter.unavailable_reason(cfg)
    if reason:
        pytest.skip(reason)
    run = tmp_path / name
    adapter.train(cfg, run)
    samples_path, recon_path = export_run(run, seed=5)
    samples = contract.load_samples(samples_path)
    originals, recons = contract.load_reconstructions(recon_path)
    assert samples.shape == (12, 16, 16, 3) and samples.dtype == np.uint8
    assert originals.shape == recons.shape == (10, 16, 16, 3)
    first = (samples, recons)
    export_run(run, seed=5)
    assert np.array_equal(contract.load_samples(samples_path), first[0])
    assert np.array_equal(contract.load_reconstructions(recon_path)[1], first[1])


def test_models_lists_every_adapter_with_kind_and_source(capsys):
    assert main(["models", "--json"]) == 0
    import json

    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ijae"]["kind"] == "native" and rows["ijae"]["source"] is None
    for row in rows.values():
        assert row["label"] and row["architecture"]
        if row["kind"] == "upstream":
            assert row["source"].startswith("https://") and len(row["commit"]) == 40


def test_unknown_model_is_named(tmp_path, capsys):
    code = main(["train", str(REPO / "config" / "default.yaml"), "--model", "nope", "--out", str(tmp_path)])
    assert code == 2 and "model 'nope' is not registered" in capsys.readouterr().err
