"""λ-IJAE: the Implicit λ-Jeffreys Autoencoder, and a harness to reproduce and benchmark it."""

import os
from pathlib import Path

__version__ = "0.1.0"
WORK_ENV = "IJAE_WORK"


def work_dir() -> Path:
    """The work folder for caches and cloned baselines: env IJAE_WORK, else ``work`` under the CWD."""
    return Path(os.environ.get(WORK_ENV) or "work")


class UserError(Exception):
    """Bad input or a missing file: the message names the value and what was expected.

    The command line prints these as one line and exits with status 2 instead of a traceback.
    """
