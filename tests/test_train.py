"""Training: exact resume after SIGKILL, NaN stop, guard rails, and a short real run that reconstructs."""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from ijae import config, contract, train as train_mod
from ijae.data import load_dataset
from ijae.export import export_run
from ijae.metrics import digits, labels
from ijae.model import IJAE
from conftest import REPO, assert_same_run, tiny_config


def ijae(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "ijae.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def finish(proc) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode()


def test_sigkill_then_resume_is_bit_identical_to_uninterrupted(tmp_path):
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text(config.dump(tiny_config("train.steps=150", "train.checkpoint_every=5")))
    whole_log = finish(ijae("train", cfg_file, "--out", tmp_path / "whole"))
    # a job's log (stderr not a terminal): a start line and one line per checkpoint
    assert f"{tmp_path / 'whole'}: starting, 150 steps" in whole_log
    assert "step 5 / 150 (3%)" in whole_log and "step 150 / 150 (100%)" in whole_log

    killed = tmp_path / "killed"
    proc = ijae("train", cfg_file, "--out", killed)
    deadline = time.time() + 300
    while not (killed / contract.CHECKPOINT).exists():
        assert proc.poll() is None and time.time() < deadline, "run ended before its first checkpoint"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = torch.load(killed / contract.CHECKPOINT, weights_only=True)["step"]
    assert step_at_kill < 150, "the kill must land mid-run for this test to mean anything"
    # (the kill may land between the checkpoint and its timing.json: then none is counted yet)
    killed_cpu = contract.read_timing(killed).get("cpu_seconds", 0.0)
    resumed_log = finish(ijae("train", cfg_file, "--out", killed, "--resume"))
    assert f"resuming from its checkpoint at step {step_at_kill}, 150 steps" in resumed_log

    assert_same_run(tmp_path / "whole", killed, step=150)
    timing = contract.read_timing(killed)   # training time over both processes, to the end
    assert timing["step"] == 150 and timing["cpu_seconds"] > killed_cpu >= 0


def test_non_finite_loss_stops_naming_step_and_loss(tmp_path, monkeypatch):
    original = IJAE.generator_encoder_losses
    calls = {"n": 0}

    def poisoned(self, x):
        total, logs = original(self, x)
        calls["n"] += 1
        if calls["n"] == 3:
            logs["loss_e"] = torch.tensor(float("nan"))
        return total, logs

    monkeypatch.setattr(IJAE, "generator_encoder_losses", poisoned)
    with pytest.raises(train_mod.TrainingError, match=r"step 3: loss_e = nan"):
        train_mod.train(tiny_config("train.steps=6", "train.checkpoint_every=2"), tmp_path / "run")
    state = torch.load(tmp_path / "run" / contract.CHECKPOINT, weights_only=True)
    assert state["step"] == 2                            # the last good checkpoint stays


def test_existing_run_needs_resume_and_a_compatible_config(tmp_path):
    run = tmp_path / "run"
    train_mod.train(tiny_config("train.steps=2"), run)
    with pytest.raises(train_mod.UserError, match="--resume"):
        train_mod.train(tiny_config("train.steps=2"), run)
    with pytest.raises(train_mod.UserError, match="model.lam = 0.3, the new one 0.5"):
        train_mod.train(tiny_config("train.steps=4", "model.lam=0.5"), run, resume=True)
    train_mod.train(tiny_config("train.steps=4"), run, resume=True)   # extending is allowed
    assert torch.load(run / contract.CHECKPOINT, weights_only=True)["step"] == 4
    assert len((run / "losses.csv").read_text().splitlines()) == 1 + 4


@pytest.mark.slow
def test_short_default_profile_run_reconstructs_and_exports_the_contract(tmp_path, metrics_cache):
    cfg = config.load(REPO / "config" / "default.yaml", ["train.steps=200", "train.checkpoint_every=200",
                                                         "export.n_samples=100", "train.device=cpu"])
    run = tmp_path / "run"
    test_images = load_dataset(cfg.data).test
    train_mod.train(cfg, run)
    samples_path, recon_path = export_run(run, seed=3)
    samples = contract.load_samples(samples_path)
    originals, recons = contract.load_reconstructions(recon_path)
    assert samples.shape == (100, 16, 16, 3) and samples.dtype == np.uint8
    assert np.array_equal(originals, test_images) and recons.shape == originals.shape
    # Reconstructs, not only generates: the digits classifier gives G(E(x)) the digit of x far
    # more often than a model that ignores x would (another image's reconstruction: chance ~0.1).
    # 200 steps reach ~0.6 (1,200: ~0.93); a lower pixel error alone was passed by random pairs.
    net = digits.load_classifier(digits.classifier_path(16, metrics_cache))[0]
    agreement = labels.label_agreement(digits.true_labels(originals, 16),
                                       digits.predicted_labels(originals, net),
                                       digits.predicted_labels(recons, net))
    agree, chance = agreement["recon_label_agreement"], agreement["recon_label_agreement_chance"]
    assert agree >= 0.5 and agree >= 3 * chance, agreement
    assert (run / "samples.png").is_file() and (run / "reconstructions.png").is_file()
    from PIL import Image   # big enough to judge: 16-px digits upscaled to 64 px (137 px before)
    with Image.open(run / "samples.png") as grid:
        assert grid.width >= 8 * 64

    # export is deterministic for a seed, and the seed matters
    again = contract.load_samples(export_run(run, seed=3)[0])
    assert np.array_equal(again, samples)
    other = contract.load_samples(export_run(run, seed=4)[0])
    assert not np.array_equal(other, samples)


def test_device_names_are_checked():
    from ijae.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(train_mod.UserError, match="device 'gpu': expected auto, cpu, cuda or cuda:N"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(train_mod.UserError, match="no CUDA GPU is visible"):
            resolve_device("cuda:0")
