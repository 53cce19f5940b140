"""The baselines of Table 1 as model plugins (see README.md here).

Nothing is registered by importing this package: each adapter is an entry point of group
``ijae.models`` in pyproject.toml, which ijae/registry.py loads the first time its name is used.
"""
