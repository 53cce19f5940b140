"""One process at a time per run folder: an exclusive ``flock`` on ``RUN/.lock``.

Train, export and evaluate hold it for their whole run. The OS drops the lock when the holder
exits or is killed, so a SIGKILLed job never leaves a stale lock; the file keeps the last
holder's pid (and command) only to name it in the error a second process gets at once.
Holding the lock also makes it safe to delete this folder's stale temporary files (a write that
was killed before its rename): nobody else can be writing them.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ijae import UserError
from ijae.contract import remove_stale_temps

LOCK = ".lock"


class RunLockedError(UserError, RuntimeError):
    """Another process holds the run folder; the message names its pid."""


@contextlib.contextmanager
def hold(run: str | Path, command: str, create: bool = False, name: str = LOCK):
    """Hold ``run``'s lock for the ``with`` block (``create``: make the folder first); ``name``:
    another lock file of the folder (a tuning trial's, ijae/tune/study.py)."""
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise UserError(f"{run} is a file, not a run folder; choose another path")
    if create:
        run.mkdir(parents=True, exist_ok=True)
    elif not run.is_dir():
        raise UserError(f"run folder {run} does not exist")
    fd = os.open(run / name, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").split()
        os.close(fd)
        who = f"pid {holder[0]} ({' '.join(holder[1:]) or 'ijae'})" if holder else "another process"
        raise RunLockedError(f"{run} is in use by {who}; wait for it to finish or stop it, "
                             "then run this again") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} ijae {command}\n".encode(), 0)
        remove_stale_temps(run)
        yield run
    finally:
        os.close(fd)  # releases the lock; the file stays (deleting it would race a new holder)


def is_free(run: str | Path, name: str = LOCK) -> bool:
    """Whether no process holds ``run``'s lock ``name`` now (a missing file: free)."""
    path = Path(run) / name
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)   # releases it if taken
    return True


@contextlib.contextmanager
def waiting(path: str | Path):
    """Hold the lock file ``path`` for the ``with`` block, waiting for another holder: short
    critical sections shared by several processes (a study's design and its queue)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)
