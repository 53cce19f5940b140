"""λ-IJAE: the Implicit λ-Jeffreys Autoencoder, and a harness to reproduce and benchmark it."""

__version__ = "0.1.0"


class UserError(Exception):
    """Bad input or a missing file: the message names the value and what was expected.

    The command line prints these as one line and exits with status 2 instead of a traceback.
    """
