"""Snapshots of a run at chosen steps (train.snapshot_steps, RUN/steps/<N>/): the learning-curve
points a longer run keeps, each a run folder that export and evaluate score like any run."""
import numpy as np
import pytest
import torch

from ijae import config, contract, train as train_mod
from ijae.export import export_run
from conftest import assert_same_weights, tiny_config


def weights(folder):
    return torch.load(folder / contract.CHECKPOINT, weights_only=True)


def test_a_snapshot_is_the_shorter_run_and_exports_like_it(tmp_path):
    """Catches a snapshot that holds the final weights (or the last checkpoint's) instead of its
    step's, and an export of a snapshot that reads the run's own checkpoint."""
    long_run = train_mod.train(tiny_config("train.steps=6", "train.checkpoint_every=3",
                                           "train.snapshot_steps=[2,4]"), tmp_path / "long")
    short_run = train_mod.train(tiny_config("train.steps=4", "train.checkpoint_every=3"), tmp_path / "short")
    snapshots = train_mod.snapshot_folders(long_run)
    assert list(snapshots) == [2, 4]
    four = snapshots[4]
    assert_same_weights(four, short_run, 4)
    final = weights(long_run)["model"]
    assert any(not torch.equal(v, final[k]) for k, v in weights(four)["model"].items())
    # the folder a 4-step run leaves: its config says 4 steps, its timing step 4
    assert config.load(four / contract.CONFIG).train.steps == 4
    assert contract.read_timing(four)["step"] == 4 and contract.read_timing(long_run)["step"] == 6
    assert 0 < contract.read_timing(four)["cpu_seconds"] <= contract.read_timing(long_run)["cpu_seconds"]
    export_run(four, n_samples=20)
    export_run(short_run, n_samples=20)
    export_run(long_run, n_samples=20)
    same = contract.load_samples(four / contract.SAMPLES)
    assert np.array_equal(same, contract.load_samples(short_run / contract.SAMPLES))
    assert not np.array_equal(same, contract.load_samples(long_run / contract.SAMPLES))


def test_a_finished_run_extended_keeps_its_last_step_and_refuses_a_lost_one(tmp_path):
    """A 4-step run resumed to 8 steps with snapshot_steps [4] keeps the step-4 weights; asking
    for step 2, which no checkpoint holds any more, is one clear error."""
    run = train_mod.train(tiny_config("train.steps=4"), tmp_path / "run")
    train_mod.train(tiny_config("train.steps=4"), tmp_path / "four")
    with pytest.raises(train_mod.UserError, match="snapshot_steps 2: its checkpoint is at step 4"):
        train_mod.train(tiny_config("train.steps=8", "train.snapshot_steps=[2]"), run, resume=True)
    assert config.load(run / contract.CONFIG).train.steps == 4       # the refused resume changed nothing
    train_mod.train(tiny_config("train.steps=8", "train.snapshot_steps=[4]"), run, resume=True)
    assert_same_weights(train_mod.snapshot_folders(run)[4], tmp_path / "four", 4)
    assert weights(run)["step"] == 8


def test_snapshot_steps_outside_the_run_are_refused():
    with pytest.raises(config.ConfigError, match=r"train.snapshot_steps = 9: expected a step from 1 to"):
        tiny_config("train.steps=8", "train.snapshot_steps=[4,9]")
