"""AGE's released weights (the paper's AGE row): download, checksum, a safe loader for their
Python-2 pickles, and a run folder holding them as a step-0 checkpoint.

Pretrained mode (``model.pretrained: true``): instead of training, ``ijae train`` loads the
released CIFAR-10 encoder and generator (``download_pretrained.sh``: ``cifar10_e.pth``,
``cifar10_g.pth``) into freshly built dcgan32px networks and writes a step-0 checkpoint, so
``ijae export`` / ``evaluate`` work as for any run. The files are looked up in
``model.pretrained_path`` (a folder holding them, for offline machines), else in
``<work>/cache/age-pretrained/``, else downloaded there from the URLs below. They are
Python-2 / PyTorch-0.2 pickles of whole modules; :func:`load_released` unpickles them with every
``torch.nn`` and upstream class replaced by an inert stub (nothing of the file is executed
beyond a fixed list of tensor-rebuilding functions) and copies the tensors into the fresh
networks by name, checking every name and shape. Checksums: the authors published none and the
files could not be downloaded when this adapter was written, so ``RELEASED[...]["sha256"]`` is
None: each run records the sha256 of the files it loaded in ``RUN/pretrained.json``; pin that
value here once it has been checked, after which every load verifies it.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import sys
import types
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from ijae import UserError, work_dir

# download_pretrained.sh at the pinned commit (the files live in the author's web-site repository).
_RELEASED_BASE = ("https://github.com/DmitryUlyanov/dmitryulyanov.github.io/blob/master/assets/age/"
                  "pretrained/")
RELEASED = {
    "cifar10": {
        # the network these files hold (README's CIFAR-10 command: --nz 128, default ngf/ndf 64)
        "model": {"net": "dcgan32px", "latent_dim": 128, "ngf": 64, "ndf": 64, "noise": "sphere"},
        "files": {
            "E": {"file": "cifar10_e.pth", "url": _RELEASED_BASE + "cifar10_e.pth?raw=true",
                  "sha256": None},  # unknown until first download: see RUN/pretrained.json
            "G": {"file": "cifar10_g.pth", "url": _RELEASED_BASE + "cifar10_g.pth?raw=true",
                  "sha256": None},
        },
    },
}


class _Stub:
    """Stands in for a class of a pickled whole module (torch.nn's or the clone's)."""

    dump_patches = False  # read by torch.load's source check of pickled nn.Module classes

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state = {**(state[0] or {}), **(state[1] or {})}  # (dict, slots)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._state = state


class _StubParameter:
    """PyTorch <= 0.3 pickled a Parameter as Parameter(data) plus (requires_grad, volatile, hooks)."""

    def __init__(self, data=None, requires_grad=True):
        self.data = data

    def __setstate__(self, state):
        pass


_STUBS: dict[tuple[str, str], type] = {}
_ALLOWED = {("torch._utils", n) for n in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
                                          "_rebuild_parameter_with_state")}
_ALLOWED |= {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"),
             ("builtins", "object"), ("copyreg", "_reconstructor"), ("torch", "Size")}
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


def _stub_class(module: str, name: str) -> type:
    if (module, name) not in _STUBS:
        _STUBS[module, name] = type(name, (_Stub,), {"__module__": module, "__qualname__": name})
    return _STUBS[module, name]


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        if (module, name) in (("torch.nn.parameter", "Parameter"), ("torch.autograd.variable", "Variable")):
            return _StubParameter
        if module.startswith("torch.nn.") or module == "models" or module.startswith("models."):
            return _stub_class(module, name)
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a released AGE network")


_PICKLE = types.SimpleNamespace(Unpickler=_Unpickler, load=pickle.load, __name__="age_released_pickle")


def _tensors(obj, prefix: str = "") -> dict[str, torch.Tensor]:
    """name -> tensor of a stub module tree, as nn.Module.state_dict names them."""
    out = {}
    state = getattr(obj, "__dict__", {})
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if isinstance(value, _StubParameter):
                value = value.data
            if isinstance(value, torch.Tensor):
                out[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            out.update(_tensors(child, f"{prefix}{name}."))
    return out


def load_released(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors by state_dict name, info) of a whole-module pickle as AGE released them
    (torch.save(netE) under Python 2 / PyTorch 0.2), without importing anything it names.

    ``info``: the pickled top-level class ("models.base._netE_Base"), and its plain attributes
    (e.g. ``noise``). A plain state dict is accepted too."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # source-change and TypedStorage warnings of old files
        try:
            obj = torch.load(path, map_location="cpu", pickle_module=_PICKLE, weights_only=False,
                             encoding="latin1")
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, OSError) as error:
            raise UserError(f"{path}: not a readable AGE network file ({error})") from error
    if isinstance(obj, dict):  # a state dict
        return {k: v.detach() for k, v in obj.items() if isinstance(v, torch.Tensor)}, {"class": "state_dict"}
    if not isinstance(obj, _Stub):
        raise UserError(f"{path}: expected a pickled AGE network, found {type(obj).__name__}")
    attrs = {k: v for k, v in vars(obj).items() if isinstance(v, (str, int, float, bool)) and not k.startswith("_")}
    return _tensors(obj), {"class": f"{type(obj).__module__}.{type(obj).__name__}", **attrs}


def copy_released(path: str | Path, net: nn.Module) -> dict:
    """Load a released network file into ``net`` by name; every name and shape must match (only
    BatchNorm's num_batches_tracked, which PyTorch 0.2 did not have, may be missing). Returns info."""
    tensors, info = load_released(path)
    target = net.state_dict()
    missing = [k for k in target if k not in tensors and not k.endswith("num_batches_tracked")]
    extra = [k for k in tensors if k not in target]
    wrong = [f"{k} {tuple(tensors[k].shape)} vs {tuple(target[k].shape)}" for k in target
             if k in tensors and tensors[k].shape != target[k].shape]
    if missing or extra or wrong:
        raise UserError(f"{path} does not fit the network built from the config: missing {missing[:5]}, "
                        f"unexpected {extra[:5]}, shapes {wrong[:5]}")
    with torch.no_grad():
        for k, value in target.items():
            if k in tensors:
                value.copy_(tensors[k].to(value.dtype))
    return info


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def released_file(m, net: str) -> tuple[Path, dict]:
    """(local path, RELEASED entry) of the released E or G, downloading it if needed."""
    entry = RELEASED[m.pretrained_set]["files"][net]
    if m.pretrained_path:
        path = Path(m.pretrained_path) / entry["file"]
        if not path.is_file():
            raise UserError(f"config key model.pretrained_path = {m.pretrained_path}: no {entry['file']} "
                            f"there (download_pretrained.sh's file, from {entry['url']})")
        return path, entry
    path = work_dir() / "cache" / "age-pretrained" / entry["file"]
    if not path.is_file():
        import urllib.request

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        try:
            with urllib.request.urlopen(entry["url"], timeout=60) as response, open(tmp, "wb") as out:
                while block := response.read(1 << 20):
                    out.write(block)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise UserError(f"cannot download {entry['url']} ({error}); offline? put {entry['file']} "
                            "in a folder and set config key model.pretrained_path to it") from error
        tmp.replace(path)
    return path, entry


def load_pretrained(model: nn.Module, m) -> dict:
    """Copy the released E and G into ``model`` (an AGE; ``m`` its AGEConfig); verify pinned checksums; return the record."""
    want = RELEASED[m.pretrained_set]["model"]
    for key, value in want.items():
        if getattr(m, key) != value:
            raise UserError(f"model.pretrained: the released {m.pretrained_set} networks need "
                            f"model.{key} = {value!r}, the config has {getattr(m, key)!r}")
    record = {"set": m.pretrained_set, "files": {}}
    for name in ("E", "G"):
        path, entry = released_file(m, name)
        digest = sha256(path)
        if entry["sha256"] is not None and digest != entry["sha256"]:
            raise UserError(f"{path}: sha256 {digest}, expected {entry['sha256']} (the pinned checksum "
                            f"of {entry['url']}); delete it to download it again")
        info = copy_released(path, getattr(model, name))
        if "noise" in info and info["noise"] != m.noise:
            raise UserError(f"{path}: trained with noise {info['noise']!r}, config model.noise = {m.noise!r}")
        record["files"][name] = {"path": str(path), "url": entry["url"], "sha256": digest,
                                 "sha256_pinned": entry["sha256"], "class": info["class"]}
    return record


def write_pretrained_run(adapter, cfg, run: Path, resume: bool) -> Path:
    """A run folder (of the AGE ``adapter``) holding the released weights as a step-0 checkpoint (no training)."""
    from ijae import checkpoint, config as config_mod
    from ijae.contract import CHECKPOINT, CONFIG, atomic_write_text
    from ijae.data import image_size

    if (run / CHECKPOINT).is_file():
        if not resume:
            raise UserError(f"{run} already holds a checkpoint; pass --resume to continue it, "
                            "or choose another --out")
        print(f"ijae train: {run} already holds the released AGE weights", file=sys.stderr)
        return run
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = adapter.build(cfg, image_size(cfg.data))
    record = load_pretrained(model, cfg.model)
    optimizers = model.make_optimizers(cfg.train)
    atomic_write_text(run / CONFIG, config_mod.dump(cfg))
    atomic_write_text(run / "pretrained.json", json.dumps(record, indent=2) + "\n")
    checkpoint.save(run / CHECKPOINT, step=0, model=model.state_dict(),
                    optimizers={n: o.state_dict() for n, o in optimizers.items()},
                    rng=checkpoint.rng_state(torch.Generator().manual_seed(cfg.seed + 1)),
                    config=cfg.to_dict())
    return run
