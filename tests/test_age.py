"""AGE adapter: update plans, the released-weights loader (whole-module pickles of PyTorch 0.2),
and — with a clone or mirror of the upstream repository (env IJAE_SOURCE_AGE) — the upstream
networks, shims, pretrained mode, learning-rate schedule and exact resume."""
import collections
import hashlib
import importlib
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from baselines import age, age_weights
from conftest import REPO
from ijae import UserError, checkpoint, config
from ijae.cli import main
from ijae.config import ConfigError
from ijae.contract import CHECKPOINT
from ijae.export import export_run
from ijae.registry import get_adapter
from ijae.train import train
from conftest import adapter_config, assert_same_run, upstream_clone

# ---- no upstream code needed ------------------------------------------------------------------


def test_adapter_is_registered_as_upstream_at_the_pinned_commit():
    adapter = get_adapter("age")
    assert adapter.kind == "upstream" and adapter.source is age.SOURCE
    assert adapter.source.url == "https://github.com/DmitryUlyanov/AGE"
    assert adapter.source.commit == "46979476a598233d520549f90d28af49ad535570"
    assert adapter.source.env == "IJAE_SOURCE_AGE"


def test_update_plans_parse_as_age_py_does():
    plan = age.parse_updates("2;KL_fake:1,match_z:1000,match_x:0", age.G_TERMS)
    assert plan == {"num_updates": 2, "KL_fake": 1.0, "match_z": 1000.0, "match_x": 0.0}
    with pytest.raises(UserError, match="missing: \\['match_x'\\]"):
        age.parse_updates("1;KL_fake:1,match_z:1", age.G_TERMS)
    with pytest.raises(UserError, match="'<n>;term:weight"):
        age.parse_updates("two;KL_fake", age.G_TERMS)


def test_config_names_a_bad_update_plan():
    with pytest.raises(ConfigError, match="model.e_updates"):
        config.from_dict({"model": {"name": "age", "e_updates": "1;KL_real:1"}})


def test_paper_preset_is_the_readme_cifar10_command():
    cfg = config.load(REPO / "config" / "paper.yaml", model="age")
    m, t = cfg.model, cfg.train
    assert m.e_updates == "1;KL_fake:1,KL_real:1,match_z:0,match_x:10"
    assert m.g_updates == "2;KL_fake:1,match_z:1000,match_x:0"
    assert (m.latent_dim, m.ngf, m.ndf, m.noise) == (128, 64, 64, "sphere")
    # net auto: the README's dcgan32px on CIFAR-10 (32 px), upstream's dcgan64px at 64 px
    assert m.net == "auto" and age.network_for(m.net, 32) == "dcgan32px"
    assert age.network_for(m.net, 64) == "dcgan64px" and age.network_for("dcgan32px", 64) == "dcgan32px"
    assert t.lr_e == t.lr_g == 2e-4 and t.betas == [0.5, 0.999] and t.batch_size == 64
    assert t.steps == 150 * 781 and m.lr_drop_steps == [39 * 781, 79 * 781, 119 * 781]


# Stand-ins written for this test (not upstream code): classes with upstream's module paths and
# class names, holding networks with the same parameter names and shapes as dcgan32px.
STANDIN_BASE = """
import torch.nn as nn


class _netE_Base(nn.Module):
    def __init__(self, opt, main):
        super().__init__()
        self.noise, self.ngpu, self.main = opt.noise, opt.ngpu, main


class _netG_Base(nn.Module):
    def __init__(self, opt, main):
        super().__init__()
        self.ngpu, self.main = opt.ngpu, main
"""
STANDIN_NETS = """
import torch.nn as nn
from .base import _netE_Base, _netG_Base


def _netE(opt):
    c, layers = opt.ndf, [nn.Conv2d(opt.nc, opt.ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
    for _ in range(2):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]
        c *= 2
    return _netE_Base(opt, nn.Sequential(*layers, nn.Conv2d(c, opt.nz, 4, 2, 1), nn.AvgPool2d(2)))


def _netG(opt):
    layers, c = [], opt.nz
    for i, w in enumerate([opt.ngf * 8, opt.ngf * 4, opt.ngf * 2, opt.ngf * 2]):
        layers += [nn.ConvTranspose2d(c, w, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                   nn.BatchNorm2d(w), nn.ReLU()]
        c = w
    return _netG_Base(opt, nn.Sequential(*layers, nn.Conv2d(c, opt.nc, 1), nn.Tanh()))
"""


