"""The adapter protocol: how a method (lambda-IJAE or a baseline) plugs into the harness.

An adapter names a method, says where its code comes from, and turns a config into a trainable
model (the protocol of ijae/train.py). Training, checkpoints, resume and export are then the
harness's own, so every model ends in the same artifact files (ijae/contract.py). An adapter
whose method does not fit a step loop (e.g. loading released weights) overrides ``train``.

    kind "native"            this project's own method (lambda-IJAE)
    kind "upstream"          the authors' code, cloned at a pinned commit and imported at run time
    kind "port"              a re-implementation of released code (labelled as such in tables)
    kind "port (from paper)" a re-implementation from the paper alone (no public code)
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from ijae import UserError, work_dir
from ijae.config import IJAEConfig, register_model_config

KINDS = ("native", "upstream", "port", "port (from paper)")
SOURCE_KEY = "model.source_path"    # config key of an upstream adapter's local mirror


class SourceError(UserError, RuntimeError):
    """Upstream code cannot be had: the message names the URL, the commit and the overrides."""


class GitSource:
    """An upstream repository pinned to a commit, cloned with GitPython into the work folder.

    ``checkout(cfg)`` returns the clone's folder (default ``work/src/<owner>+<name>``), with the
    pinned commit checked out (detached HEAD, verified). A clone that exists is reused: nothing is
    fetched unless it lacks the commit. For offline machines a local mirror (a clone or a bare
    repository holding the commit) replaces the URL: config key ``model.source_path`` or env
    ``env`` (e.g. IJAE_SOURCE_AGE), the config key first. The clone's files are never edited;
    compatibility shims live in the adapters and patch imported modules in memory only.
    """

    def __init__(self, url: str, commit: str, env: str | None = None):
        parts = [p for p in re.split(r"[/:]", str(url)) if p]
        if len(parts) < 2:
            raise ValueError(f"GitSource: cannot read owner/name from URL {url!r}")
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise ValueError(f"GitSource: commit {commit!r} is not a full 40-hex-digit SHA-1")
        self.url, self.commit = str(url), commit
        self.owner, self.repo_name = parts[-2], re.sub(r"\.git$", "", parts[-1])
        self.slug = f"{self.owner}+{self.repo_name}"
        self.env = env or "IJAE_SOURCE_" + re.sub(r"\W", "_", self.repo_name).upper()

    def __repr__(self) -> str:
        return f"GitSource({self.url!r}, {self.commit!r})"

    def clone_dir(self) -> Path:
        return work_dir() / "src" / self.slug

    def mirror(self, cfg=None) -> tuple[str, str] | None:
        """(path, where it was set) of a local mirror override, or None."""
        path = getattr(getattr(cfg, "model", None), "source_path", None) if cfg is not None else None
        if path:
            return str(path), SOURCE_KEY
        path = os.environ.get(self.env)
        return (path, f"env {self.env}") if path else None

    def _overrides(self) -> str:
        return f"set env {self.env}=/path/to/clone-or-bare-repo or config key {SOURCE_KEY}"

    def unavailable_reason(self, cfg=None) -> str | None:
        """Why no checkout can be had without the network (None: a clone or a mirror is here).

        Never touches the network: a run may still clone from the URL when this returns a reason."""
        mirror = self.mirror(cfg)
        if mirror is not None:
            path, where = mirror
            return None if Path(path).exists() else f"{where} = {path} does not exist"
        if (self.clone_dir() / ".git").exists():
            return None
        return (f"needs a clone of {self.url} at {self.commit} (none in {self.clone_dir()}): "
                f"{self._overrides()}, or run once with network access")

    def checkout(self, cfg=None) -> Path:
        """The clone's folder at the pinned commit (cloning or fetching only when needed)."""
        import git

        dest = self.clone_dir()
        mirror = self.mirror(cfg)
        origin = mirror[0] if mirror else self.url
        if mirror and not Path(origin).exists():
            raise SourceError(f"{mirror[1]} = {origin}: no such folder (a clone or bare repository "
                              f"of {self.url} holding commit {self.commit})")
        if not (dest / ".git").exists():
            self._clone(origin, dest, mirror)
        try:
            repo = git.Repo(dest)
        except git.exc.GitError as error:
            raise SourceError(f"{dest} is not a usable git clone ({error}); delete it to re-clone "
                              f"{self.url}") from error
        if not self._has_commit(repo):
            self._fetch(repo, origin, mirror)
        if repo.is_dirty():
            raise SourceError(f"{dest} has local changes to tracked files; the harness never edits "
                              "upstream code: delete the folder to re-clone it")
        if not (repo.head.is_detached and repo.head.commit.hexsha == self.commit):
            repo.git.checkout("--detach", self.commit)
        head = repo.head.commit.hexsha
        if head != self.commit:
            raise SourceError(f"{dest}: HEAD is {head} after checkout, expected {self.commit}")
        repo.close()
        return dest

    def _has_commit(self, repo) -> bool:
        import git

        try:
            return repo.commit(self.commit).hexsha == self.commit
        except (git.exc.GitError, ValueError):
            return False

    def _missing(self, origin: str, mirror) -> SourceError:
        if mirror:
            return SourceError(f"the local mirror {origin} ({mirror[1]}) lacks commit {self.commit} "
                               f"of {self.url}: update the mirror or point it at one that has it")
        return SourceError(f"commit {self.commit} does not exist in {self.url} (or is not reachable "
                           "from its branches and tags)")

    def _unreachable(self, origin: str, mirror, error) -> SourceError:
        lines = [ln.strip().strip("'") for ln in str(getattr(error, "stderr", "") or "").splitlines()]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        detail = fatal[-1] if fatal else f"git exit status {getattr(error, 'status', '?')}"
        if mirror:
            return SourceError(f"cannot read the local mirror {origin} ({mirror[1]}): {detail}")
        return SourceError(f"cannot reach {self.url} ({detail}); offline? {self._overrides()} "
                           f"(a clone holding commit {self.commit})")

    def _clone(self, origin: str, dest: Path, mirror) -> None:
        import git

        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"  # renamed when complete
        try:
            try:
                repo = git.Repo.clone_from(origin, tmp, no_checkout=True, env=_GIT_ENV)
            except git.exc.GitCommandError as error:
                raise self._unreachable(origin, mirror, error) from error
            if not self._has_commit(repo):
                self._fetch(repo, origin, mirror)
            repo.git.checkout("--detach", self.commit)
            repo.close()
            try:
                tmp.rename(dest)
            except OSError:
                if not (dest / ".git").exists():  # else another process cloned it meanwhile
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _fetch(self, repo, origin: str, mirror) -> None:
        import git

        try:
            repo.git.fetch(origin, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*",
                           env=_GIT_ENV)
        except git.exc.GitCommandError as error:
            raise self._unreachable(origin, mirror, error) from error
        if not self._has_commit(repo):  # a commit that no branch or tag holds any more
            with contextlib.suppress(git.exc.GitCommandError):
                repo.git.fetch(origin, self.commit, env=_GIT_ENV)
        if not self._has_commit(repo):
            raise self._missing(origin, mirror)


