"""What a non-editable install carries (issue 33): the presets found through the package, a
baseline trained on its preset, every package listed, a missing preset named."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
import zipfile

import pytest
import yaml

from ijae import config
from conftest import REPO


def test_every_package_is_listed_for_the_build():
    """pyproject.toml lists its packages (one is mapped onto config/); a new subpackage missing
    from the list would be left out of a wheel."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("ijae", "baselines")
             for p in (REPO / top).rglob("__init__.py")}
    assert found | {"ijae._config"} == listed


def test_a_missing_preset_of_a_shipped_model_is_an_error_naming_the_file(tmp_path, monkeypatch):
    """Presets were found relative to the source tree and a missing one read as {}: in an install
    without them a baseline trained on the class defaults (paper-size networks), unnoticed."""
    monkeypatch.setattr(config, "PRESETS", tmp_path)
    with pytest.raises(config.ConfigError, match=rf"model vae has no preset {tmp_path}/default/vae.yaml"):
        config.load(REPO / "config" / "default.yaml", model="vae")


@pytest.mark.slow
def test_a_non_editable_install_trains_a_baseline_on_its_preset(tmp_path):
    """The wheel, unpacked where no checkout is, trains the VAE with config/presets' values."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(REPO)], check=True, timeout=600)
    site = tmp_path / "site"
    (wheel,) = wheels.glob("ijae-*.whl")
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "ijae" / "_config" / "presets" / "default" / "vae.yaml").is_file()
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(site), "IJAE_WORK": str(tmp_path / "work")}
    script = ("import sys, ijae.config as c; from ijae.cli import main; "
              "print(c.PRESETS, file=sys.stderr); sys.exit(main(sys.argv[1:]))")
    result = subprocess.run(
        [sys.executable, "-c", script, "train", str(site / "ijae" / "_config" / "default.yaml"),
         "--model", "vae", "--out", str(run), "--steps", "2", "--set", "data.dataset=synthetic",
         "--set", "data.synthetic_train=64", "--set", "data.synthetic_test=16",
         "--set", "train.checkpoint_every=2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(site / "ijae" / "_config" / "presets") in result.stderr   # not this checkout's
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    preset = yaml.safe_load((REPO / "config" / "presets" / "default" / "vae.yaml").read_text())
    assert cfg["preset_kind"] == "hand" and cfg["preset"].endswith("vae.yaml")
    assert cfg["model"]["width"] == preset["model"]["width"] == 32     # not the class's 128
    assert cfg["train"]["lr_g"] == preset["train"]["lr_g"]
