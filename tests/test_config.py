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
    ("data.dataset=fashion_mnist", "data.dataset = 'fashion_mnist'"),
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


def test_a_preset_file_replaces_the_hand_sized_one_and_the_config_says_which(tmp_path):
    """--preset: a baseline's tuned preset replaces its hand-sized one (model section whole);
    λ-IJAE's updates the profile's own model section; provenance names the file and its kind;
    a preset tuned for another model, or a missing file, is one error naming it."""
    default = REPO / "config" / "default.yaml"
    hand = config.load(default, model="vae")
    assert hand.preset == "config/presets/default/vae.yaml" and hand.preset_kind == "hand"
    tuned = tmp_path / "vae.yaml"
    tuned.write_text("tuned: {model: vae, best_value: 4.2}\nmodel: {latent_dim: 32, width: 32, "
                     "sigma: 0.05}\ntrain: {steps: 2750, lr_g: 3.0e-4, lr_e: 3.0e-4}\n")
    cfg = config.load(default, model="vae", preset=tuned)
    assert (cfg.model.sigma, cfg.train.steps, cfg.train.lr_e) == (0.05, 2750, 3e-4)
    assert cfg.train.betas == [0.5, 0.9]            # not in the tuned file: the profile's
    assert cfg.preset == str(tuned) and cfg.preset_kind == "tuned"
    own = tmp_path / "ijae.yaml"
    own.write_text("tuned: {model: ijae}\nmodel: {tau_mismatch: 0.5}\ntrain: {lr_d: 1.0e-3}\n")
    cfg = config.load(default, preset=own)
    assert (cfg.model.tau_mismatch, cfg.model.tau_pairing, cfg.train.lr_d) == (0.5, "stack", 1e-3)
    assert cfg.model.width == 32 and cfg.preset_kind == "tuned"
    with pytest.raises(config.ConfigError, match="tuned.model = 'vae'.*another model"):
        config.load(default, model="age", preset=tuned)
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load(default, model="vae", preset=tmp_path / "nope.yaml")
    assert config.load(default).preset is None and config.load(default).preset_kind == "hand"
