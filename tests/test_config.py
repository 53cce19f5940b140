import pytest
import yaml

from ijae import config
from ijae.cli import main
from conftest import REPO


@pytest.mark.parametrize("override, fragment", [
    ("model.lam=1.5", "model.lam = 1.5: expected a number in [0, 1]"),
    ("model.variant=l3", "model.variant = 'l3': expected implicit, l1 or l2"),
    ("model.widht=64", "unknown config key model.widht"),
    ("train.steps=ten", "train.steps = 'ten': expected an integer"),
    ("train.betas=[0.5]", "train.betas = [0.5]: expected two numbers"),
    ("data.dataset=mnist", "data.dataset = 'mnist'"),
    ("trian.steps=3", "unknown config key trian"),
    ("model.name=nope", "model.name = 'nope'"),
])
def test_bad_key_or_value_is_named(override, fragment):
    with pytest.raises(config.ConfigError) as info:
        config.load(REPO / "config" / "default.yaml", [override])
    assert fragment in str(info.value)


def test_overrides_parse_as_yaml_and_round_trip():
    cfg = config.load(REPO / "config" / "default.yaml",
                      ["model.lam=0.7", "train.lr_d=5e-4", "train.betas=[0.1, 0.2]", "model.shift_max=null", "train.bf16=true"])
    assert cfg.model.lam == 0.7 and cfg.train.lr_d == 5e-4 and cfg.train.betas == [0.1, 0.2] and cfg.train.bf16 is True
    again = config.from_dict(yaml.safe_load(config.dump(cfg)))
    assert again == cfg and again.digest() == cfg.digest()
    assert config.load(REPO / "config" / "default.yaml").digest() != cfg.digest()


def test_both_profiles_load():
    default = config.load(REPO / "config" / "default.yaml")
    paper = config.load(REPO / "config" / "paper.yaml")
    assert (default.profile, default.data.dataset, default.eval.backend) == ("default", "digits", "digits")
    assert (paper.model.width, paper.model.latent_dim, paper.train.lr_g, paper.train.betas) == \
        (128, 128, 1e-4, [0.5, 0.9])


def test_cli_reports_config_error_in_one_line(tmp_path, capsys):
    code = main(["train", str(REPO / "config" / "default.yaml"), "--out", str(tmp_path / "run"),
                 "--set", "model.lam=2"])
    assert code == 2
    assert "model.lam = 2" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_shift_max_scales_with_image_size():
    model = config.IJAEConfig()
    assert [config.resolved_shift_max(model, s) for s in (16, 32, 64)] == [3, 5, 10]
    assert config.resolved_shift_max(config.IJAEConfig(shift_max=2), 64) == 2


def test_model_presets_come_from_yaml_files_found_from_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not from the working directory
    cfg = config.load(REPO / "config" / "default.yaml", model="svae")
    assert (cfg.model.name, cfg.model.width, cfg.train.steps, cfg.train.lr_d) == ("svae", 32, 600, 3e-4)
    assert cfg.train.checkpoint_every == 200 and cfg.data.dataset == "digits"  # the profile's file below


@pytest.mark.parametrize("text, fragment", [
    ("train: {stpes: 5}\n", "unknown config key train.stpes"),
    ("model: {sigma: -1}\n", "model.sigma = -1"),
    ("model: {name: svae}\n", "model.name = 'svae'"),
    ("train: [1\n", "expected ',' or ']'"),
])
def test_a_bad_preset_is_named_with_its_file(tmp_path, monkeypatch, text, fragment):
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "vae.yaml").write_text(text)
    monkeypatch.setattr(config, "PRESETS", tmp_path)
    with pytest.raises(config.ConfigError) as info:
        config.load(REPO / "config" / "default.yaml", model="vae")
    assert f"preset {tmp_path / 'default' / 'vae.yaml'}: " in str(info.value) and fragment in str(info.value)
