"""Every registered model — lambda-IJAE and each baseline adapter — behind the same contract."""
import numpy as np
import pytest

from importlib import metadata

from ijae import contract, registry
from ijae.registry import TrainableModel, all_adapters, get_adapter, protocol_problems
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
    assert registry.adapter_problems(adapter) == []
    assert protocol_problems(registry.build_model(cfg, 16), TrainableModel) == []
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


class _Loose:
    """A trainable model whose step cannot take the loop's call (d_steps is not a keyword)."""
    loss_names = ["loss"]

    def make_optimizers(self, t):
        return {}

    def train_step(self, next_batch, optimizers):
        return {}

    def sample(self, n, like):
        return like

    def reconstruct(self, x, scale):
        return x


def test_protocol_check_names_every_mismatch():
    problems = protocol_problems(_Loose(), TrainableModel)
    assert len(problems) == 2
    assert any(p.startswith("train_step(next_batch, optimizers)") for p in problems)
    assert any(p.startswith("reconstruct(x, scale)") for p in problems)
    assert protocol_problems(type("NoLosses", (_Loose,), {"loss_names": "loss"})(), TrainableModel)[0] \
        .startswith("loss_names = 'loss' is not a list[str]")


def test_adapter_check_rejects_a_config_class_of_another_name():
    from ijae.adapter import IJAEAdapter

    class Misnamed(IJAEAdapter):
        name = "misnamed"

    assert registry.adapter_problems(IJAEAdapter()) == []
    (problem,) = registry.adapter_problems(Misnamed())
    assert "default name is 'ijae', expected the adapter's name 'misnamed'" in problem


def test_baselines_are_found_through_entry_points_only():
    found = {ep.name: ep.value for ep in metadata.entry_points(group=registry.GROUP)}
    assert found["age"] == "baselines.age:AGEAdapter" and found["vae"] == "baselines.vae:VAEAdapter"
    assert set(found) | set(registry.BUILTIN) == set(registry.registered_names())
    assert {type(get_adapter(n)).__module__ for n in found} <= {v.split(":")[0] for v in found.values()}


def test_a_broken_plugin_is_named(monkeypatch, tmp_path, capsys):
    broken = metadata.EntryPoint(name="broken", value="no_such_module_xyz:Adapter", group=registry.GROUP)
    real = registry._entry_points()
    monkeypatch.setattr(registry, "_entry_points", lambda: {**real, "broken": broken})
    with pytest.raises(registry.PluginError, match="model plugin 'broken' .*no_such_module_xyz:Adapter"
                                                   ".*ModuleNotFoundError"):
        get_adapter("broken")
    code = main(["train", str(REPO / "config" / "default.yaml"), "--model", "broken",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "model plugin 'broken'" in err and "Traceback" not in err


def test_every_in_tree_model_has_a_preset_per_profile():
    from ijae import config

    for ep in metadata.entry_points(group=registry.GROUP):
        if ep.value.startswith("baselines."):
            for profile in ("default", "paper"):
                assert (config.PRESETS / profile / f"{ep.name}.yaml").is_file(), (profile, ep.name)
