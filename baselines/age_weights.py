"""AGE's released weights (the paper's AGE row): download, verification, a safe loader for their
Python-2 pickles, and a run folder holding them as a step-0 checkpoint.

Pretrained mode (``model.pretrained: true``): instead of training, ``ijae train`` loads the
released CIFAR-10 encoder and generator (``download_pretrained.sh``: ``cifar10_e.pth``,
``cifar10_g.pth``) into freshly built dcgan32px networks and writes a step-0 checkpoint, so
``ijae export`` / ``evaluate`` work as for any run. The files are looked up in
``model.pretrained_path`` (a folder holding them, for offline machines), else in
``<work>/cache/age-pretrained/``, else downloaded there from the URLs below.

Nothing of a downloaded file is executed. The files are Python-2 / PyTorch-0.2 pickles of whole
modules in torch's legacy (pre-zip) format; :func:`load_released` reads every pickle in them (the
legacy format's header records included) through :class:`_Unpickler`, whose ``find_class``
resolves only a fixed list of tensor-rebuilding functions and containers, turns every
``torch.nn`` and upstream class into an inert stub, and refuses any other global. Zip-format files
go through ``torch.load(weights_only=True)`` (plain state dicts), and only whole-module zip
pickles, which that refuses, through the same allow-listed unpickler. The tensors are then copied
into the fresh networks by name, checking every name and shape.

Pinned files: the URLs name the commit of the author's site repository
(github.com/DmitryUlyanov/dmitryulyanov.github.io, 87a569b "add age checkpoints", 2017) that
added the files, not a moving branch, and each file's *git blob SHA-1* is pinned and checked
before the file is unpickled. Why a git blob SHA-1 and not a sha256: the authors published no
checksum, and the site repository's history (its trees, readable offline from a clone without
the large blobs) is the only public record of the files' content; git names every file by
``sha1(b"blob <size>\\0" + content)``, which anyone can recompute from the file (``git
hash-object FILE``). A mismatch is an error; to load other files knowingly, set
``model.pretrained_sha_check: false`` (``--set model.pretrained_sha_check=false``), which the
run's config.yaml and ``pretrained.json`` record. Each run also records the sha256 of the files
it loaded in ``RUN/pretrained.json``.
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

from ijae import UserError, cache_dir

# The commit of the author's site repository that added the released files (download_pretrained.sh
# fetches them from there); raw/<commit>/ URLs serve exactly those files.
RELEASED_COMMIT = "87a569b21b2406d77c3a5cb8d62eae09bbe6b76f"
_RELEASED_BASE = ("https://github.com/DmitryUlyanov/dmitryulyanov.github.io/raw/"
                  f"{RELEASED_COMMIT}/assets/age/pretrained/")
RELEASED = {
    "cifar10": {
        # the network these files hold (README's CIFAR-10 command: --nz 128, default ngf/ndf 64)
        "model": {"net": "dcgan32px", "latent_dim": 128, "ngf": 64, "ndf": 64, "noise": "sphere"},
        "files": {  # git blob SHA-1s: `git ls-tree <commit> assets/age/pretrained` of the site repo
            "E": {"file": "cifar10_e.pth", "url": _RELEASED_BASE + "cifar10_e.pth",
                  "git_blob_sha1": "cfcab7b207940df4ef9815e11f92f17c425a485e"},
            "G": {"file": "cifar10_g.pth", "url": _RELEASED_BASE + "cifar10_g.pth",
                  "git_blob_sha1": "00f5c55d297d378375c6dc74b15efaffbef31cd9"},
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


def _restricted_load(file, **kwargs):
    """``pickle.load`` through the allow-listed unpickler: torch's legacy format reads its header
    records (magic number, version, storage keys) with ``pickle_module.load``, not ``Unpickler``."""
    return _Unpickler(file, **kwargs).load()


_PICKLE = types.SimpleNamespace(Unpickler=_Unpickler, load=_restricted_load, __name__="age_released_pickle")


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
            obj = _restricted_torch_load(path)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, OSError,
                TypeError, AttributeError, IndexError) as error:
            raise UserError(f"{path}: not a readable AGE network file, or one that names code outside "
                            f"the loader's allow-list ({' '.join(str(error).split())[:300]})") from None
    if isinstance(obj, dict):  # a state dict
        return {k: v.detach() for k, v in obj.items() if isinstance(v, torch.Tensor)}, {"class": "state_dict"}
    if not isinstance(obj, _Stub):
        raise UserError(f"{path}: expected a pickled AGE network, found {type(obj).__name__}")
    attrs = {k: v for k, v in vars(obj).items() if isinstance(v, (str, int, float, bool)) and not k.startswith("_")}
    return _tensors(obj), {"class": f"{type(obj).__module__}.{type(obj).__name__}", **attrs}


def _restricted_torch_load(path: Path):
    """torch.load without running code from the file (see the module docstring)."""
    with open(path, "rb") as handle:
        is_zip = handle.read(4) == b"PK\x03\x04"
    if is_zip:
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            pass  # a whole-module pickle (nn classes): the allow-listed unpickler below, stubbing them
    return torch.load(path, map_location="cpu", pickle_module=_PICKLE, weights_only=False,
                      encoding="latin1")


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


def _hexdigest(path: Path, digest) -> str:
    """``digest`` (a hashlib object) updated with the file's bytes, in 1 MiB blocks."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    return _hexdigest(path, hashlib.sha256())


