"""Methods behind one contract: lambda-IJAE and the baselines of Table 1 (see README.md here).

Importing this package registers every adapter (baselines.base.REGISTRY).
"""
from baselines import base  # noqa: F401  (registers lambda-IJAE)
