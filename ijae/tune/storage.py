"""Where studies live: Optuna's journal file (default: one per profile in the work folder; safe
for several processes on one file system, file-locked by Optuna) or an RDB URL
(``sqlite:///...``, ``postgresql://...``) for a cluster whose jobs share a database.

    optuna-dashboard work/tune/default/optuna.journal     # every study of the profile, live

A journal Optuna cannot read (a line that is not JSON in the middle of it) is one line naming
the file. A last line cut short by a kill is not corruption: Optuna skips it.
"""
from __future__ import annotations

from pathlib import Path

from ijae import UserError, work_dir

JOURNAL = "optuna.journal"


class StorageError(UserError, RuntimeError):
    """A study storage cannot be opened or read; the message names it."""


def default_journal(profile: str) -> Path:
    """``<work>/tune/<profile>/optuna.journal``."""
    return work_dir() / "tune" / profile / JOURNAL


def is_url(spec: str | Path) -> bool:
    return "://" in str(spec)


def open_storage(spec: str | Path):
    """An Optuna storage from a journal file path or an RDB URL."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if is_url(spec):
        try:
            return optuna.storages.RDBStorage(str(spec))
        except Exception as error:   # a bad URL, a missing driver, a refused connection
            raise StorageError(f"study storage {spec}: cannot be opened ({type(error).__name__}: "
                               f"{' '.join(str(error).split())[:200]})") from None
    path = Path(spec)
    if path.is_dir():
        raise StorageError(f"study storage {path} is a folder; expected a journal file path "
                           f"(e.g. {path / JOURNAL}) or an RDB URL")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    except Exception as error:
        raise corrupt(path, error) from None


def corrupt(path: Path, error: Exception) -> StorageError:
    return StorageError(f"optuna journal {path} cannot be read ({type(error).__name__}: "
                        f"{' '.join(str(error).split())[:160]}); it is corrupt: move it aside "
                        "to start its studies anew (their trial folders stay), or restore it")


def read_guard(spec: str | Path):
    """A context manager turning a failed read of the journal ``spec`` into one StorageError."""
    import contextlib
    import json

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            if is_url(spec):
                raise
            raise corrupt(Path(spec), error) from None

    return guard()