def git_blob_sha1(path: Path) -> str:
    """The name git gives the file's content (``git hash-object``): sha1 of b"blob <size>\\0" + content."""
    return _hexdigest(path, hashlib.sha1(b"blob %d\0" % Path(path).stat().st_size))


def verify_released(path: Path, entry: dict, check: bool) -> str:
    """``path``'s git blob SHA-1, which must be the pinned one unless ``check`` is off."""
    digest = git_blob_sha1(path)
    if check and digest != entry["git_blob_sha1"]:
        raise UserError(f"{path}: git blob SHA-1 {digest}, expected {entry['git_blob_sha1']} (the file "
                        f"published at {entry['url']}); delete it to download it again, or, to load "
                        "this file anyway, set --set model.pretrained_sha_check=false")
    return digest


def released_file(m, net: str) -> tuple[Path, dict]:
    """(local path, RELEASED entry) of the released E or G, downloading it if needed."""
    entry = RELEASED[m.pretrained_set]["files"][net]
    if m.pretrained_path:
        path = Path(m.pretrained_path) / entry["file"]
        if not path.is_file():
            raise UserError(f"config key model.pretrained_path = {m.pretrained_path}: no {entry['file']} "
                            f"there (download_pretrained.sh's file, from {entry['url']})")
        return path, entry
    path = cache_dir() / "age-pretrained" / entry["file"]
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
    """Copy the released E and G into ``model`` (an AGE; ``m`` its AGEConfig), each verified against
    its pinned git blob SHA-1 first (unless m.pretrained_sha_check is off); return the record."""
    want = RELEASED[m.pretrained_set]["model"]
    for key, value in want.items():
        have = model.net if key == "net" else getattr(m, key)   # net: as resolved (auto)
        if have != value:
            raise UserError(f"model.pretrained: the released {m.pretrained_set} networks need "
                            f"model.{key} = {value!r}, the config has {getattr(m, key)!r}"
                            + (f" (here: {have})" if have != getattr(m, key) else ""))
    record = {"set": m.pretrained_set, "files": {}}
    for name in ("E", "G"):
        path, entry = released_file(m, name)
        blob = verify_released(path, entry, m.pretrained_sha_check)  # before anything is unpickled
        info = copy_released(path, getattr(model, name))
        if "noise" in info and info["noise"] != m.noise:
            raise UserError(f"{path}: trained with noise {info['noise']!r}, config model.noise = {m.noise!r}")
        record["files"][name] = {"path": str(path), "url": entry["url"], "sha256": sha256(path),
                                 "git_blob_sha1": blob, "git_blob_sha1_pinned": entry["git_blob_sha1"],
                                 "verified": blob == entry["git_blob_sha1"], "class": info["class"]}
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
