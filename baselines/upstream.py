"""Upstream code: a repository pinned to a commit (:class:`GitSource`) and an isolated import of
its modules (:func:`import_isolated`), for adapters that run the authors' own code (kind
"upstream") and for the provenance of ports.
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
        # untracked files count: a .py dropped into the clone would be imported like upstream code
        if repo.is_dirty(untracked_files=True):
            raise SourceError(f"{dest} has local changes (edited or untracked files); the harness "
                              "never edits upstream code: delete the folder to re-clone it")
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