_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}  # fail instead of asking for credentials


@contextlib.contextmanager
def _no_bytecode():
    previous = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # never write __pycache__ into an upstream clone
    try:
        yield
    finally:
        sys.dont_write_bytecode = previous


def import_isolated(root: str | Path, *names: str) -> dict:
    """Import modules ``names`` (e.g. "models.dcgan32px") from an upstream clone at ``root``.

    Upstream repositories use generic top-level names (``models``, ``src``), so the import runs
    with ``root`` first on sys.path and any modules of those names set aside; afterwards the
    clone's modules are removed from sys.modules again and the previous ones restored. Returns
    every module imported under those top-level names, by dotted name (already-bound references
    between them keep working; upstream code that imports lazily at call time will not)."""
    import importlib

    root = str(Path(root).resolve())
    tops = {n.split(".")[0] for n in names}

    def ours(key: str) -> bool:
        return key.split(".")[0] in tops

    saved = {k: m for k, m in sys.modules.items() if ours(k)}
    for key in saved:
        del sys.modules[key]
    sys.path.insert(0, root)
    loaded: dict = {}
    try:
        with _no_bytecode():
            for name in names:
                importlib.import_module(name)
        loaded = {k: m for k, m in sys.modules.items() if ours(k)}
    finally:
        for key in [k for k in sys.modules if ours(k)]:
            del sys.modules[key]
        sys.modules.update(saved)
        with contextlib.suppress(ValueError):
            sys.path.remove(root)
        importlib.invalidate_caches()
    return loaded


class Adapter:
    name: str = ""                # model.name in configs, --model on the command line
    label: str = ""               # the row label in Table 1
    kind: str = "port"
    source = None                 # a GitSource for kind "upstream" (and ports of released code)
    config_class: type = IJAEConfig
    architecture: str = ""        # one line: which networks it uses (shown by `ijae models`)

    def presets(self, profile: str) -> dict:
        """Config sections for a profile ("default" or "paper"): {"model": {...}, "train": {...}}.

        Used when a profile's config is trained with ``--model NAME``: the model section is
        replaced by this one, other sections are updated with it."""
        return {}

    def unavailable_reason(self, cfg=None) -> str | None:
        """Why this adapter cannot run here, or None. Tests skip with this reason. An upstream
        adapter needs its code: a clone in the work folder or a local mirror (never the network)."""
        if self.kind == "upstream" and self.source is not None:
            return self.source.unavailable_reason(cfg)
        return None

    def build(self, cfg, image_size: int):
        """A trainable model (see ijae/train.py) for the run config ``cfg``."""
        raise NotImplementedError(f"adapter {self.name} does not build a trainable model")

    def train(self, cfg, run: Path, resume: bool = False) -> Path:
        from ijae.train import train

        return train(cfg, run, resume=resume)


REGISTRY: dict[str, Adapter] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    """Class decorator: instantiate and register an adapter and its model config section."""
    adapter = cls()
    if adapter.kind not in KINDS:
        raise ValueError(f"adapter {adapter.name}: kind {adapter.kind!r}, expected one of {KINDS}")
    REGISTRY[adapter.name] = adapter
    register_model_config(adapter.name, adapter.config_class)
    return cls


def get_adapter(name: str) -> Adapter:
    import baselines  # noqa: F401  (importing the package registers every adapter)

    if name not in REGISTRY:
        raise UserError(f"model {name!r} is not registered; expected one of {sorted(REGISTRY)} "
                        "(`ijae models` lists them)")
    return REGISTRY[name]


def all_adapters() -> list[Adapter]:
    import baselines  # noqa: F401

    return list(REGISTRY.values())


@register
class IJAEAdapter(Adapter):
    name = "ijae"
    label = "λ-IJAE"
    kind = "native"
    config_class = IJAEConfig
    architecture = "Appendix D ResNets: G, implicit E, D_psi, D_tau, D_zeta"

    def build(self, cfg, image_size: int):
        from ijae.model import IJAE

        return IJAE(cfg.model, image_size)
