"""GitSource: clone at a pinned commit, reuse, fetch only when needed, local mirrors, clear errors."""
import sys
from types import SimpleNamespace

import git
import pytest

from baselines.upstream import GitSource, SourceError, import_isolated

ENV = "IJAE_SOURCE_TESTPROJ"
ACTOR = git.Actor("test", "test@example.com")


def commit(repo, path, text: str) -> str:
    (path / "mod.py").write_text(text)
    repo.index.add(["mod.py"])
    return repo.index.commit(text.strip(), author=ACTOR, committer=ACTOR).hexsha


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """A repository with two commits; the work folder in tmp_path; no mirror override set."""
    path = tmp_path / "remote" / "owner" / "proj"
    path.mkdir(parents=True)
    repo = git.Repo.init(path)
    first, second = commit(repo, path, "VALUE = 1\n"), commit(repo, path, "VALUE = 2\n")
    monkeypatch.setenv("IJAE_WORK", str(tmp_path / "work"))
    monkeypatch.delenv(ENV, raising=False)
    return SimpleNamespace(path=path, repo=repo, first=first, second=second, work=tmp_path / "work")


def source(url, sha) -> GitSource:
    return GitSource(str(url), sha, env=ENV)


def no_clone(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("cloned again")
    monkeypatch.setattr(git.Repo, "clone_from", refuse)


def test_clones_into_the_work_folder_and_pins_the_commit(upstream):
    dest = source(upstream.path, upstream.first).checkout()
    assert dest == upstream.work / "src" / "owner+proj"
    clone = git.Repo(dest)
    assert clone.head.is_detached and clone.head.commit.hexsha == upstream.first
    assert (dest / "mod.py").read_text() == "VALUE = 1\n"  # not the newer commit


def test_a_second_checkout_reuses_the_clone(upstream, monkeypatch):
    dest = source(upstream.path, upstream.first).checkout()
    marker = dest / ".git" / "ijae-test-marker"
    marker.write_text("kept")
    inode = (dest / ".git").stat().st_ino
    no_clone(monkeypatch)
    assert source(upstream.path, upstream.first).checkout() == dest
    assert marker.read_text() == "kept" and (dest / ".git").stat().st_ino == inode
    # another pinned commit the clone already holds: checked out, still no clone
    assert source(upstream.path, upstream.second).checkout() == dest
    assert git.Repo(dest).head.commit.hexsha == upstream.second and marker.exists()


def test_fetches_only_when_the_clone_lacks_the_commit(upstream, monkeypatch):
    dest = source(upstream.path, upstream.second).checkout()
    third = commit(upstream.repo, upstream.path, "VALUE = 3\n")
    no_clone(monkeypatch)
    assert source(upstream.path, third).checkout() == dest
    assert git.Repo(dest).head.commit.hexsha == third and (dest / "mod.py").read_text() == "VALUE = 3\n"


def test_a_commit_that_does_not_exist_is_refused(upstream):
    missing = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(SourceError, match=f"commit {missing} does not exist in {upstream.path}"):
        source(upstream.path, missing).checkout()
    assert not (upstream.work / "src" / "owner+proj").exists()  # no half-made clone is left behind


@pytest.mark.parametrize("how", ["env", "config"])
def test_clones_from_a_local_mirror_instead_of_the_url(upstream, monkeypatch, tmp_path, how):
    bare = tmp_path / "mirror.git"
    git.Repo.clone_from(upstream.path, bare, bare=True)
    url = "http://127.0.0.1:9/owner/proj"  # unreachable: only the mirror can serve it
    cfg = SimpleNamespace(model=SimpleNamespace(source_path=str(bare) if how == "config" else None))
    if how == "env":
        monkeypatch.setenv(ENV, str(bare))
    src = source(url, upstream.first)
    assert src.unavailable_reason(cfg) is None
    dest = src.checkout(cfg)
    assert git.Repo(dest).head.commit.hexsha == upstream.first


def test_a_mirror_without_the_commit_is_an_error_naming_it(upstream, monkeypatch, tmp_path):
    bare = tmp_path / "old-mirror.git"
    git.Repo.clone_from(upstream.path, bare, bare=True)
    newer = commit(upstream.repo, upstream.path, "VALUE = 3\n")
    monkeypatch.setenv(ENV, str(bare))
    with pytest.raises(SourceError, match=f"mirror {bare} .*lacks commit {newer}"):
        source("https://example.invalid/owner/proj", newer).checkout()


@pytest.mark.parametrize("url", ["file:///nonexistent/ijae-test/owner/proj", "http://127.0.0.1:9/owner/proj"])
def test_unreachable_url_names_the_url_and_the_overrides(upstream, url):
    src = source(url, upstream.first)
    reason = src.unavailable_reason()
    assert url in reason and ENV in reason and "model.source_path" in reason
    with pytest.raises(SourceError) as error:
        src.checkout()
    message = str(error.value)
    assert url in message and ENV in message and "model.source_path" in message


def test_unavailable_reason_sees_an_existing_clone_without_the_network(upstream):
    src = source("http://127.0.0.1:9/owner/proj", upstream.first)
    assert src.unavailable_reason() is not None
    source(upstream.path, upstream.first).checkout()  # same owner+name: the clone lands where src looks
    assert src.unavailable_reason() is None


def test_a_mirror_path_that_does_not_exist_is_named(upstream, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    src = source(upstream.path, upstream.first)
    assert "nowhere" in src.unavailable_reason()
    with pytest.raises(SourceError, match="nowhere"):
        src.checkout()


def test_a_clone_with_local_edits_is_refused(upstream):
    dest = source(upstream.path, upstream.first).checkout()
    (dest / "mod.py").write_text("VALUE = 'edited'\n")
    with pytest.raises(SourceError, match="local changes"):
        source(upstream.path, upstream.first).checkout()


@pytest.mark.parametrize("name", ["injected.py", "pkg/__init__.py"])
def test_a_clone_with_an_untracked_file_is_refused(upstream, name):
    dest = source(upstream.path, upstream.first).checkout()
    (dest / name).parent.mkdir(exist_ok=True)
    (dest / name).write_text("import os; os.system('echo imported')\n")  # would run on import
    with pytest.raises(SourceError, match="untracked"):
        source(upstream.path, upstream.first).checkout()


def test_import_isolated_sets_generic_top_level_names_aside(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "net.py").write_text("from models import helper\nWIDTH = helper.W\n")
    (tmp_path / "models" / "helper.py").write_text("W = 7\n")
    sentinel = SimpleNamespace()
    monkeypatch.setitem(sys.modules, "models", sentinel)
    mods = import_isolated(tmp_path, "models.net")
    assert mods["models.net"].WIDTH == 7 and "models.helper" in mods
    assert sys.modules["models"] is sentinel and "models.net" not in sys.modules
    assert str(tmp_path) not in sys.path
    assert not list(tmp_path.rglob("__pycache__"))  # nothing written into the clone
