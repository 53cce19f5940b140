"""Checkpoints and resume guard rails: RNG states restored whatever device the tensors arrive on,
no non-finite weights saved (and a truthful message), export refuses broken outputs, resume
errors that used to pass silently, stale temp files, config.yaml kept until a resume loads."""
import subprocess
import sys

import pytest
import torch
import yaml

from ijae import UserError, checkpoint, contract, train as train_mod
from ijae.config import ConfigError
from ijae.export import export_run
from ijae.model import IJAE
from conftest import tiny_config


def converted(tree):
    """Every tensor in ``tree`` as a non-contiguous float64 copy (values unchanged): what a load
    onto another device hands back is not a CPU ByteTensor either, which set_rng_state refuses."""
    if isinstance(tree, dict):
        return {k: converted(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(converted(v) for v in tree)
    if torch.is_tensor(tree):
        if tree.dim() == 0:
            return tree.to(torch.float64)
        wide = torch.empty(*tree.shape[:-1], 2 * tree.shape[-1], dtype=torch.float64)
        wide[..., ::2] = tree.to(torch.float64)
        return wide[..., ::2]                       # a strided view
    return tree


def test_resume_through_a_device_moving_load_is_bit_identical(tmp_path, monkeypatch):
    train_mod.train(tiny_config("train.steps=4"), tmp_path / "whole")
    resumed = tmp_path / "resumed"
    train_mod.train(tiny_config("train.steps=2"), resumed)

    real_load = torch.load
    seen = []

    def moving_load(*args, **kwargs):
        state = converted(real_load(*args, **kwargs))
        seen.append(state["rng"]["torch"].dtype)
        return state

    monkeypatch.setattr(torch, "load", moving_load)
    train_mod.train(tiny_config("train.steps=4"), resumed, resume=True)
    monkeypatch.undo()
    assert seen == [torch.float64]                  # the resume did go through the converted load
    first, second = (torch.load(r / contract.CHECKPOINT, weights_only=True) for r in (tmp_path / "whole", resumed))
    assert second["step"] == 4
    for key, value in first["model"].items():
        assert torch.equal(value, second["model"][key]), key
    assert (tmp_path / "whole" / "losses.csv").read_text() == (resumed / "losses.csv").read_text()


def test_restore_rng_accepts_states_in_any_form():
    data = torch.Generator().manual_seed(5)
    torch.manual_seed(1)
    state = checkpoint.rng_state(data)
    expected = (torch.rand(3), torch.rand(3, generator=data))
    torch.manual_seed(2)
    data.manual_seed(6)
    checkpoint.restore_rng(converted(state), data)
    assert torch.equal(torch.rand(3), expected[0])
    assert torch.equal(torch.rand(3, generator=data), expected[1])


def poison_weights_at(monkeypatch, poisoned_step: int):
    """G's first weight becomes NaN at the end of step ``poisoned_step`` (losses stay finite)."""
    original, calls = IJAE.train_step, {"n": 0}

    def step(self, *args, **kwargs):
        losses = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == poisoned_step:
            with torch.no_grad():
                next(self.nets["G"].parameters()).fill_(float("nan"))
        return losses

    monkeypatch.setattr(IJAE, "train_step", step)


def test_non_finite_weights_are_not_saved_over_a_good_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    poison_weights_at(monkeypatch, 3)
    with pytest.raises(checkpoint.NonFiniteCheckpointError,
                       match=r"step 3: .*NaN or inf.*last good checkpoint.* at step 2 and intact"):
        train_mod.train(tiny_config("train.steps=6", "train.checkpoint_every=1"), run)
    state = torch.load(run / contract.CHECKPOINT, weights_only=True)
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert not list(run.glob(contract.TEMP_GLOB))


def test_non_finite_weights_at_the_first_checkpoint_say_there_is_none(tmp_path, monkeypatch):
    run = tmp_path / "run"
    poison_weights_at(monkeypatch, 1)
    with pytest.raises(checkpoint.NonFiniteCheckpointError, match="No checkpoint exists"):
        train_mod.train(tiny_config("train.steps=3", "train.checkpoint_every=1"), run)
    assert not (run / contract.CHECKPOINT).exists()


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_non_finite_learning_rate_is_a_config_error(value):
    with pytest.raises(ConfigError, match="train.lr_g"):
        tiny_config(f"train.lr_g={value}")


def test_non_finite_loss_message_tells_whether_a_checkpoint_exists(tmp_path):
    log = train_mod.LossLog(tmp_path / "losses.csv", ["a"], None)
    log.add(1, {"a": torch.tensor(float("nan"))})
    with pytest.raises(train_mod.TrainingError, match="No checkpoint exists"):
        log.flush()


def test_export_refuses_non_finite_outputs(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=1"), run)
    state = torch.load(run / contract.CHECKPOINT, weights_only=True)
    for value in state["model"].values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    torch.save(state, run / contract.CHECKPOINT)     # bypasses the save-time check on purpose
    with pytest.raises(UserError, match="NaN or inf .*nothing was exported"):
        export_run(run, n_samples=4)
    assert not (run / contract.SAMPLES).exists()


def test_export_sample_count_must_be_positive(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=1"), run)
    for n in (0, -5):
        with pytest.raises(UserError, match=f"--n-samples {n}: expected a positive integer"):
            export_run(run, n_samples=n)
    proc = subprocess.run([sys.executable, "-m", "ijae.cli", "export", str(run), "--n-samples", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--n-samples 0" in proc.stderr
    assert not (run / contract.SAMPLES).exists()


def test_resume_with_fewer_steps_than_the_checkpoint_is_an_error(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=4"), run)
    with pytest.raises(UserError, match=r"checkpoint is at step 4, past train.steps = 2"):
        train_mod.train(tiny_config("train.steps=2"), run, resume=True)
    assert yaml.safe_load((run / contract.CONFIG).read_text())["train"]["steps"] == 4


def test_config_is_kept_when_a_resume_cannot_load(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=2"), run)
    blob = (run / contract.CHECKPOINT).read_bytes()
    (run / contract.CHECKPOINT).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UserError, match="cannot be read"):
        train_mod.train(tiny_config("train.steps=4"), run, resume=True)
    assert yaml.safe_load((run / contract.CONFIG).read_text())["train"]["steps"] == 2


def test_stale_temp_files_of_a_killed_write_are_removed(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=2"), run)
    stale = run / ".checkpoint.pt.k1ll3d.tmp"        # what a kill between write and rename leaves
    stale.write_bytes(b"partial")
    other = run / "notes.tmp"                       # not one of ours: kept
    other.write_text("mine")
    train_mod.train(tiny_config("train.steps=3"), run, resume=True)
    assert not stale.exists() and other.exists()
