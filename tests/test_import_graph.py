"""The project's import graph (ijae/**, baselines/**) by import-linter's contracts in
pyproject.toml ([tool.importlinter]): the core never imports its plugins, and no package or
module imports its way back into itself. Every import statement counts, at module level or
inside a function (grimp reads them all)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT_IMPORTS, "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, env=env, timeout=300)


def test_the_contracts_are_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_the_contracts_catch_a_cycle_through_a_function_level_import_and_a_plugin_import(tmp_path):
    """The contracts themselves, on a copy of the project with two faults added: a function-level
    import that closes a cycle between two packages of ijae, and the core importing a plugin."""
    for package in ("ijae", "baselines"):
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    keys = tmp_path / "ijae" / "metrics" / "keys.py"
    keys.write_text(keys.read_text() + "\n\ndef _report():\n    from ijae.report import records\n")
    device = tmp_path / "ijae" / "device.py"
    device.write_text(device.read_text() + "\n\ndef _plugin():\n    import baselines.vae\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in result.stdout, result.stdout[-3000:]
    assert "ijae.device -> baselines.vae" in result.stdout