def _drop_models_modules():
    for key in [k for k in sys.modules if k == "models" or k.startswith("models.")]:
        del sys.modules[key]


@pytest.fixture
def standin(tmp_path):
    """The stand-in ``models`` package, importable while the test pickles, then unimported."""
    root = tmp_path / "standin"
    (root / "models").mkdir(parents=True)
    (root / "models" / "__init__.py").write_text("")
    (root / "models" / "base.py").write_text(STANDIN_BASE)
    (root / "models" / "dcgan32px.py").write_text(STANDIN_NETS)
    saved = {k: m for k, m in sys.modules.items() if k == "models" or k.startswith("models.")}
    _drop_models_modules()
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module("models.dcgan32px")
    finally:
        if str(root) in sys.path:
            sys.path.remove(str(root))
        _drop_models_modules()
        sys.modules.update(saved)


def randomize(net: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + (0.5 if "running_var" in name else -0.5))


def save_whole_module(net, path, style: str, monkeypatch) -> None:
    """torch.save(net) as AGE released it. "pytorch-0.2": legacy container, pickle protocol 2,
    tensors rebuilt by the 4-argument _rebuild_tensor and Parameters pickled as
    Parameter(data) + (requires_grad, volatile, hooks) state, as PyTorch 0.2 wrote them."""
    if style == "pytorch-0.2":
        with monkeypatch.context() as m:
            m.setattr(torch.Tensor, "__reduce_ex__", lambda self, proto: (
                torch._utils._rebuild_tensor,
                (self.storage(), self.storage_offset(), tuple(self.size()), self.stride())))
            m.setattr(torch.nn.Parameter, "__reduce_ex__", lambda self, proto: (
                torch.nn.Parameter, (self.data,), (self.requires_grad, False, collections.OrderedDict())))
            torch.save(net, path, pickle_protocol=2, _use_new_zipfile_serialization=False)
    elif style == "legacy":
        torch.save(net, path, pickle_protocol=2, _use_new_zipfile_serialization=False)
    else:
        torch.save(net, path)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("style", ["pytorch-0.2", "legacy", "zip"])
@pytest.mark.parametrize("net", ["E", "G"])
def test_released_whole_module_pickle_loads_into_a_fresh_network(standin, tmp_path, monkeypatch, style, net):
    opt = SimpleNamespace(nz=16, ngf=4, ndf=4, nc=3, ngpu=1, noise="sphere")
    build = standin._netE if net == "E" else standin._netG
    trained = build(opt)
    randomize(trained, seed=1)
    path = tmp_path / f"cifar10_{net.lower()}.pth"
    save_whole_module(trained, path, style, monkeypatch)
    _drop_models_modules()                      # the loader must not need (nor import) upstream code
    fresh = build(opt)
    info = age_weights.copy_released(path, fresh)
    assert "models" not in sys.modules
    assert info["class"] == f"models.base._net{net}_Base"
    if net == "E":
        assert info["noise"] == "sphere"
    assert_same_weights(trained, fresh)


def test_released_file_that_does_not_fit_is_named(standin, tmp_path, monkeypatch):
    small = standin._netE(SimpleNamespace(nz=16, ngf=4, ndf=4, nc=3, ngpu=1, noise="sphere"))
    path = tmp_path / "e.pth"
    save_whole_module(small, path, "pytorch-0.2", monkeypatch)
    wider = standin._netE(SimpleNamespace(nz=16, ngf=4, ndf=8, nc=3, ngpu=1, noise="sphere"))
    with pytest.raises(UserError, match="shapes .*main.0.weight"):
        age_weights.copy_released(path, wider)


def test_loader_refuses_globals_outside_its_allowlist(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "f": os.system}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(UserError, match="unexpected global .*system"):
        age_weights.load_released(path)


