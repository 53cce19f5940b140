"""λ-IJAE: the Implicit λ-Jeffreys Autoencoder, and a harness to reproduce and benchmark it."""

import os
from pathlib import Path

__version__ = "0.1.0"
WORK_ENV = "IJAE_WORK"


def work_dir() -> Path:
    """The one work folder every job, clone, cache and dataset follows: env IJAE_WORK, else
    ``work`` under the current folder. The workflow sets IJAE_WORK for every job."""
    return Path(os.environ.get(WORK_ENV) or "work")


def cache_dir() -> Path:
    """Downloaded and trained weights, reference statistics: ``<work>/cache``."""
    return work_dir() / "cache"


def data_dir() -> Path:
    """Datasets (``data.root`` when the config leaves it null): ``<work>/data``."""
    return work_dir() / "data"


class UserError(Exception):
    """Bad input or a missing file: the message names the value and what was expected.

    The command line prints these as one line and exits with status 2 instead of a traceback.
    """
