"""Search spaces (ijae/tune/space.py): every key reaches the model's config, bad input is one
line, the design is fixed by its seed and holds the hand-sized preset as trial 0."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from ijae import cli, config
from ijae.tune import space as space_mod, trial

REPO = Path(__file__).resolve().parents[1]
STUDIES = ("ijae", "ijae-l1", "ijae-l2", "alphagan", "age", "twostage", "svae", "vae")


def write_space(tmp_path, body: dict, name: str = "vae") -> Path:
    path = tmp_path / f"{name}{space_mod.SPACE_SUFFIX}"
    path.write_text(yaml.safe_dump(body))
    return path


def base(space, dataset="digits", profile="default"):
    return trial.base_config(REPO / "config" / f"{profile}.yaml", space, dataset, 0)


@pytest.mark.parametrize("profile", ["default", "paper"])
@pytest.mark.parametrize("study", STUDIES)
def test_every_committed_space_fits_its_model_and_holds_the_hand_sized_preset(profile, study):
    """Each space file beside the presets: its keys reach the model's config at both ends of
    every range, and trial 0's values are exactly the hand-sized preset's."""
    space = space_mod.read_space(space_mod.space_path(profile, study))
    raw = base(space, "digits" if profile == "default" else "cifar10", profile)
    hand = space_mod.check(space, raw)
    resolved = config.from_dict(json.loads(json.dumps(raw))).to_dict()
    for p in space.params:
        for key in p.keys:
            assert space_mod.get_key(resolved, key) == hand[p.name], (study, key)


def test_a_trial_value_lands_on_every_key_of_its_parameter():
    """A parameter that sets two keys (E and G's rate) sets both, and a list element (beta1)
    leaves the rest of its list as it was: a space whose keys do not reach the config fails."""
    space = space_mod.read_space(space_mod.space_path("default", "ijae"))
    raw = base(space)
    values = {**space_mod.hand_values(space, raw), "lr_ge": 3.3e-4, "beta1": 0.25,
              "model.tau_pairing": "side", "model.shift_max": 3}
    cfg = trial.trial_config(raw, space, values)
    assert cfg.train.lr_g == cfg.train.lr_e == 3.3e-4
    assert cfg.train.betas == [0.25, 0.9]
    assert (cfg.model.tau_pairing, cfg.model.shift_max, cfg.model.variant, cfg.model.lam) == \
        ("side", 3, "implicit", 0.3)


def test_the_protocol_holds_out_the_validation_split_whatever_the_settings():
    """data.split=test among the workflow's settings cannot make a trial see the test split."""
    space = space_mod.read_space(space_mod.space_path("default", "vae"))
    raw = base(space)
    cfg = trial.trial_config(raw, space, space_mod.hand_values(space, raw),
                             sets=["data.split=test", "eval.fid_reference=train"])
    assert (cfg.data.split, cfg.eval.fid_reference) == ("validation", "heldout")


@pytest.mark.parametrize("body, message", [
    ({"params": {"model.not_a_key": {"low": 0.1, "high": 1.0}}}, "model.not_a_key"),
    ({"params": {"sigma": {"low": 0.01, "high": 1.0, "keys": ["model.sigmaa"]}}}, "model.sigmaa"),
    ({"params": {"model.sigma": {"low": 0.5, "high": 0.1}}}, "low = 0.5 is not below high = 0.1"),
    ({"params": {"model.sigma": {"low": 0.0, "high": 1.0, "log": True}}}, "log range needs low > 0"),
    ({"params": {"model.sigma": {"low": 0.2, "high": 1.0}}}, "hand-sized value 0.1"),
    ({"params": {"model.sigma": {"low": 0.01, "high": 1.0, "step": 2}}}, "unknown field 'step'"),
    ({"params": {"model.sigma": {"choices": [0.1], "low": 0.1}}}, "choices and a range"),
    ({"params": {"beta1": {"low": 0.5, "high": 1.0, "keys": ["train.betas.0"]}}},
     "train.betas"),                                # the config refuses beta1 = 1 (a range end)
    ({"params": {}}, "no params"),
    ({"params": {"model.sigma": {"low": 0.01, "high": 1.0}}, "searches": 3}, "unknown section 'searches'"),
    ({"model": "nope", "params": {"model.sigma": {"low": 0.01, "high": 1.0}}}, "'nope' is not registered"),
])
def test_a_bad_space_is_one_line_naming_it(tmp_path, capsys, body, message, monkeypatch):
    """`ijae tune` on a bad space: exit 2, one line naming the parameter or key, no study made."""
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    path = write_space(tmp_path, body)
    code = cli.main(["tune", str(REPO / "config" / "default.yaml"), "--space", str(path),
                     "--dataset", "digits", "--trials", "2"])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "work" / "tune" / "default" / "digits").exists()


def test_set_and_get_key_walk_sections_and_lists():
    raw = {"train": {"betas": [0.5, 0.9]}}
    space_mod.set_key(raw, "train.betas.1", 0.99)
    space_mod.set_key(raw, "model.sigma", 0.2)
    assert raw == {"train": {"betas": [0.5, 0.99]}, "model": {"sigma": 0.2}}
    assert space_mod.get_key(raw, "train.betas.0") == 0.5
    for key in ("train.betas.2", "train.lr", "model.sigma.x"):
        with pytest.raises(KeyError):
            space_mod.get_key(raw, key)


def test_the_design_is_fixed_by_its_seed_and_grows_without_changing():
    """The same seed gives the same trials; K = 8 begins with K = 4's trials; another seed gives
    others; every value lies in its range, and two parameters with the same range are drawn
    apart (one generator per trial, not one value reused for every parameter)."""
    space = space_mod.read_space(space_mod.space_path("default", "ijae"))
    four, eight = space_mod.design(space, 4, 0), space_mod.design(space, 8, 0)
    assert four == space_mod.design(space, 4, 0) and eight[:3] == four
    assert space_mod.design(space, 4, 1) != four
    for values in eight:
        assert all(p.contains(values[p.name]) for p in space.params)
    ranks = [(np.log(v["lr_ge"]) - np.log(5e-5)) / (np.log(1e-3) - np.log(5e-5)) -
             (np.log(v["model.encoder_noise_init"]) - np.log(0.01)) / (np.log(1.0) - np.log(0.01))
             for v in eight]
    assert max(abs(r) for r in ranks) > 0.05


def test_integer_and_choice_parameters_cover_their_values():
    p_int = space_mod.Param("s", ("model.shift_max",), 1, 3, integer=True)
    p_log = space_mod.Param("k", ("x",), 1, 100, log=True, integer=True)
    p_choice = space_mod.Param("c", ("y",), choices=("a", None, 3))
    rng = np.random.default_rng(0)
    assert {p_int.draw(rng) for _ in range(200)} == {1, 2, 3}
    assert all(1 <= p_log.draw(rng) <= 100 for _ in range(200))
    assert {p_choice.draw(rng) for _ in range(200)} == {"a", None, 3}


def test_an_unknown_study_names_the_studies_there_are(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    code = cli.main(["tune", str(REPO / "config" / "default.yaml"), "--study", "gan",
                     "--dataset", "digits"])
    err = capsys.readouterr().err
    assert code == 2 and "study 'gan': no search space" in err and "alphagan, ijae" in err, err
    code = cli.main(["tune", str(REPO / "config" / "default.yaml"), "--study", "vae",
                     "--dataset", "fashion_mnist"])
    assert code == 2 and "--dataset fashion_mnist" in capsys.readouterr().err