class _RunsACommand:
    """Unpickling this runs ``touch MARKER`` (what a crafted weights file would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(self.marker)}",)


def _legacy_header_attack(path, marker):
    """A legacy-format file whose first record (where torch reads the magic number with
    ``pickle_module.load``) is the attack, followed by a well-formed rest."""
    net = torch.nn.Linear(2, 2)
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
    path.write_bytes(pickle.dumps(_RunsACommand(marker), protocol=2) + path.read_bytes())


@pytest.mark.parametrize("where", ["legacy-header", "legacy-body", "zip-body"])
def test_a_crafted_weights_file_runs_no_code(tmp_path, where):
    marker = tmp_path / "pwned"
    path = tmp_path / "cifar10_e.pth"
    if where == "legacy-header":
        _legacy_header_attack(path, marker)
    else:
        torch.save({"w": torch.zeros(2), "x": _RunsACommand(marker)}, path,
                   _use_new_zipfile_serialization=(where == "zip-body"))
    with pytest.raises(UserError, match=f"{path}: .*allow-list.*system"):
        age_weights.load_released(path)
    assert not marker.exists()


def test_git_blob_sha1_is_what_git_hash_object_says(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(bytes(range(256)) * 3 + b"\0tail")
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: nothing to compare against")
    expected = subprocess.run([git, "hash-object", str(path)], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert age_weights.git_blob_sha1(path) == expected


def test_released_files_are_pinned_to_a_commit_and_verified_before_loading(tmp_path):
    for entry in age_weights.RELEASED["cifar10"]["files"].values():
        assert f"/raw/{age_weights.RELEASED_COMMIT}/assets/age/pretrained/{entry['file']}" in entry["url"]
        assert len(entry["git_blob_sha1"]) == 40
    # a file that is not the published one is refused before it is unpickled
    marker = tmp_path / "pwned"
    _legacy_header_attack(tmp_path / "cifar10_e.pth", marker)
    m = age.AGEConfig(pretrained=True, pretrained_path=str(tmp_path))
    path, entry = age_weights.released_file(m, "E")
    with pytest.raises(UserError, match="expected cfcab7b.*pretrained_sha_check=false"):
        age_weights.verify_released(path, entry, check=True)
    assert age_weights.verify_released(path, entry, check=False) == age_weights.git_blob_sha1(path)
    assert not marker.exists()


# ---- with the upstream code (a clone or mirror) -----------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    yield from upstream_clone(age.SOURCE, tmp_path_factory)


def age_config(*overrides):
    return adapter_config("age", "train.steps=2", "train.checkpoint_every=1", "train.batch_size=8",
                          "model.ngf=4", "model.ndf=4", "model.latent_dim=16",
                          "export.n_samples=8", "export.n_reconstructions=8", *overrides)


def test_upstream_networks_with_shims_and_isolated_imports(clone):
    cfg = age_config()
    model = get_adapter("age").build(cfg, 16)
    mods = age.upstream(clone)
    assert type(model.E).__module__ == "models.base" and type(model.E).__name__ == "_netE_Base"
    assert mods["src.utils"].normalize is age._normalize          # the keepdim shim is in place
    assert not any(k.split(".")[0] in ("models", "src") for k in sys.modules)
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    z = model.E(model.to_net(x))                                  # upstream E ends on the sphere
    assert z.shape == (5, 16) and torch.allclose(z.norm(dim=1), torch.ones(5), atol=1e-5)
    prior = model.prior(7, x)
    assert torch.allclose(prior.norm(dim=1), torch.ones(7), atol=1e-5)
    assert model.sample(3, x).shape == (3, 3, 16, 16) and model.reconstruct(x).shape == x.shape
    assert model.loss_names == ["e_kl_real", "e_kl_fake", "e_match_x", "g_kl_fake", "g_match_z",
                                "loss_e", "loss_g"]


def test_real_upstream_module_pickle_roundtrip(clone, tmp_path, monkeypatch):
    cfg = age_config()
    trained = get_adapter("age").build(cfg, 16)
    randomize(trained, seed=3)
    for name, module in age.upstream(clone).items():  # importable while pickling, as in age.py
        monkeypatch.setitem(sys.modules, name, module)
    save_whole_module(trained.E, tmp_path / "e.pth", "pytorch-0.2", monkeypatch)
    save_whole_module(trained.G, tmp_path / "g.pth", "pytorch-0.2", monkeypatch)
    for name in age.upstream(clone):
        monkeypatch.delitem(sys.modules, name)
    fresh = get_adapter("age").build(cfg, 16)
    age_weights.copy_released(tmp_path / "e.pth", fresh.E)
    age_weights.copy_released(tmp_path / "g.pth", fresh.G)
    assert_same_weights(trained, fresh)


def test_pretrained_mode_writes_a_checkpoint_that_exports(clone, tmp_path, monkeypatch):
    released = age_weights.RELEASED["cifar10"]["model"]
    overrides = [f"model.{k}={v}" for k, v in released.items()]
    plain = age_config(f"model.pretrained_path={tmp_path / 'released'}", *overrides)
    cfg = config.from_dict(config.apply_overrides(plain.to_dict(), ["model.pretrained=true"]))
    authors = get_adapter("age").build(cfg, 16)
    randomize(authors, seed=4)
    (tmp_path / "released").mkdir()
    for name, module in age.upstream(clone).items():
        monkeypatch.setitem(sys.modules, name, module)
    for net in ("E", "G"):
        save_whole_module(getattr(authors, net), tmp_path / "released" / f"cifar10_{net.lower()}.pth",
                          "pytorch-0.2", monkeypatch)
    for name in age.upstream(clone):
        monkeypatch.delitem(sys.modules, name)

    # the files are verified against their pinned git blob SHA-1 before loading: pin these
    pinned = {net: age_weights.git_blob_sha1(tmp_path / "released" / f"cifar10_{net.lower()}.pth")
              for net in ("E", "G")}
    for net, blob in pinned.items():
        monkeypatch.setitem(age_weights.RELEASED["cifar10"]["files"][net], "git_blob_sha1", blob)

    # through the command line, as the workflow runs it (issue 11): the CLI must reach AGE's own
    # train; the generic loop would train 2 steps from scratch and write no pretrained.json
    (tmp_path / "age.yaml").write_text(config.dump(plain))
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "age.yaml"), "--out", str(run), "--set", "model.pretrained=true"]) == 0
    state = checkpoint.load(run / CHECKPOINT)
    assert state["step"] == 0 and set(state) >= {"step", "model", "optimizers", "rng", "config"}
    record = json.loads((run / "pretrained.json").read_text())
    for net in ("E", "G"):
        path = tmp_path / "released" / f"cifar10_{net.lower()}.pth"
        assert record["files"][net]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert record["files"][net]["git_blob_sha1"] == pinned[net] and record["files"][net]["verified"]
    for key, value in authors.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(state["model"][key], value), key
    samples, recons = export_run(run, seed=1)
    assert samples.is_file() and recons.is_file()

    entry = age_weights.RELEASED["cifar10"]["files"]["E"]          # a pinned checksum is verified
    monkeypatch.setitem(entry, "git_blob_sha1", "0" * 40)
    with pytest.raises(UserError, match="git blob SHA-1 .*expected 0{40}.*model.pretrained_sha_check=false"):
        get_adapter("age").train(cfg, tmp_path / "run2")
    assert not (tmp_path / "run2" / CHECKPOINT).exists()
    # overridden knowingly: loads, and the record says the file was not the pinned one
    unchecked = config.from_dict(config.apply_overrides(cfg.to_dict(), ["model.pretrained_sha_check=false"]))
    get_adapter("age").train(unchecked, tmp_path / "run3")
    record = json.loads((tmp_path / "run3" / "pretrained.json").read_text())
    assert record["files"]["E"]["verified"] is False and record["files"]["G"]["verified"] is True


def test_pretrained_mode_refuses_a_config_unlike_the_released_networks(clone, tmp_path):
    cfg = age_config("model.pretrained=true", f"model.pretrained_path={tmp_path}")
    with pytest.raises(UserError, match="model.latent_dim = 128"):
        get_adapter("age").train(cfg, tmp_path / "run")


def test_pretrained_mode_with_net_auto_checks_the_resolved_network(clone, tmp_path):
    """net auto (the paper preset) is dcgan64px at 64 px: the released 32-px networks are refused."""
    released = [f"model.{k}={v}" for k, v in age_weights.RELEASED["cifar10"]["model"].items()]
    cfg = age_config("model.pretrained=true", f"model.pretrained_path={tmp_path}", *released,
                     "model.net=auto", "data.image_size=64")
    with pytest.raises(UserError, match="model.net = 'dcgan32px'.*'auto' \\(here: dcgan64px\\)"):
        get_adapter("age").train(cfg, tmp_path / "run")


def test_learning_rate_halves_after_the_drop_steps(clone, tmp_path):
    cfg = age_config("model.lr_drop_steps=[1]", "train.steps=2")
    run = train(cfg, tmp_path / "run")
    state = checkpoint.load(run / CHECKPOINT)
    assert int(state["model"]["step"]) == 2
    for name in ("E", "G"):
        assert state["optimizers"][name]["param_groups"][0]["lr"] == pytest.approx(1e-4)


def test_resume_is_exact(clone, tmp_path):
    train(age_config("train.steps=3"), tmp_path / "whole")
    train(age_config("train.steps=2"), tmp_path / "split")
    train(age_config("train.steps=3"), tmp_path / "split", resume=True)
    assert_same_run(tmp_path / "whole", tmp_path / "split", step=3)
